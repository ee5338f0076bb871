import { describe, expect, test } from "bun:test";
import { LatencyHistogram } from "../../../src/simulate/latency.ts";

describe("LatencyHistogram", () => {
  test("percentiles within 4 % of the exact ones", () => {
    const h = new LatencyHistogram();
    const samples = Array.from({ length: 10_000 }, (_, i) => 0.5 + (i % 1000) * 0.37);
    for (const s of samples) h.add(s);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.04);
    }
    expect(h.count).toBe(10_000);
  });

  test("never above the largest sample; zero when empty; tiny and huge samples land in the end buckets", () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBe(0);
    h.add(3);
    expect(h.quantile(0.99)).toBe(3);
    h.add(0);
    h.add(-1);
    h.add(1e9);
    expect(h.quantile(0.25)).toBeLessThan(0.02);
    expect(h.maxMs).toBe(1e9);
  });

  test("merge adds counts", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.add(1);
    b.add(100);
    a.merge(b);
    expect(a.count).toBe(2);
    expect(a.quantile(1)).toBe(100);
  });
});
