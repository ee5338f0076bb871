import { describe, expect, test } from "bun:test";
import { maskedParameters } from "../../../src/api/views/mask.ts";
import { quantile, renderMetrics } from "../../../src/api/metrics.ts";
import { painter } from "../../../src/cli/render/color.ts";
import { renderTable } from "../../../src/cli/render/table.ts";
import { relativeTime, shortId, truncate } from "../../../src/cli/render/text.ts";
import { parsePrometheusText } from "../../support/prometheus-text.ts";

describe("parameter masking", () => {
  test("masks values whose name or pointer looks secret, keeps the rest", () => {
    const yaml = `spec:
  parameters:
    dbPassword: { value: hunter2, targets: [{ pointer: DB_PASS, components: [app] }] }
    region: { value: eu-1, targets: [{ pointer: REGION, components: [app] }] }
    plain: { value: 42, targets: [{ pointer: API_KEY, components: [app, worker] }] }
    Credentials: { value: { user: a }, targets: [] }
    tokenTtl: { value: 5, targets: [] }
`;
    const params = maskedParameters(yaml);
    expect(params.map((p) => [p.name, p.value, p.masked])).toEqual([
      ["Credentials", "***", true],
      ["dbPassword", "***", true],
      ["plain", "***", true],
      ["region", "eu-1", false],
      ["tokenTtl", "***", true],
    ]);
    expect(JSON.stringify(params)).not.toContain("hunter2");
  });
});

describe("metrics rendering", () => {
  test("quantiles are nearest-rank and NaN without samples", () => {
    expect(quantile([], 0.5)).toBeNaN();
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
  });
  test("escapes label values and parses strictly", () => {
    const text = renderMetrics({
      version: '1.0 "beta"\\x',
      commit: "abc\ndef",
      polls: { applied: 1 },
      reconcile: { count: 0, sumSeconds: 0, recentSeconds: [] },
      deploymentsByState: { installed: 2 },
      journal: { pending: 0, parked: 0, compacted: 0 },
      lastSuccessfulPollSeconds: null,
    });
    const f = parsePrometheusText(text);
    expect(f.get("margo_agent_build_info")!.samples[0]!.labels).toEqual({ version: '1.0 "beta"\\x', commit: "abc\ndef" });
    expect(f.get("margo_agent_last_successful_poll_timestamp_seconds")!.samples[0]!.value).toBe(0);
  });
});

describe("CLI text rendering", () => {
  test("relative times, truncation, short ids", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    expect(relativeTime("2025-01-01T11:59:18Z", now)).toBe("42s ago");
    expect(relativeTime("2025-01-01T09:00:00Z", now)).toBe("3h ago");
    expect(relativeTime("2024-12-27T12:00:00Z", now)).toBe("5d ago");
    expect(relativeTime("2025-01-01T12:00:20Z", now)).toBe("in 20s");
    expect(relativeTime(null, now)).toBe("never");
    expect(truncate("a\n  b", 10)).toBe("a b");
    expect(truncate("abcdefghijkl", 5)).toBe("abcd…");
    expect(shortId("0c3b6a52-8d1c-4a7f-9e2b-123456789abc")).toBe("0c3b6a52-8d…");
    expect(shortId("short")).toBe("short");
  });
  test("tables align without colour and colour only when enabled", () => {
    const rows = [["a", { text: "failed", style: "red" as const }], ["bbbb", "ok"]];
    expect(renderTable(["X", "STATE"], rows, painter(false))).toBe("X     STATE\na     failed\nbbbb  ok");
    const coloured = renderTable(["X", "STATE"], rows, painter(true));
    expect(coloured).toContain("\x1b[31mfailed\x1b[39m");
    expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe("X     STATE\na     failed\nbbbb  ok");
  });
});
