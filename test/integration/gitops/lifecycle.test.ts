/**
 * The GitOps source against a real Git server (git http-backend on loopback,
 * basic auth): deployments added, updated and removed by commits; an idle poll
 * and a commit that only touches other devices' folders write nothing; a file
 * that fails validation fails its deployment only, and the running version stays.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentStatusSource } from "../../../src/api/agent-source.ts";
import { META } from "../../../src/store/meta-keys.ts";
import { commitVersion } from "../../../src/gitops/version.ts";
import { drained } from "../../support/agent-harness.ts";
import type { FakeWfm } from "../../support/fake-wfm.ts";
import { type GitServer, GitWorkTree, startGitServer } from "../../support/git-server.ts";
import { appYaml, changes, DEVICE, makeGitAgent, startPackageWfm, states } from "./harness.ts";

let wfm: FakeWfm;
let git: GitServer;
let work: GitWorkTree;
let tokenFile: string;
const dir = `fleet/devices/${DEVICE}`;

beforeAll(async () => {
  wfm = startPackageWfm();
  git = await startGitServer({ auth: { user: "fleet-bot", password: "s3cret-token-123" } });
  work = new GitWorkTree(git.createRepo("fleet.git"));
  tokenFile = join(work.dir, "..", `token-${Date.now()}`);
  writeFileSync(tokenFile, "fleet-bot:s3cret-token-123\n", { mode: 0o600 });
});
afterAll(async () => {
  wfm.stop();
  await git.stop();
  work.cleanup();
});

test("add, update and remove by commits; reports carry the commit as adoptedManifestVersion; idle and other-device commits write nothing", async () => {
  work.write(`${dir}/web.yaml`, appYaml("web", wfm)).write(`${dir}/README.md`, "not a deployment\n").write("fleet/devices/edge-002/other.yaml", appYaml("other", wfm));
  const c1 = work.commit("web on edge-001");
  work.push();

  const h = await makeGitAgent({ wfm, gitUrl: git.url("fleet.git"), sets: [`git.tokenFile=${tokenFile}`] });
  const signal = new AbortController().signal;
  const first = await h.agent.sync.poll(signal);
  expect(first.outcome).toBe("applied");
  await drained(h.agent);
  expect(states(wfm, "web")).toEqual(["pending", "installing", "installed"]);
  // The fake WFM reads bodies with JSON.parse, so compare as doubles; the body itself carries the exact digits (docs/protocol.md §6).
  expect(wfm.reports.map((r) => r.body.adoptedManifestVersion)).toEqual([1, 2, 3].map(() => Number(commitVersion(c1))));
  // Only this device's folder was read: edge-002's deployment is not here.
  expect(h.agent.store.listDeployments().map((d) => d.id)).toEqual(["web"]);
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(c1);

  // Idle: one ls-remote, nothing written.
  const before = changes(h.agent);
  const requests = git.requests.length;
  for (let i = 0; i < 5; i++) expect((await h.agent.sync.poll(signal)).outcome).toBe("not-modified");
  expect(changes(h.agent)).toBe(before);
  expect(git.requests.length - requests).toBeLessThanOrEqual(10); // ls-remote: advertisement + ls-refs, per poll

  // A commit touching only another device's folder: fetched, nothing to do, nothing written.
  work.write("fleet/devices/edge-002/other.yaml", appYaml("other", wfm, "v2"));
  work.commit("edge-002 only");
  work.push();
  const reportsBefore = wfm.reports.length;
  const noop = await h.agent.sync.poll(signal);
  expect(noop.outcome).toBe("applied");
  expect(noop.outcome === "applied" && noop.steps).toEqual([]);
  expect(changes(h.agent)).toBe(before);
  expect((await h.agent.sync.poll(signal)).outcome).toBe("not-modified");
  expect(wfm.reports.length).toBe(reportsBefore);

  // Update (a new parameter value) and add in one commit.
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v2")).write(`${dir}/db.yaml`, appYaml("db", wfm));
  const c3 = work.commit("web v2, db");
  work.push();
  const applied = await h.agent.sync.poll(signal);
  expect(applied.outcome === "applied" && applied.steps.map((s) => `${s.step.action} ${s.step.deploymentId} ${s.state}`)).toEqual(["update web installed", "add db installed"]);
  await drained(h.agent);
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(c3);
  expect(states(wfm, "db")).toEqual(["pending", "installing", "installed"]);
  expect(states(wfm, "web")).toEqual(["pending", "installing", "installed", "pending", "installing", "installed"]);

  // Remove.
  work.remove(`${dir}/db.yaml`);
  const c4 = work.commit("db gone");
  work.push();
  const removed = await h.agent.sync.poll(signal);
  expect(removed.outcome === "applied" && removed.steps.map((s) => `${s.step.action} ${s.step.deploymentId}`)).toEqual(["remove db"]);
  await drained(h.agent);
  expect(states(wfm, "db").slice(-2)).toEqual(["removing", "removed"]);
  expect(h.agent.store.listDeployments().map((d) => d.id)).toEqual(["web"]);
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(c4);

  // The local API shows the commit in full, and which source it came from.
  const view = await agentStatusSource(h.agent.readModel(), { config: h.config, executablePath: process.execPath }).status();
  expect(view.desiredState).toEqual({ source: "git", git: { url: git.url("fleet.git"), ref: "main", path: "fleet/devices/{deviceId}", commit: c4, appliedAt: expect.any(String) } });
  expect(h.agent.store.getDeployment("web")?.manifestVersion).toBe(commitVersion(c3).toString());
  await h.agent.stop();
});

test("a file that fails validation fails its deployment only; the running version stays; the commit is taken", async () => {
  const local = new GitWorkTree(git.createRepo("partial.git"));
  local.write(`${dir}/good.yaml`, appYaml("good", wfm)).write(`${dir}/keep.yaml`, appYaml("keep", wfm));
  local.commit("two");
  local.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("partial.git"), sets: [`git.tokenFile=${tokenFile}`] });
  const signal = new AbortController().signal;
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  const keepDigest = h.agent.store.getDeployment("keep")!.digest;

  // keep.yaml broken, a file whose id disagrees with its name, one not UTF-8, one too large, one with an unusable name.
  local.write(`${dir}/keep.yaml`, "apiVersion: [unclosed\n");
  local.write(`${dir}/named.yaml`, appYaml("other-id", wfm));
  local.write(`${dir}/latin1.yaml`, "");
  writeFileSync(join(local.dir, dir, "latin1.yaml"), new Uint8Array([0x69, 0x64, 0x3a, 0x20, 0xe9, 0x0a]));
  local.write(`${dir}/huge.yaml`, `# ${"x".repeat(2 * 1024 * 1024)}\n`);
  local.write(`${dir}/-bad name.yaml`, appYaml("x", wfm));
  const commit = local.commit("mixed");
  local.push();
  const r = await h.agent.sync.poll(signal);
  expect(r.outcome).toBe("applied");
  const byId = new Map(h.agent.store.listDeployments().map((d) => [d.id, d]));
  expect(byId.get("good")?.state).toBe("installed");
  expect(byId.get("keep")?.state).toBe("failed");
  expect(byId.get("keep")?.error?.code).toBe("DEPLOYMENT_INVALID");
  // The last good version of keep is what still runs.
  expect(byId.get("keep")?.goodDigest).toBe(keepDigest);
  expect(byId.get("named")?.error?.code).toBe("DEPLOYMENT_ID_MISMATCH");
  expect(byId.get("latin1")?.error?.message).toContain("not UTF-8");
  expect(byId.get("huge")?.error?.message).toContain("over limits.deploymentBytes");
  expect(byId.has("-bad name")).toBe(false);
  expect(h.logs().some((l) => String(l.msg).includes("-bad name.yaml is not read"))).toBe(true);
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(commit);

  // A retry from the store reports the same reason, not a parse error of the stand-in.
  const retried = await h.agent.sync.reconcileStored("retry", signal, false);
  for (const o of retried) if (o.step.deploymentId === "huge") expect(o.error?.message).toContain("over limits.deploymentBytes");
  expect(h.agent.store.getDeployment("huge")?.error?.message).toContain("over limits.deploymentBytes");
  await h.agent.stop();
  local.cleanup();
});

test("a missing folder breaks the repository's structure: nothing applied, nothing removed", async () => {
  const local = new GitWorkTree(git.createRepo("moved.git"));
  local.write(`${dir}/web.yaml`, appYaml("web", wfm));
  local.commit("web");
  local.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("moved.git"), sets: [`git.tokenFile=${tokenFile}`] });
  const signal = new AbortController().signal;
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  local.git("mv", "fleet", "fleet-renamed");
  local.commit("tree moved");
  local.push();
  const r = await h.agent.sync.poll(signal);
  expect(r.outcome).toBe("rejected");
  expect("error" in r && r.error.code).toBe("GIT_PATH_NOT_FOUND");
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");
  // Remembered for this tip: the next poll does not fetch it again.
  const requests = git.requests.length;
  expect((await h.agent.sync.poll(signal)).outcome).toBe("still-rejected");
  expect(git.requests.slice(requests).filter((r) => r.startsWith("POST")).length).toBe(1); // ls-remote only
  // An empty folder (Git keeps none: a .keep file) removes everything on purpose.
  local.git("mv", "fleet-renamed", "fleet");
  local.remove(`${dir}/web.yaml`).write(`${dir}/.keep`, "");
  local.commit("edge-001 decommissioned");
  local.push();
  const emptied = await h.agent.sync.poll(signal);
  expect(emptied.outcome === "applied" && emptied.steps.map((s) => `${s.step.action} ${s.step.deploymentId}`)).toEqual(["remove web"]);
  await h.agent.stop();
  local.cleanup();
});
