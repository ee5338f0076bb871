/**
 * Issue 16 item 14, update locks (balena's model): a workload holding
 * dataDir/locks/<deploymentId>/updates.lock defers the update, removal and
 * restart of its deployment; the deployment is reported pending with the
 * reason (UPDATE_DEFERRED); `sync --force` overrides the lock, and
 * updateLocks.maxDeferral bounds the wait.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { lockFilePath } from "../../../src/reconcile/update-lock.ts";
import { cli, deploymentYaml, type Field, startAgent, startField, statesOf, stopField, waitFor, waitForState, writePackage } from "./harness.ts";

/** The digest the simulated engine's "container" of `id` runs. */
function runningDigest(f: Field, id: string): string | undefined {
  const engine = JSON.parse(readFileSync(join(f.dataDir, "simulated-engine.json"), "utf8")) as { deploymentId: string; digest: string }[];
  return engine.find((c) => c.deploymentId === id)?.digest;
}

function lock(f: Field, id: string): void {
  mkdirSync(dirname(lockFilePath(f.dataDir, id)), { recursive: true });
  writeFileSync(lockFilePath(f.dataDir, id), "");
}

const unlock = (f: Field, id: string) => rmSync(lockFilePath(f.dataDir, id), { force: true });

async function deferredReport(f: Field, id: string) {
  await waitFor(`${id} reported deferred`, () => statesOf(f, id).some((s) => s.error?.code === "UPDATE_DEFERRED"), 30_000, () => JSON.stringify(statesOf(f, id)));
  return statesOf(f, id).find((s) => s.error?.code === "UPDATE_DEFERRED")!;
}

describe("with a long maximum deferral", () => {
  let f: Field;
  beforeAll(async () => {
    f = await startField({ runtime: "simulated", extra: ["updateLocks: {maxDeferral: 1h}"] });
    writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
    for (const id of ["locked-update", "locked-removal"]) writeFileSync(join(f.wfmDir, `${id}.yaml`), deploymentYaml(id));
    startAgent(f);
    await waitForState(f, "locked-update", "installed");
    await waitForState(f, "locked-removal", "installed");
  }, 60_000);
  afterAll(() => stopField(f));

  test("an update is deferred and reported pending with the reason; sync --force applies it", async () => {
    const before = runningDigest(f, "locked-update");
    lock(f, "locked-update");
    writeFileSync(join(f.wfmDir, "locked-update.yaml"), deploymentYaml("locked-update", { value: "v2" }));
    const report = await deferredReport(f, "locked-update");
    expect(report.state).toBe("pending");
    expect(report.error!.message).toContain(lockFilePath(f.dataDir, "locked-update"));
    expect(report.error!.message).toContain("sync --force");
    // Later passes (polls, retries) defer it again without a new report, and the old version keeps running.
    const reports = statesOf(f, "locked-update").length;
    expect((await cli(f, "sync")).code).toBe(0);
    expect(statesOf(f, "locked-update")).toHaveLength(reports);
    expect(runningDigest(f, "locked-update")).toBe(before);
    const shown = JSON.parse((await cli(f, "deployments", "locked-update", "-o", "json")).stdout);
    expect(shown).toMatchObject({ state: "pending", error: { code: "UPDATE_DEFERRED" } });

    const forced = await cli(f, "sync", "--force");
    expect(forced.code).toBe(0);
    await waitFor("the forced update", () => statesOf(f, "locked-update").at(-1)?.state === "installed", 30_000);
    expect(runningDigest(f, "locked-update")).not.toBe(before);
  }, 60_000);

  test("a removal is deferred (pending, no longer wanted) and done once the lock is released", async () => {
    lock(f, "locked-removal");
    rmSync(join(f.wfmDir, "locked-removal.yaml"));
    const report = await deferredReport(f, "locked-removal");
    expect(report.state).toBe("pending");
    expect(report.error!.message).toContain("the removal waits");
    expect(runningDigest(f, "locked-removal")).toBeDefined();
    unlock(f, "locked-removal");
    await waitForState(f, "locked-removal", "removed", 30_000);
    expect(runningDigest(f, "locked-removal")).toBeUndefined();
  }, 60_000);

  test("a restart is refused while the lock is held, and done with --force", async () => {
    lock(f, "locked-update");
    const refused = await cli(f, "restart", "locked-update");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("not restarted: UPDATE_DEFERRED");
    const forced = await cli(f, "restart", "locked-update", "--force");
    expect(forced.stdout).toContain("restarted: installed");
    expect(forced.code).toBe(0);
    unlock(f, "locked-update");
  }, 60_000);
});

describe("with a short maximum deferral", () => {
  let f: Field;
  beforeAll(async () => {
    f = await startField({ runtime: "simulated", extra: ["updateLocks: {maxDeferral: 2s}"] });
    writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
    writeFileSync(join(f.wfmDir, "stuck.yaml"), deploymentYaml("stuck"));
    startAgent(f);
    await waitForState(f, "stuck", "installed");
  }, 60_000);
  afterAll(() => stopField(f));

  test("a lock held past updateLocks.maxDeferral no longer holds the update back", async () => {
    lock(f, "stuck");
    writeFileSync(join(f.wfmDir, "stuck.yaml"), deploymentYaml("stuck", { value: "v2" }));
    await deferredReport(f, "stuck");
    await waitFor("the update after the maximum deferral", () => statesOf(f, "stuck").at(-1)?.state === "installed" && statesOf(f, "stuck").length > 4, 30_000, () => JSON.stringify(statesOf(f, "stuck")));
    expect(f.agent!.stdout()).toContain("max deferral reached");
  }, 60_000);
});
