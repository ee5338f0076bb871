/**
 * The reconcile pass (src/reconcile/reconciler.ts) and its executors, on the
 * simulated engine with failures on cue, a real state file and a fake clock.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { AgentError } from "../../../src/errors/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { short, World, yamlOf } from "./world.ts";

let w: World;
beforeEach(() => {
  w = new World();
});
afterEach(() => w.close());

const v1 = yamlOf("d1", ["web", "db"], "1");
const v2 = yamlOf("d1", ["web", "db"], "2");

async function installed(yaml = v1): Promise<void> {
  const [outcome] = await w.pass(w.desired([yaml]));
  expect(outcome!.state).toBe("installed");
  w.runtime.calls.length = 0;
}

describe("add, update, remove", () => {
  test("add: components applied in order, reported pending → installing → installed, the version is the last known good", async () => {
    const outcomes = await w.pass(w.desired([v1], 18446744073709551615n));
    expect(outcomes.map((o) => [o.step.action, o.state])).toEqual([["add", "installed"]]);
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v1)}`, `apply d1/db@${short(v1)}`]);
    expect(await w.running("d1")).toEqual({ web: short(v1), db: short(v1) });
    expect(w.reports("d1")).toEqual(["pending", "installing", "installing", "installed"]);
    expect(w.lastReport("d1").components).toEqual([{ name: "web", state: "installed" }, { name: "db", state: "installed" }]);
    // The u64 version is journaled exactly (the body is spliced, not a double).
    expect(w.store.journal.list("pending").at(-1)!.body).toContain('"adoptedManifestVersion":18446744073709551615,');
    const record = w.store.getDeployment("d1")!;
    expect(record).toMatchObject({ state: "installed", digest: sha256Digest(v1), goodDigest: sha256Digest(v1), goodYaml: v1, attempts: 0, wanted: true, manifestVersion: "18446744073709551615" });
    expect(w.wakes).toBe(4); // the sender is woken for every report
    expect(w.reconciler.lastPlan?.steps.map((s) => s.action)).toEqual(["add"]);
  });

  test("pending is journaled for every new version before any is applied (INV-RECONCILE-2)", async () => {
    const c1 = yamlOf("c", ["web"], "1");
    await installed(c1);
    const a = yamlOf("a", ["web"]);
    const b = yamlOf("b", ["web"]);
    const c2 = yamlOf("c", ["web"], "2");
    let atFirstApply: { journaled: string[]; stored: Record<string, string> } | undefined;
    w.runtime.on("apply", {}, () => {
      const pending = w.store.journal.list("pending").filter((e) => e.state === "pending");
      atFirstApply = {
        journaled: pending.map((e) => `${e.deploymentId} ${JSON.parse(e.body).adoptedManifestVersion}`),
        stored: Object.fromEntries(w.store.listDeployments().map((d) => [d.id, `${d.state} ${d.digest.slice(7, 15)}`])),
      };
    }, 1);
    const outcomes = await w.pass(w.desired([a, b, c2], 2n));
    // At the first apply (the update's), every new version was already stored and its pending report journaled.
    expect(atFirstApply).toEqual({
      journaled: ["c 1", "c 2", "a 2", "b 2"],
      stored: { a: `pending ${short(a)}`, b: `pending ${short(b)}`, c: `installing ${short(c2)}` },
    });
    expect(outcomes.map((o) => `${o.step.action} ${o.step.deploymentId} ${o.state}`)).toEqual(["update c installed", "add a installed", "add b installed"]);
    // The executor's own accept of an add or update repeats that snapshot: no second pending report.
    expect(w.reports("a")).toEqual(["pending", "installing", "installed"]);
    expect(w.reports("c")).toEqual(["pending", "installing", "installed", "pending", "installing", "installed"]);
  });

  test("update: the new version applied, the last known good moves to it", async () => {
    await installed();
    const [outcome] = await w.pass(w.desired([v2], 2n));
    expect([outcome!.step.action, outcome!.state]).toEqual(["update", "installed"]);
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v2)}`, `apply d1/db@${short(v2)}`]);
    expect(await w.running("d1")).toEqual({ web: short(v2), db: short(v2) });
    expect(w.store.getDeployment("d1")).toMatchObject({ digest: sha256Digest(v2), goodDigest: sha256Digest(v2), goodYaml: v2, manifestVersion: "2" });
    expect(w.lastReport("d1").adoptedManifestVersion).toBe(2);
  });

  test("components an update dropped are removed from the runtime", async () => {
    await installed(yamlOf("d1", ["web", "db", "cache"]));
    await w.pass(w.desired([yamlOf("d1", ["web"], "2")], 2n));
    expect(w.runtime.log("remove").map((c) => c.split("@")[0])).toEqual(["remove d1/db", "remove d1/cache"]);
    expect(Object.keys(await w.running("d1"))).toEqual(["web"]);
    expect(w.lastReport("d1").components).toEqual([{ name: "web", state: "installed" }]);
  });

  test("components of the last known good are removed too when the record is already a failed later version", async () => {
    await installed(); // v1: web, db
    w.runtime.failOn("apply", { component: "cache" }, "no such image");
    const [failed] = await w.pass(w.desired([yamlOf("d1", ["web", "cache"], "2")], 2n));
    expect(failed!.error?.code).toBe("UPDATE_ROLLED_BACK");
    w.runtime.calls.length = 0;
    // v3 drops db, which only the last known good still names.
    await w.pass(w.desired([yamlOf("d1", ["web"], "3")], 3n));
    expect(w.store.getDeployment("d1")!.state).toBe("installed");
    expect(Object.keys(await w.running("d1"))).toEqual(["web"]);
    expect(w.runtime.log("remove").map((c) => c.split("@")[0])).toEqual(["remove d1/db"]);
  });

  test("a rolled-back update leaves nothing it added running: the good version as it was", async () => {
    await installed(yamlOf("d1", ["web"]));
    w.runtime.failOn("apply", { component: "extra" }, "no such image");
    const [outcome] = await w.pass(w.desired([yamlOf("d1", ["web", "cache", "extra"], "2")], 2n));
    expect(outcome!.error?.code).toBe("UPDATE_ROLLED_BACK");
    // cache of the failed version had started; extra had not (removing it is a no-op).
    expect(await w.running("d1")).toEqual({ web: short(yamlOf("d1", ["web"])) });
    expect(w.runtime.log("remove").map((c) => c.split("@")[0])).toEqual(["remove d1/cache", "remove d1/extra"]);
  });

  test("what a failed version started, and no record names any more, goes with the next successful update (rollback off)", async () => {
    w.close();
    w = new World({ rollback: false });
    await installed(yamlOf("d1", ["web"]));
    w.runtime.failOn("apply", { component: "extra" }, "no such image", { times: 1 });
    await w.pass(w.desired([yamlOf("d1", ["web", "cache", "extra"], "2")], 2n));
    expect(Object.keys(await w.running("d1"))).toEqual(["web", "cache"]);
    // The WFM gives up on v2: v3's pending snapshot replaces the record that named cache.
    await w.pass(w.desired([yamlOf("d1", ["web"], "3")], 3n));
    expect(w.store.getDeployment("d1")!.state).toBe("installed");
    expect(await w.running("d1")).toEqual({ web: short(yamlOf("d1", ["web"], "3")) });
  });

  test("a last known good that no longer parses: the engine still says what runs; without either, nothing more is dropped", async () => {
    await installed();
    w.store.db.exec("UPDATE deployments SET good_yaml = 'spec: [unclosed' WHERE id = 'd1'");
    const [outcome] = await w.pass(w.desired([yamlOf("d1", ["web"], "2")], 2n));
    expect(outcome!.state).toBe("installed");
    expect(w.runtime.log("remove").map((c) => c.split("@")[0])).toEqual(["remove d1/db"]);

    w.runtime.calls.length = 0;
    w.store.db.exec("UPDATE deployments SET good_yaml = 'spec: [unclosed' WHERE id = 'd1'");
    w.runtime.inspectError = new AgentError("ENGINE_UNREACHABLE", "no answer");
    const [next] = await w.pass(w.desired([yamlOf("d1", ["other"], "3")], 3n));
    expect(next!.state).toBe("installed");
    expect(w.runtime.log("remove")).toEqual([]); // web keeps running: nothing names it any more
  });

  test("a dropped component that cannot be removed is logged; the update still succeeds", async () => {
    await installed();
    w.runtime.failOn("remove", { component: "db" }, "device busy");
    const [outcome] = await w.pass(w.desired([yamlOf("d1", ["web"], "2")], 2n));
    expect(outcome!.state).toBe("installed");
    expect(outcome!.error).toBeUndefined();
  });

  test("remove: components in reverse order, a removing and a removed report, the record gone", async () => {
    await installed();
    const [outcome] = await w.pass(w.desired([], 2n));
    expect([outcome!.step.action, outcome!.state]).toEqual(["remove", "removed"]);
    expect(w.runtime.log()).toEqual([`remove d1/db@${short(v1)}`, `remove d1/web@${short(v1)}`]);
    expect(await w.running("d1")).toEqual({});
    expect(w.store.getDeployment("d1")).toBeUndefined();
    expect(w.reports("d1").slice(-2)).toEqual(["removing", "removed"]);
    expect(w.lastReport("d1").components).toEqual([{ name: "web", state: "removed" }, { name: "db", state: "removed" }]);
    // The removed report carries the version the deployment was applied under.
    expect(w.lastReport("d1").adoptedManifestVersion).toBe(1);
  });

  test("nothing to do writes nothing and leaves the last plan of the last manifest", async () => {
    await installed();
    const before = w.writes();
    const plan = w.reconciler.lastPlan;
    expect(await w.pass(w.desired([v1]), { trigger: "retry" })).toEqual([]);
    expect(w.writes()).toBe(before);
    expect(w.runtime.calls).toEqual([]);
    expect(w.reconciler.lastPlan).toBe(plan);
  });
});

describe("retry and repair", () => {
  test("retry: a failed deployment is tried again once its backoff passed; success resets attempts", async () => {
    w.runtime.failOn("apply", { component: "db" }, "image pull failed", { times: 1 });
    const [first] = await w.pass(w.desired([v1]));
    expect(first!.state).toBe("failed");
    expect(first!.error).toEqual({ code: "COMPONENT_APPLY_FAILED", source: "app-d1", message: "component db: image pull failed" });
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", attempts: 0, goodDigest: undefined });
    expect(w.lastReport("d1").components).toEqual([
      { name: "web", state: "installed" },
      { name: "db", state: "failed", error: { code: "COMPONENT_APPLY_FAILED", source: "db", message: "image pull failed" } },
    ]);

    w.clock.advance(POLICY_MAX_FIRST);
    w.runtime.calls.length = 0;
    const [retry] = await w.pass(w.desired([v1]), { trigger: "retry" });
    expect([retry!.step.action, retry!.step.reason, retry!.state]).toEqual(["retry", "failed earlier; trying again", "installed"]);
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v1)}`, `apply d1/db@${short(v1)}`]);
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "installed", attempts: 0, goodDigest: sha256Digest(v1) });
    expect(w.reports("d1").slice(-4)).toEqual(["failed", "installing", "installing", "installed"]);
    expect(w.backoff.describe()).toEqual([]);
  });

  test("repair: a container that vanished from the engine is applied again (observe)", async () => {
    await installed();
    w.runtime.engine.removeBehindAgentsBack("d1", "db");
    const [outcome] = await w.pass(w.desired([v1]), { observe: true, trigger: "drift" });
    expect([outcome!.step.action, outcome!.step.reason, outcome!.state]).toEqual(["repair", "drift: db has no container", "installed"]);
    expect(await w.running("d1")).toEqual({ web: short(v1), db: short(v1) });
    expect(w.reports("d1").slice(-3)).toEqual(["installing", "installing", "installed"]);
    expect(w.store.getDeployment("d1")!.attempts).toBe(0);
  });

  test("an engine that cannot be inspected: drift detection skipped, the pass goes on", async () => {
    await installed();
    w.runtime.engine.removeBehindAgentsBack("d1", "db");
    w.runtime.inspectError = new AgentError("ENGINE_UNREACHABLE", "podman does not answer");
    expect(await w.pass(w.desired([v1]), { observe: true, trigger: "drift" })).toEqual([]);
    expect(w.runtime.calls).toEqual([]);
  });

  test("an interrupted step found at the next start is resumed as a retry", async () => {
    const stop = new AbortController();
    w.runtime.on("apply", { component: "db" }, () => {
      stop.abort(new Error("agent stopping"));
      throw new AgentError("COMPONENT_APPLY_FAILED", "docker-compose was killed");
    }, 1);
    expect(await w.pass(w.desired([v1]), { signal: stop.signal })).toEqual([]);
    w.restart();
    const [outcome] = await w.pass(w.desired([v1]), { trigger: "boot" });
    expect([outcome!.step.action, outcome!.step.reason, outcome!.state]).toEqual(["retry", "interrupted while installing", "installed"]);
  });
});

/** The longest first backoff: base/2 fixed + at most base/2 of jitter. */
const POLICY_MAX_FIRST = 10_001;

describe("failures", () => {
  test("a failed update is rolled back: UPDATE_ROLLED_BACK, the last known good re-applied", async () => {
    await installed();
    w.runtime.failOn("apply", { component: "db", digest: sha256Digest(v2) }, "port 5432 already in use");
    const [outcome] = await w.pass(w.desired([v2], 2n));
    expect(outcome!.state).toBe("failed");
    const message = `update failed and was rolled back to ${sha256Digest(v1)}: component db: port 5432 already in use`;
    expect(outcome!.error).toEqual({ code: "UPDATE_ROLLED_BACK", source: "app-d1", message });
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v2)}`, `apply d1/db@${short(v2)}`, `apply d1/web@${short(v1)}`, `apply d1/db@${short(v1)}`]);
    expect(await w.running("d1")).toEqual({ web: short(v1), db: short(v1) });
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", digest: sha256Digest(v2), goodDigest: sha256Digest(v1), goodYaml: v1, wanted: true });
    const report = w.lastReport("d1");
    expect(report.status).toEqual({ state: "failed", error: { code: "UPDATE_ROLLED_BACK", source: "app-d1", message } });
    expect(report.adoptedManifestVersion).toBe(2);
  });

  test("a failed rollback: failed, with the update's failure and the rollback's", async () => {
    await installed();
    w.runtime.failOn("apply", { component: "db", digest: sha256Digest(v2) }, "port 5432 already in use");
    w.runtime.failOn("apply", { component: "web", digest: sha256Digest(v1) }, "image v1 was pruned");
    const [outcome] = await w.pass(w.desired([v2], 2n));
    expect(outcome!.state).toBe("failed");
    expect(outcome!.error).toEqual({
      code: "COMPONENT_APPLY_FAILED",
      source: "app-d1",
      message: `component db: port 5432 already in use; rollback to ${sha256Digest(v1)} failed too: image v1 was pruned`,
    });
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", digest: sha256Digest(v2), goodDigest: sha256Digest(v1) });
    expect(w.lastReport("d1").status.error!.message).toContain("failed too: image v1 was pruned");
  });

  test("rollback off: failed with the update's own error, nothing re-applied", async () => {
    w.close();
    w = new World({ rollback: false });
    await installed();
    w.runtime.failOn("apply", { component: "db", digest: sha256Digest(v2) }, "port 5432 already in use");
    const [outcome] = await w.pass(w.desired([v2], 2n));
    expect(outcome!.error).toEqual({ code: "COMPONENT_APPLY_FAILED", source: "app-d1", message: "component db: port 5432 already in use" });
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v2)}`, `apply d1/db@${short(v2)}`]);
  });

  test("a failed removal: failed, no longer wanted, retried as a removal the next pass", async () => {
    await installed();
    w.runtime.failOn("remove", { component: "web" }, "container is paused", { times: 1 });
    const [outcome] = await w.pass(w.desired([], 2n));
    expect([outcome!.step.action, outcome!.state]).toEqual(["remove", "failed"]);
    expect(outcome!.error).toEqual({ code: "COMPONENT_REMOVE_FAILED", source: "app-d1", message: "removing component web: container is paused" });
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", wanted: false });
    expect(w.reports("d1").slice(-2)).toEqual(["removing", "failed"]);
    expect(w.lastReport("d1").components).toEqual([
      { name: "web", state: "failed", error: { code: "COMPONENT_REMOVE_FAILED", source: "web", message: "container is paused" } },
      { name: "db", state: "removed" },
    ]);
    expect(Object.keys(await w.running("d1"))).toEqual(["web"]);
    expect(w.store.getDeployment("d1")?.attempts).toBe(1);

    // Not retried before its backoff: a removal failing at every poll would journal removing/failed each time.
    w.runtime.calls.length = 0;
    expect(await w.pass(w.desired([], 2n), { trigger: "retry" })).toEqual([]);
    expect(w.runtime.calls).toEqual([]);

    w.clock.advance(2 * POLICY_MAX_FIRST);
    const [again] = await w.pass(w.desired([], 2n), { trigger: "retry" });
    expect([again!.step.action, again!.state]).toEqual(["remove", "removed"]);
    expect(w.store.getDeployment("d1")).toBeUndefined();
    expect(await w.running("d1")).toEqual({});
    expect(w.reports("d1").slice(-2)).toEqual(["removing", "removed"]);
  });

  test("a profile no adapter here runs: PROFILE_UNSUPPORTED on every component, nothing applied", async () => {
    const helm = yamlOf("h1", ["chart", "sidecar"], "1", "helm.v3");
    const [outcome] = await w.pass(w.desired([helm]));
    const error = { code: "PROFILE_UNSUPPORTED", source: "app-h1", message: "deployment profile helm.v3 cannot run on this device: runtime scripted supports compose" };
    expect(outcome!.state).toBe("failed");
    expect(outcome!.error).toEqual(error);
    expect(w.runtime.calls).toEqual([]);
    expect(w.reports("h1")).toEqual(["pending", "failed"]);
    expect(w.lastReport("h1").components).toEqual([
      { name: "chart", state: "failed", error: { ...error, source: "chart" } },
      { name: "sidecar", state: "failed", error: { ...error, source: "sidecar" } },
    ]);
  });

  test("compose on a device without an engine: ENGINE_NOT_FOUND, a problem a field engineer can fix", async () => {
    w.runtime.profiles = [];
    w.runtime.info = { runtime: "scripted", reachable: false, code: "ENGINE_NOT_FOUND", detail: "no podman or docker in PATH" };
    const [outcome] = await w.pass(w.desired([v1]));
    expect(outcome!.error).toEqual({
      code: "ENGINE_NOT_FOUND",
      source: "app-d1",
      message: "deployment profile compose cannot run now: no container engine with a compose tool is installed (runtime scripted: no podman or docker in PATH)",
    });
  });

  test("an unparseable desired YAML: failed with DEPLOYMENT_INVALID, not accepted as pending, nothing applied", async () => {
    const broken = "apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\nmetadata: {name: [unclosed\n";
    const desired = w.desired([]);
    desired.byId.set("bad", { digest: sha256Digest(broken), yaml: broken, parsed: new AgentError("DEPLOYMENT_INVALID", "deployment bad: invalid YAML at line 3, column 18") });
    const [outcome] = await w.pass(desired);
    expect([outcome!.step.action, outcome!.state]).toEqual(["add", "failed"]);
    expect(outcome!.error).toEqual({ code: "DEPLOYMENT_INVALID", source: "bad", message: "deployment bad: invalid YAML at line 3, column 18" });
    expect(w.runtime.calls).toEqual([]);
    expect(w.reports("bad")).toEqual(["failed"]);
    expect(w.lastReport("bad")).toMatchObject({ status: { state: "failed", error: { code: "DEPLOYMENT_INVALID" } }, components: [] });
    expect(w.store.getDeployment("bad")).toMatchObject({ name: "bad", state: "failed", yaml: broken });
  });

  test("a package that cannot be resolved fails its component with the resolver's code", async () => {
    w.resolve.failing.set("https://wfm.test/d1/db-1.tar.gz", new AgentError("PACKAGE_DOWNLOAD_FAILED", "db package: GET https://wfm.test/d1/db-1.tar.gz: 404"));
    const [outcome] = await w.pass(w.desired([v1]));
    expect(outcome!.error).toEqual({ code: "PACKAGE_DOWNLOAD_FAILED", source: "app-d1", message: "component db: db package: GET https://wfm.test/d1/db-1.tar.gz: 404" });
    expect(w.runtime.log()).toEqual([`apply d1/web@${short(v1)}`]);
  });

  test("a step whose state cannot be written (a full disk) is a crashed step, reported as failed, nothing half-written (INV-JOURNAL-1)", async () => {
    w.runtime.failOn("apply", { component: "web" }, "image pull failed", { times: 2 });
    await w.pass(w.desired([v1, yamlOf("d2", ["web"])]));
    w.clock.advance(10 * 60_000);
    w.store.db.exec("CREATE TEMP TRIGGER full_disk BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    const outcomes = await w.pass(w.desired([v1, yamlOf("d2", ["web"])]), { trigger: "retry" });
    expect(outcomes.map((o) => [o.step.deploymentId, o.state, o.error?.code, o.error?.message])).toEqual([
      ["d1", "failed", "INTERNAL", "database or disk is full"],
      ["d2", "failed", "INTERNAL", "database or disk is full"],
    ]);
    // Nothing half-written: the records are as they were.
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", attempts: 0 });
  });
});

describe("the stop signal (INV-RECONCILE-1)", () => {
  test("mid-step: interrupted, nothing recorded for it, later steps not started; the next pass resumes", async () => {
    const stop = new AbortController();
    w.runtime.on("apply", { deploymentId: "d1", component: "db" }, () => {
      stop.abort(new Error("agent stopping"));
      throw new AgentError("COMPONENT_APPLY_FAILED", "docker-compose was killed");
    }, 1);
    const d2 = yamlOf("d2", ["web"]);
    const outcomes = await w.pass(w.desired([v1, d2]), { signal: stop.signal });
    expect(outcomes).toEqual([]);
    // The failure the abort caused is not a failure: no failed report, no backoff.
    expect(w.reports("d1")).toEqual(["pending", "installing", "installing"]);
    expect(w.store.getDeployment("d1")!.state).toBe("installing");
    expect(w.reports("d2")).toEqual(["pending"]);
    expect(w.runtime.log().some((c) => c.startsWith("apply d2/"))).toBe(false);
    expect(w.backoff.describe()).toEqual([]);

    const resumed = await w.pass(w.desired([v1, d2]), { trigger: "boot" });
    expect(resumed.map((o) => `${o.step.action} ${o.step.deploymentId} ${o.state} (${o.step.reason})`)).toEqual([
      "retry d1 installed (interrupted while installing)",
      "retry d2 installed (interrupted while pending)",
    ]);
  });

  test("during a removal: only removing is recorded; the next pass finishes the removal", async () => {
    await installed();
    const stop = new AbortController();
    w.runtime.on("remove", { component: "db" }, () => {
      stop.abort(new Error("agent stopping"));
      throw new AgentError("COMPONENT_REMOVE_FAILED", "killed");
    }, 1);
    expect(await w.pass(w.desired([], 2n), { signal: stop.signal })).toEqual([]);
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "removing", wanted: false });
    const [outcome] = await w.pass(w.desired([], 2n), { trigger: "boot" });
    expect([outcome!.step.action, outcome!.state]).toEqual(["remove", "removed"]);
  });

  test("during a rollback: the update's failure is not recorded either", async () => {
    await installed();
    const stop = new AbortController();
    w.runtime.failOn("apply", { component: "db", digest: sha256Digest(v2) }, "port in use");
    w.runtime.on("apply", { digest: sha256Digest(v1) }, () => {
      stop.abort(new Error("agent stopping"));
      throw new AgentError("COMPONENT_APPLY_FAILED", "killed");
    }, 1);
    expect(await w.pass(w.desired([v2], 2n), { signal: stop.signal })).toEqual([]);
    expect(w.reports("d1").includes("failed")).toBe(false);
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "installing", digest: sha256Digest(v2) });
  });

  test("aborted before the pass: every new version is pending, nothing is applied", async () => {
    const stop = new AbortController();
    stop.abort();
    expect(await w.pass(w.desired([v1]), { signal: stop.signal })).toEqual([]);
    expect(w.reports("d1")).toEqual(["pending"]);
    expect(w.runtime.calls).toEqual([]);
  });
});

describe("retry backoff", () => {
  test("a failed deployment is not retried before its time", async () => {
    w.runtime.failOn("apply", { component: "db" }, "image pull failed", { times: 1 });
    await w.pass(w.desired([v1]));
    const [entry] = w.backoff.describe();
    // First failure: base/2 fixed plus up to base/2 of jitter.
    expect(entry!.failures).toBe(1);
    expect(entry!.retryInMs).toBeGreaterThanOrEqual(5_000);
    expect(entry!.retryInMs).toBeLessThanOrEqual(10_000);

    w.runtime.calls.length = 0;
    w.clock.advance(4_999);
    expect(await w.pass(w.desired([v1]), { trigger: "retry" })).toEqual([]);
    expect(w.runtime.calls).toEqual([]);
    const plan = w.reconciler.lastPlan!;
    expect(plan.steps.find((s) => s.deploymentId === "d1")).toMatchObject({ action: "add" }); // still the first pass's plan: nothing to do since

    w.clock.advance(entry!.retryInMs - 4_999 + 1);
    const [retry] = await w.pass(w.desired([v1]), { trigger: "retry" });
    expect([retry!.step.action, retry!.state]).toEqual(["retry", "installed"]);
  });

  test("a drifted deployment under backoff is kept, not repaired", async () => {
    await installed();
    w.backoff.record("d1", true, 0);
    w.runtime.engine.removeBehindAgentsBack("d1", "db");
    expect(await w.pass(w.desired([v1]), { observe: true, trigger: "drift" })).toEqual([]);
    expect(w.runtime.calls).toEqual([]);
  });

  test("the count comes from the stored attempts: a new backoff (a restart) continues from them", async () => {
    w.runtime.failOn("apply", { component: "db" }, "image pull failed");
    await w.pass(w.desired([v1]));
    for (let i = 0; i < 2; i++) {
      w.clock.advance(10 * 60_000 + 1);
      const [o] = await w.pass(w.desired([v1]), { trigger: "retry" });
      expect(o!.step.action).toBe("retry");
    }
    expect(w.store.getDeployment("d1")!.attempts).toBe(2);
    expect(w.backoff.describe().map((e) => e.failures)).toEqual([3]);

    w.restart(); // the in-memory timing is gone; the count is not
    const [o] = await w.pass(w.desired([v1]), { trigger: "boot" });
    expect(o!.step.action).toBe("retry");
    expect(w.store.getDeployment("d1")!.attempts).toBe(3);
    const [entry] = w.backoff.describe();
    expect(entry!.failures).toBe(4);
    // Fourth failure: base·2³/2 = 40 s fixed plus up to as much jitter.
    expect(entry!.retryInMs).toBeGreaterThanOrEqual(40_000);
    expect(entry!.retryInMs).toBeLessThanOrEqual(80_000);
  });

  test("a retry that fails exactly as before still counts: the backoff grows, the WFM is not told the same failure twice", async () => {
    // No engine: every retry fails with the same snapshot (no component ever gets to installing).
    w.runtime.profiles = [];
    w.runtime.info = { runtime: "scripted", reachable: false, code: "ENGINE_UNREACHABLE" };
    await w.pass(w.desired([v1]));
    const wakes = w.wakes;
    for (const [attempts, ceiling] of [[1, 20_000], [2, 40_000], [3, 80_000]] as const) {
      w.clock.advance(ceiling / 2 + 1);
      const [o] = await w.pass(w.desired([v1]), { trigger: "retry" });
      expect([o!.step.action, o!.state, o!.error?.code]).toEqual(["retry", "failed", "ENGINE_UNREACHABLE"]);
      expect(w.store.getDeployment("d1")!.attempts).toBe(attempts);
      const [entry] = w.backoff.describe();
      expect(entry!.failures).toBe(attempts + 1);
      expect(entry!.retryInMs).toBeGreaterThanOrEqual(ceiling / 2);
    }
    expect(w.reports("d1")).toEqual(["pending", "failed"]);
    expect(w.wakes).toBe(wakes); // nothing new journaled, nothing to send
  });

  test("success clears the backoff and the stored attempts", async () => {
    w.runtime.failOn("apply", { component: "db" }, "image pull failed", { times: 2 });
    await w.pass(w.desired([v1]));
    w.clock.advance(10 * 60_000);
    await w.pass(w.desired([v1]), { trigger: "retry" });
    expect(w.store.getDeployment("d1")!.attempts).toBe(1);
    w.clock.advance(10 * 60_000);
    await w.pass(w.desired([v1]), { trigger: "retry" });
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "installed", attempts: 0 });
    expect(w.backoff.describe()).toEqual([]);
  });

  test("a new version resets the count", async () => {
    w.runtime.failOn("apply", { component: "db" }, "image pull failed");
    await w.pass(w.desired([v1]));
    w.clock.advance(10 * 60_000);
    await w.pass(w.desired([v1]), { trigger: "retry" });
    expect(w.store.getDeployment("d1")!.attempts).toBe(1);
    await w.pass(w.desired([v2], 2n));
    expect(w.store.getDeployment("d1")!.attempts).toBe(0);
    expect(w.backoff.describe().map((e) => e.failures)).toEqual([1]);
  });
});
