/**
 * The lifecycle rules (src/lifecycle/lifecycle.ts) as a table: from a stored
 * record and an event, the next record and the exact report body the journal
 * gets with it (INV-JOURNAL-1 is the store writing both; here, what both are).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attemptOf, type Change, type LifecycleEvent, type Subject, transition } from "../../../src/lifecycle/lifecycle.ts";
import type { AppliedDeployment } from "../../../src/model/applied.ts";
import type { ComponentStatus, StatusError } from "../../../src/model/states.ts";
import { openDatabase } from "../../../src/platform/bun/sqlite.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { FakeClock } from "../../support/fake-clock.ts";

/** u64 max: the report must carry it exactly, as a JSON number, not a rounded double. */
const MV = 18446744073709551615n;
const V1 = `sha256:${"1".repeat(64)}`;
const V2 = `sha256:${"2".repeat(64)}`;
const subject: Subject = { id: "d1", name: "app", digest: V2, yaml: "yaml v2", manifestVersion: MV };

function stored(over: Partial<AppliedDeployment> = {}): AppliedDeployment {
  return {
    id: "d1",
    name: "app",
    digest: V1,
    yaml: "yaml v1",
    state: "installed",
    components: [{ name: "web", state: "installed" }, { name: "db", state: "installed" }],
    manifestVersion: "3",
    goodDigest: V1,
    goodYaml: "yaml v1",
    sinceMs: 1,
    attempts: 0,
    wanted: true,
    ...over,
  };
}

const pulled: StatusError = { code: "COMPONENT_APPLY_FAILED", source: "web", message: "image not found" };
const failedWeb: ComponentStatus[] = [{ name: "web", state: "failed", error: pulled }, { name: "db", state: "pending" }];
const depError: StatusError = { code: "COMPONENT_APPLY_FAILED", source: "app", message: "component web: image not found" };

/** The report body, exactly as journaled (the u64 spliced in as digits). */
const head = `{"apiVersion":"deployment.margo.org/v1alpha1","kind":"DeploymentStatusManifest","deploymentId":"d1","adoptedManifestVersion":18446744073709551615`;

interface Row {
  rule: string;
  previous: AppliedDeployment | undefined;
  event: LifecycleEvent;
  state: Change["state"];
  /** Fields of the next record that this rule decides (the rest is the subject's). */
  next: Partial<AppliedDeployment> | null;
  report: string;
}

const rows: Row[] = [
  {
    rule: "accepted, first version: pending, every component pending, attempts 0, no last known good",
    previous: undefined,
    event: { kind: "accepted", components: ["web", "db"] },
    state: "pending",
    next: { state: "pending", components: [{ name: "web", state: "pending" }, { name: "db", state: "pending" }], attempts: 0, wanted: true, goodDigest: undefined, goodYaml: undefined, error: undefined },
    report: `${head},"status":{"state":"pending"},"components":[{"name":"web","state":"pending"},{"name":"db","state":"pending"}]}`,
  },
  {
    rule: "accepted, new version of a failing one: attempts reset, the last known good kept",
    previous: stored({ state: "failed", attempts: 4, error: depError, components: failedWeb }),
    event: { kind: "accepted", components: ["web"] },
    state: "pending",
    next: { state: "pending", components: [{ name: "web", state: "pending" }], attempts: 0, wanted: true, goodDigest: V1, goodYaml: "yaml v1", error: undefined },
    report: `${head},"status":{"state":"pending"},"components":[{"name":"web","state":"pending"}]}`,
  },
  {
    rule: "progress: the state the components add up to, attempts as the step counts them",
    previous: stored({ digest: V2, state: "pending", components: [{ name: "web", state: "pending" }, { name: "db", state: "pending" }] }),
    event: { kind: "progress", components: [{ name: "web", state: "installed" }, { name: "db", state: "installing" }], attempts: 2 },
    state: "installing",
    next: { state: "installing", attempts: 2, wanted: true, goodDigest: V1 },
    report: `${head},"status":{"state":"installing"},"components":[{"name":"web","state":"installed"},{"name":"db","state":"installing"}]}`,
  },
  {
    rule: "installed: this version becomes the last known good, attempts reset",
    previous: stored({ digest: V2, state: "installing", attempts: 3 }),
    event: { kind: "installed", components: [{ name: "web", state: "installed" }] },
    state: "installed",
    next: { state: "installed", attempts: 0, wanted: true, goodDigest: V2, goodYaml: "yaml v2", error: undefined },
    report: `${head},"status":{"state":"installed"},"components":[{"name":"web","state":"installed"}]}`,
  },
  {
    rule: "failed: the deployment-level error, attempts kept for the backoff, the last known good untouched",
    previous: stored({ digest: V2, state: "installing", attempts: 2 }),
    event: { kind: "failed", components: failedWeb, error: depError, attempts: 2 },
    state: "failed",
    next: { state: "failed", error: depError, attempts: 2, wanted: true, goodDigest: V1, goodYaml: "yaml v1" },
    report:
      `${head},"status":{"state":"failed","error":{"code":"COMPONENT_APPLY_FAILED","source":"app","message":"component web: image not found"}},` +
      `"components":[{"name":"web","state":"failed","error":{"code":"COMPONENT_APPLY_FAILED","source":"web","message":"image not found"}},{"name":"db","state":"pending"}]}`,
  },
  {
    rule: "removing: every component removing, no longer wanted, attempts kept",
    previous: stored({ attempts: 1 }),
    event: { kind: "removing" },
    state: "removing",
    next: { state: "removing", components: [{ name: "web", state: "removing" }, { name: "db", state: "removing" }], wanted: false, attempts: 1, error: undefined },
    report: `${head},"status":{"state":"removing"},"components":[{"name":"web","state":"removing"},{"name":"db","state":"removing"}]}`,
  },
  {
    rule: "removal-failed: failed and still not wanted (retried as a removal); the attempt counts",
    previous: stored({ state: "removing", wanted: false, components: [{ name: "web", state: "removing" }, { name: "db", state: "removing" }] }),
    event: {
      kind: "removal-failed",
      components: [{ name: "web", state: "removing" }, { name: "db", state: "failed", error: { code: "COMPONENT_REMOVE_FAILED", source: "db", message: "busy" } }],
      error: { code: "COMPONENT_REMOVE_FAILED", source: "app", message: "removing component db: busy" },
    },
    state: "failed",
    next: { state: "failed", wanted: false, attempts: 1, error: { code: "COMPONENT_REMOVE_FAILED", source: "app", message: "removing component db: busy" } },
    report:
      `${head},"status":{"state":"failed","error":{"code":"COMPONENT_REMOVE_FAILED","source":"app","message":"removing component db: busy"}},` +
      `"components":[{"name":"web","state":"removing"},{"name":"db","state":"failed","error":{"code":"COMPONENT_REMOVE_FAILED","source":"db","message":"busy"}}]}`,
  },
  {
    rule: "removed: the record is gone, the removed report names every component it had",
    previous: stored({ state: "removing", wanted: false }),
    event: { kind: "removed" },
    state: "removed",
    next: null,
    report: `${head},"status":{"state":"removed"},"components":[{"name":"web","state":"removed"},{"name":"db","state":"removed"}]}`,
  },
];

describe("lifecycle transition: the rules", () => {
  for (const row of rows) {
    test(row.rule, () => {
      const change = transition(row.previous, subject, row.event);
      expect(change).toBeDefined();
      expect(change!.deploymentId).toBe("d1");
      expect(change!.state).toBe(row.state);
      expect(change!.report).toBe(row.report);
      // The report parses as JSON; only the version needed splicing.
      expect(JSON.parse(change!.report!).status.state).toBe(row.state);
      if (row.next === null) {
        expect(change!.next).toBeNull();
        return;
      }
      const next = change!.next!;
      expect(next).toMatchObject({ id: "d1", name: "app", digest: V2, yaml: "yaml v2", manifestVersion: "18446744073709551615" });
      for (const [key, value] of Object.entries(row.next)) expect([key, next[key as keyof typeof next]]).toEqual([key, value]);
      expect("sinceMs" in next).toBe(false); // the store stamps the time
    });
  }

  test("a failed report carries the deployment error only with failed", () => {
    const change = transition(undefined, subject, { kind: "progress", components: [{ name: "web", state: "installing" }], attempts: 0 })!;
    expect(change.error).toBeUndefined();
    expect(JSON.parse(change.report!).status).toEqual({ state: "installing" });
  });

  test("removed without a stored record: an empty removed report", () => {
    const change = transition(undefined, subject, { kind: "removed" })!;
    expect(change.next).toBeNull();
    expect(change.report).toBe(`${head},"status":{"state":"removed"},"components":[]}`);
  });

  test("manifestVersion stays exact beyond 2^53 in the record and the report", () => {
    const mv = 9007199254740993n; // 2^53 + 1: a double would round it to ...992
    const change = transition(undefined, { ...subject, manifestVersion: mv }, { kind: "accepted", components: ["web"] })!;
    expect(change.next!.manifestVersion).toBe("9007199254740993");
    expect(change.report).toContain(`"adoptedManifestVersion":9007199254740993,`);
  });
});

describe("lifecycle transition: identical events change nothing", () => {
  test("the same progress snapshot again (a resumed step) gives no change, hence no report", () => {
    const components: ComponentStatus[] = [{ name: "web", state: "installing" }, { name: "db", state: "pending" }];
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "installing", components, attempts: 1 });
    expect(transition(previous, subject, { kind: "progress", components, attempts: 1 })).toBeUndefined();
  });

  test("accepted again for the version already pending: no change", () => {
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "pending", components: [{ name: "web", state: "pending" }] });
    expect(transition(previous, subject, { kind: "accepted", components: ["web"] })).toBeUndefined();
  });

  test("the same failure again: no change", () => {
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "failed", components: failedWeb, error: depError, attempts: 2 });
    expect(transition(previous, subject, { kind: "failed", components: failedWeb, error: depError, attempts: 2 })).toBeUndefined();
  });

  test("what makes an event different: digest, state, a component, the error message, wanted", () => {
    const components: ComponentStatus[] = [{ name: "web", state: "failed", error: pulled }];
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "failed", components, error: depError, attempts: 0 });
    const failed = (over: Partial<Extract<LifecycleEvent, { kind: "failed" }>> = {}): LifecycleEvent => ({ kind: "failed", components, error: depError, attempts: 0, ...over });
    expect(transition(previous, subject, failed())).toBeUndefined();
    expect(transition(previous, { ...subject, digest: V1 }, failed())).toBeDefined();
    expect(transition(previous, subject, failed({ error: { ...depError, message: "other" } }))).toBeDefined();
    expect(transition(previous, subject, failed({ components: [{ name: "web", state: "failed", error: { ...pulled, message: "other" } }] }))).toBeDefined();
    expect(transition(previous, subject, { kind: "progress", components: [{ name: "web", state: "installing" }], attempts: 0 })).toBeDefined();
    expect(transition(previous, subject, { kind: "removal-failed", components, error: depError })).toBeDefined(); // wanted flips
  });

  test("the same failure with a higher attempt count: the count is recorded, nothing is reported", () => {
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "failed", components: failedWeb, error: depError, attempts: 2, sinceMs: 42 });
    const change = transition(previous, subject, { kind: "failed", components: failedWeb, error: depError, attempts: 3 })!;
    expect(change.report).toBeUndefined();
    const { sinceMs: _, ...rest } = previous;
    expect(change.next).toEqual({ ...rest, attempts: 3 });
    expect(change.state).toBe("failed");
  });

  test("in the store, an attempt-only change moves the count and nothing else: no report, no history, same since", () => {
    const dir = mkdtempSync(join(tmpdir(), "lifecycle-"));
    const clock = new FakeClock();
    const store = StateStore.open(openDatabase(join(dir, "state.db")), clock);
    try {
      store.apply(transition(undefined, subject, { kind: "failed", components: failedWeb, error: depError, attempts: 0 })!);
      const before = store.getDeployment("d1")!;
      clock.advance(60_000);
      const change = transition(before, subject, { kind: "failed", components: failedWeb, error: depError, attempts: 1 })!;
      store.apply(change);
      expect(store.getDeployment("d1")).toEqual({ ...before, attempts: 1 });
      expect(store.journal.list("pending").map((e) => e.state)).toEqual(["failed"]);
      expect(store.history("d1").map((h) => h.state)).toEqual(["failed"]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("installed is always recorded: it moves the last known good", () => {
    const components: ComponentStatus[] = [{ name: "web", state: "installed" }];
    const previous = stored({ digest: V2, yaml: "yaml v2", state: "installed", components, goodDigest: V1, goodYaml: "yaml v1" });
    const change = transition(previous, subject, { kind: "installed", components })!;
    expect(change.next!.goodDigest).toBe(V2);
  });
});

describe("attemptOf", () => {
  test.each([
    ["retry", 2, 3],
    ["repair", 0, 1],
    ["retry", undefined, 1],
    ["add", 5, 0],
    ["update", 5, 0],
    ["remove", 5, 0],
    ["keep", 5, 0],
  ] as const)("%s after %p stored attempts: %p", (action, attempts, expected) => {
    expect(attemptOf(attempts === undefined ? undefined : stored({ attempts }), action)).toBe(expected);
  });
});
