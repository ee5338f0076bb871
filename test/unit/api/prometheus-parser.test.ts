import { describe, expect, test } from "bun:test";
import { parsePrometheusText } from "../../support/prometheus-text.ts";

describe("the strict Prometheus text parser (test support) rejects what a scraper would", () => {
  test("accepts a well-formed exposition", () => {
    const f = parsePrometheusText('# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1\\n\\"q\\"\\\\"} 3\n# TYPE s summary\ns{quantile="0.5"} NaN\ns_sum 0\ns_count 0\n');
    expect(f.get("a_total")!.samples[0]!.labels.x).toBe('1\n"q"\\');
    expect(f.get("s")!.samples).toHaveLength(3);
  });
  for (const [why, text] of [
    ["no final newline", "# TYPE a gauge\na 1"],
    ["bad escape", '# TYPE a gauge\na{x="\\t"} 1\n'],
    ["bad value", "# TYPE a gauge\na one\n"],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n"],
    ["split family", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n"],
    ["duplicate series", "# TYPE a gauge\na 1\na 2\n"],
    ["summary without quantile", "# TYPE s summary\ns 1\n"],
    ["bad metric name", "# TYPE 1a gauge\n"],
    ["unquoted label", "# TYPE a gauge\na{x=1} 1\n"],
  ] as const) {
    test(`rejects: ${why}`, () => expect(() => parsePrometheusText(text)).toThrow());
  }
});
