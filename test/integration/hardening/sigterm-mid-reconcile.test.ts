/**
 * Issue 10 item 3: a SIGTERM during a reconcile must not commit the manifest.
 * v1 = {a, b, c} is applied; v2 = {d} arrives and the agent is stopped while it
 * removes the first deployment. Nothing may be reported as failed ("agent
 * stopping" is not a failure), the manifest stays uncommitted, and the next
 * start finishes the job: a, b and c removed, d installed. INV-SYNC-1, INV-RECONCILE-1.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentLogs, depId, type Fleet, received, startAgent, startFleet, stopAgent, waitFor, withDb, yamlFor } from "../durability/harness.ts";

let fleet: Fleet | undefined;
afterAll(async () => {
  if (fleet) {
    await stopAgent(fleet);
    await fleet.wfm.stop();
  }
});

const lastState = (f: Fleet, id: string) => {
  // The agent creates state.db before it creates its tables: until then there is nothing to read.
  try {
    return lastStateOf(f, id);
  } catch {
    return undefined;
  }
};
const lastStateOf = (f: Fleet, id: string) => !existsSync(join(f.dataDir, "state.db")) ? undefined : withDb(f, (db) => (db.query("SELECT state FROM deployments WHERE id = ?").get(id) as { state: string } | null)?.state);
const committedVersion = (f: Fleet) => withDb(f, (db) => (db.query("SELECT value FROM meta WHERE key = 'manifestVersion'").get() as { value: string } | null)?.value);

test("SIGTERM while removing: nothing reported failed, the manifest is not committed, the next start finishes it", async () => {
  const f = (fleet = await startFleet(3));
  startAgent(f, 15);
  // The manifest is committed after the last deployment's state is written: wait for both.
  await waitFor("v1 installed and committed", () => [0, 1, 2].every((i) => lastState(f, depId(i)) === "installed") && committedVersion(f) !== undefined, 30_000);
  const v1 = committedVersion(f);
  expect(v1).toBeDefined();
  await stopAgent(f);

  // Slow removals now, so that the stop lands in the middle of one.
  startAgent(f, 3_000);
  for (let i = 0; i < 3; i++) rmSync(join(f.dir, `${depId(i)}.yaml`));
  writeFileSync(join(f.dir, `${depId(3)}.yaml`), yamlFor(3, "v2"));
  await waitFor("a removal under way", () => [0, 1, 2].some((i) => lastState(f, depId(i)) === "removing"), 30_000);
  await stopAgent(f);

  expect(committedVersion(f)).toBe(v1);
  const failed = [...received(f).byDeployment.values()].flat().filter((r) => r.state === "failed");
  expect(failed).toEqual([]);
  expect(withDb(f, (db) => db.query("SELECT COUNT(*) AS n FROM history WHERE state = 'failed'").get())).toEqual({ n: 0 });
  expect(agentLogs(f).some((l) => String(l.msg).includes("not committed"))).toBe(true);

  startAgent(f, 15);
  await waitFor(
    "the next start to finish the job",
    () => {
      const { byDeployment } = received(f);
      return [0, 1, 2].every((i) => byDeployment.get(depId(i))?.at(-1)?.state === "removed") && byDeployment.get(depId(3))?.at(-1)?.state === "installed";
    },
    30_000,
    () => JSON.stringify([...received(f).byDeployment].map(([id, l]) => [id, l.map((r) => r.state)])),
  );
  const engine = JSON.parse(readFileSync(join(f.dataDir, "simulated-engine.json"), "utf8")) as { deploymentId: string }[];
  expect(engine.map((c) => c.deploymentId)).toEqual([depId(3)]);
  expect(committedVersion(f)).not.toBe(v1);
  expect([...received(f).byDeployment.values()].flat().filter((r) => r.state === "failed")).toEqual([]);
}, 120_000);
