/**
 * An unreachable Git server is downtime, not an error storm: with the server
 * really down (its port closed), ten minutes of one poll a second ask the
 * network only a handful of times (jittered exponential backoff), log the outage
 * once as a warning (no error lines), write nothing, and the last applied state
 * keeps running; when the server is back, the device converges on what was
 * pushed meanwhile. The source's clock is moved by the test; nothing waits.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { META } from "../../../src/store/meta-keys.ts";
import { drained } from "../../support/agent-harness.ts";
import type { FakeWfm } from "../../support/fake-wfm.ts";
import { type GitServer, GitWorkTree, startGitServer } from "../../support/git-server.ts";
import { appYaml, changes, DEVICE, makeGitAgent, startPackageWfm } from "./harness.ts";

let wfm: FakeWfm;
let git: GitServer;
const dir = `fleet/devices/${DEVICE}`;
const signal = new AbortController().signal;

beforeAll(async () => {
  wfm = startPackageWfm();
  git = await startGitServer();
});
afterAll(async () => {
  wfm.stop();
  await git.stop();
});

test("the Git server down and back: few attempts, one warning, no writes, workloads kept; convergence after", async () => {
  const work = new GitWorkTree(git.createRepo("outage.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  let clock = 1_000_000;
  const h = await makeGitAgent({ wfm, gitUrl: git.url("outage.git"), now: () => clock });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  await drained(h.agent);

  await git.down();
  const before = changes(h.agent);
  const outcomes = new Map<string, number>();
  for (let s = 0; s < 600; s++) {
    const r = await h.agent.sync.poll(signal);
    const key = `${r.outcome} ${"error" in r ? r.error.code : ""}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    clock += 1000;
  }
  expect([...outcomes.keys()]).toEqual(["unreachable GIT_UNREACHABLE"]);
  const logs = h.logs().filter((l) => l.part === "gitops");
  const attempts = logs.filter((l) => l.code === "GIT_UNREACHABLE");
  // 2 s doubling to the 5 min cap, half jittered: at most ~10 network attempts in 10 minutes, not 600.
  expect(attempts.length).toBeGreaterThan(2);
  expect(attempts.length).toBeLessThanOrEqual(12);
  expect(attempts.filter((l) => l.level === "warn").length).toBe(1);
  expect(h.logs().filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
  expect(changes(h.agent)).toBe(before);
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");

  // Pushed while the device could not see it; then the server comes back.
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v2")).write(`${dir}/db.yaml`, appYaml("db", wfm));
  const tip = work.commit("during the outage");
  work.push();
  await git.up();
  clock += 5 * 60_000;
  const back = await h.agent.sync.poll(signal);
  expect(back.outcome).toBe("applied");
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(tip);
  expect(h.agent.store.listDeployments().map((d) => `${d.id} ${d.state}`)).toEqual(["db installed", "web installed"]);
  expect(h.logs().some((l) => l.msg === "git source answers again")).toBe(true);
  await h.agent.stop();
  work.cleanup();
}, 60_000);
