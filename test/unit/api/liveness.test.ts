import { describe, expect, test } from "bun:test";
import { type LivenessInput, liveness } from "../../../src/api/liveness.ts";
import { stepAllowanceMs } from "../../../src/api/step-allowance.ts";
import type { AppliedDeployment } from "../../../src/model/applied.ts";

const WALL = Date.parse("2025-01-01T12:00:00Z");
const MONO = 1_000_000;
const base = (over: Partial<LivenessInput>): LivenessInput => ({
  nowWallMs: WALL,
  nowMonoMs: MONO,
  pollDueAtWallMs: WALL - 1000,
  staleAfterMs: 100_000,
  pollIntervalMs: 30_000,
  lastProgressMonoMs: MONO - 1000,
  stepAllowanceMs: () => 0,
  ...over,
});

describe("liveness", () => {
  test("a poll scheduled and not long overdue: alive, whatever else", () => {
    expect(liveness(base({ lastProgressMonoMs: MONO - 10 * 3600_000 })).ok).toBe(true);
  });

  test("a poll running for an hour that journaled a report a second ago: alive (a long, healthy reconcile)", () => {
    expect(liveness(base({ pollDueAtWallMs: WALL - 3600_000 })).ok).toBe(true);
  });

  test("no progress for longer than the poll may be late, but a step under way may take that long: alive", () => {
    const v = liveness(base({ pollDueAtWallMs: WALL - 3600_000, lastProgressMonoMs: MONO - 400_000, stepAllowanceMs: () => 600_000 }));
    expect(v.ok).toBe(true);
  });

  test("overdue and no progress beyond what the steps allow: not alive, and it says why", () => {
    const v = liveness(base({ pollDueAtWallMs: WALL - 3600_000, lastProgressMonoMs: MONO - 3600_000, stepAllowanceMs: () => 600_000 }));
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toContain("has not completed a poll since 2025-01-01T11:00:00.000Z");
    expect(v.reasons[0]).toContain("no progress for 3600 s");
    expect(v.reasons[0]).toContain("allow 700 s");
  });

  test("the step allowance is only computed when it matters", () => {
    let asked = 0;
    liveness(base({ stepAllowanceMs: () => ++asked }));
    liveness(base({ pollDueAtWallMs: WALL - 3600_000 }));
    expect(asked).toBe(0);
  });
});

const yaml = (timeout: string) => `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata: {name: app, annotations: {id: dep-1}}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: a
        properties: {packageLocation: https://x.example/a.yaml, timeout: ${timeout}}
      - name: b
        properties: {packageLocation: https://x.example/b.yaml}
`;
const row = (state: AppliedDeployment["state"], text: string, components = 2): AppliedDeployment => ({
  id: "dep-1", name: "app", digest: "sha256:x", yaml: text, state, components: Array.from({ length: components }, (_, i) => ({ name: `c${i}`, state })),
  manifestVersion: "1", sinceMs: 0, attempts: 0, wanted: true,
});

describe("stepAllowanceMs", () => {
  test("nothing under way: nothing allowed beyond the poll's own lateness", () => {
    expect(stepAllowanceMs([row("installed", yaml("1m")), row("pending", yaml("1m")), row("failed", yaml("1m"))], 30_000)).toBe(0);
  });

  test("an install: per component the download, compose up and the wait by its timeout, twice for a rollback", () => {
    // a: 20m timeout; b: the default 5m; the tool's 2 min floor does not apply to either.
    const expected = 2 * (4 * 30_000 + 3 * 20 * 60_000) + 2 * (4 * 30_000 + 3 * 5 * 60_000);
    expect(stepAllowanceMs([row("installing", yaml("20m"))], 30_000)).toBe(expected);
  });

  test("a YAML that no longer parses, and a removal, still get an allowance", () => {
    expect(stepAllowanceMs([row("installing", "not: [yaml")], 30_000)).toBeGreaterThan(0);
    expect(stepAllowanceMs([row("removing", "x", 3)], 30_000)).toBe(3 * 3 * 120_000);
  });
});
