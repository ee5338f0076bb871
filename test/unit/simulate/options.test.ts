import { describe, expect, test } from "bun:test";
import { readSimulateFlags } from "../../../src/simulate/options.ts";

const ok = (values: Record<string, unknown>) => {
  const r = readSimulateFlags(values);
  if ("problem" in r) throw new Error(r.problem);
  return r;
};
const problem = (values: Record<string, unknown>) => {
  const r = readSimulateFlags(values);
  return "problem" in r ? r.problem : "(accepted)";
};

describe("simulate flags", () => {
  test("defaults", () => {
    const f = ok({ devices: "200", wfm: "https://localhost:8443" });
    expect(f).toMatchObject({ devices: 200, profile: "rc3", interval: 30_000, jitter: 0.2, "apply-delay": 0, "failure-rate": 0, "report-every": 5000, json: false });
    expect(f.duration).toBeUndefined();
  });

  test("each bad flag is named", () => {
    expect(problem({ wfm: "https://x" })).toBe("--devices N is required");
    expect(problem({ devices: "10" })).toBe("--wfm URL is required");
    expect(problem({ devices: "0", wfm: "https://x" })).toContain("--devices 0");
    expect(problem({ devices: "1.5", wfm: "https://x" })).toContain("whole number");
    expect(problem({ devices: "100001", wfm: "https://x" })).toContain("--devices 100001");
    expect(problem({ devices: "1e3", wfm: "https://x" })).toContain("--devices 1e3");
    expect(problem({ devices: "5", wfm: "ftp://x" })).toContain("--wfm");
    expect(problem({ devices: "5", wfm: "https://x?a=1" })).toContain("--wfm");
    expect(problem({ devices: "5", wfm: "https://x", profile: "rc2" })).toContain("--profile");
    expect(problem({ devices: "5", wfm: "https://x", interval: "5x" })).toContain("--interval 5x");
    expect(problem({ devices: "5", wfm: "https://x", interval: "10ms" })).toContain("--interval 10ms");
    expect(problem({ devices: "5", wfm: "https://x", jitter: "0.9" })).toContain("--jitter 0.9");
    expect(problem({ devices: "5", wfm: "https://x", "failure-rate": "-1" })).toContain("--failure-rate -1");
    expect(problem({ devices: "5", wfm: "http://x" })).toContain("rc3 is mutual TLS");
    expect(problem({ devices: "5", wfm: "http://x", profile: "v1", svids: "/tmp" })).toContain("rc3 only");
    expect(problem({ devices: "5", wfm: "https://x", svids: "/a", "dev-wfm-state": "/b" })).toContain("give one");
  });

  test("v1 over plain http, durations in any unit", () => {
    expect(ok({ devices: "3", wfm: "http://127.0.0.1:8080/prefix", profile: "v1", duration: "1m30s", ramp: "0s" })).toMatchObject({ duration: 90_000, ramp: 0 });
  });
});
