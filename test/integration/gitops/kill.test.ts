/**
 * SIGKILL during a git sync: the agent runs as a real process (`bun src/cli.ts
 * run`) with desiredState.source: git against a Git server on loopback, and is
 * killed while it reconciles a commit. The commit is not recorded (INV-SYNC-1);
 * the next start takes the same commit, finishes it once, records it, and every
 * deployment's reports reach the WFM in order (INV-JOURNAL-2).
 *
 * Invariants held here (docs/architecture.md): INV-SYNC-1, INV-JOURNAL-2.
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { META } from "../../../src/store/meta-keys.ts";
import { agentLogs, depId, type Fleet, killAgent, received, startAgent, startFleet, stopAgent, waitFor, withDb, yamlFor } from "../durability/harness.ts";
import { type GitServer, GitWorkTree, startGitServer } from "../../support/git-server.ts";

const N = 6;
let fleet: Fleet | undefined;
let git: GitServer | undefined;
afterAll(async () => {
  if (fleet) {
    await stopAgent(fleet);
    await fleet.wfm.stop();
  }
  await git?.stop();
});

const hasDb = (f: Fleet) => existsSync(join(f.dataDir, "state.db"));
const meta = (f: Fleet, key: string) => withDb(f, (db) => (db.query("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | null)?.value);
// The agent creates state.db before it creates its tables: until then there is nothing to read.
const states = (f: Fleet) => {
  if (!hasDb(f)) return [];
  try {
    return withDb(f, (db) => db.query("SELECT id, state FROM deployments ORDER BY id").all() as { id: string; state: string }[]);
  } catch {
    return [];
  }
};

test("kill -9 mid-reconcile of a commit: the next start applies the same commit once, and reports arrive in order", async () => {
  const f = (fleet = await startFleet(0));
  git = await startGitServer();
  const work = new GitWorkTree(git.createRepo("fleet.git"));
  for (let i = 0; i < N; i++) work.write(`devices/edge-kill/${depId(i)}.yaml`, yamlFor(i, "v1").replace("{{WFM_URL}}", f.wfm.url));
  const commit = work.commit("six deployments");
  work.push();
  appendFileSync(f.configFile, ["", "device: {id: edge-kill}", "desiredState: {source: git}", "git:", `  url: ${git.url("fleet.git")}`, "  allowInsecureHttp: true", "  path: devices/{deviceId}", ""].join("\n"));

  // 400 ms per component: the kill lands after the first deployment is installed, before the last.
  startAgent(f, 400);
  await waitFor("a first deployment installed", () => states(f).some((d) => d.state === "installed"), 30_000, () => JSON.stringify(agentLogs(f).slice(-5)));
  await killAgent(f);
  const atKill = states(f);
  expect(atKill.filter((d) => d.state === "installed").length).toBeLessThan(N);
  expect(meta(f, META.gitCommit)).toBeUndefined();

  startAgent(f, 20);
  await waitFor(
    "the commit recorded and every report delivered",
    () => meta(f, META.gitCommit) === commit && states(f).length === N && states(f).every((d) => d.state === "installed") && withDb(f, (db) => (db.query("SELECT COUNT(*) AS n FROM journal").get() as { n: number }).n === 0),
    60_000,
    () => JSON.stringify({ states: states(f), logs: agentLogs(f).slice(-5) }),
  );
  await stopAgent(f);

  const { byDeployment } = received(f);
  for (let i = 0; i < N; i++) expect(byDeployment.get(depId(i))?.map((r) => r.state)).toEqual(["pending", "installing", "installed"]);
  // Taken from git exactly once across both runs: the first run never got to record it; the second
  // finished the accepted deployments from the store at boot, then took the commit with nothing left to do.
  const taken = agentLogs(f).filter((l) => l.commit === commit && (l.msg === "desired state applied from git" || l.msg === "new commit: nothing to do for this device"));
  expect(taken.length).toBe(1);
  expect(agentLogs(f).filter((l) => l.level === "error" || l.level === 50)).toEqual([]);
  work.cleanup();
}, 120_000);
