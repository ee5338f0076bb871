import { describe, expect, test } from "bun:test";
import { actionable, type AppliedEntry, planReconcile } from "../../src/reconcile/plan.ts";

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const applied = (id: string, digest: string, state: AppliedEntry["state"] = "installed", componentNames = ["web"]): AppliedEntry => ({ deploymentId: id, digest, state, componentNames });

describe("planReconcile", () => {
  const cases: { name: string; desired: [string, string][]; applied: AppliedEntry[]; expect: [string, string][] }[] = [
    { name: "first sync adds everything", desired: [["a", D(1)], ["b", D(2)]], applied: [], expect: [["add", "a"], ["add", "b"]] },
    { name: "same digest is kept", desired: [["a", D(1)]], applied: [applied("a", D(1))], expect: [["keep", "a"]] },
    { name: "changed digest updates", desired: [["a", D(2)]], applied: [applied("a", D(1))], expect: [["update", "a"]] },
    { name: "absent from desired removes", desired: [], applied: [applied("a", D(1))], expect: [["remove", "a"]] },
    { name: "failed with the same digest is retried", desired: [["a", D(1)]], applied: [applied("a", D(1), "failed")], expect: [["retry", "a"]] },
    { name: "interrupted install is resumed", desired: [["a", D(1)]], applied: [applied("a", D(1), "installing")], expect: [["retry", "a"]] },
    {
      name: "removes first, then updates, then adds",
      desired: [["new", D(3)], ["changed", D(2)]],
      applied: [applied("changed", D(1)), applied("gone", D(1))],
      expect: [["remove", "gone"], ["update", "changed"], ["add", "new"]],
    },
    { name: "empty manifest removes everything", desired: [], applied: [applied("a", D(1)), applied("b", D(2), "failed")], expect: [["remove", "a"], ["remove", "b"]] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const steps = planReconcile({ desired: c.desired.map(([deploymentId, digest]) => ({ deploymentId, digest })), applied: c.applied });
      expect(steps.map((s) => [s.action, s.deploymentId])).toEqual(c.expect);
      for (const s of steps) expect(s.reason.length).toBeGreaterThan(0);
    });
  }

  test("backoff turns a retry into a keep with the reason", () => {
    const steps = planReconcile({ desired: [{ deploymentId: "a", digest: D(1) }], applied: [applied("a", D(1), "failed")], notBefore: new Set(["a"]) });
    expect(steps).toHaveLength(1);
    expect(steps[0]!.action).toBe("keep");
    expect(steps[0]!.reason).toContain("backoff");
    expect(actionable(steps)).toHaveLength(0);
  });

  test("drift: a missing or exited container is repaired, a running one kept", () => {
    const steps = planReconcile({
      desired: [{ deploymentId: "a", digest: D(1) }, { deploymentId: "b", digest: D(2) }, { deploymentId: "c", digest: D(3) }],
      applied: [applied("a", D(1), "installed", ["web", "db"]), applied("b", D(2)), applied("c", D(3))],
      observed: [
        { deploymentId: "a", components: [{ name: "web", state: "running" }] },
        { deploymentId: "b", components: [{ name: "web", state: "exited", exitCode: 3 }] },
        { deploymentId: "c", components: [{ name: "web", state: "running" }] },
      ],
    });
    expect(steps.map((s) => [s.action, s.deploymentId, s.reason])).toEqual([
      ["repair", "a", "drift: db has no container"],
      ["repair", "b", "drift: web exited with code 3"],
      ["keep", "c", "unchanged"],
    ]);
  });

  test("is pure: same input, same output, inputs untouched", () => {
    const input = { desired: [{ deploymentId: "a", digest: D(2) }], applied: [applied("a", D(1))] };
    const frozen = JSON.stringify(input);
    expect(planReconcile(input)).toEqual(planReconcile(input));
    expect(JSON.stringify(input)).toBe(frozen);
  });
});
