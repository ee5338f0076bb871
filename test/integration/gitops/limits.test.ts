/**
 * Bounded fetches (INV-BOUND-1 for the GitOps source), each repository made for
 * real: a tip adding 10,000 files to the device's folder (refused: its
 * structure), 10,000 files in another folder (not read, nothing to do), a 1 GiB
 * blob in the folder (its deployment fails unread; the agent's memory stays
 * flat), and a pack larger than git.limits.fetchBytes (the fetch is stopped).
 * Running workloads stay as they were in every case.
 *
 * Invariants held here (docs/architecture.md): INV-BOUND-1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { META } from "../../../src/store/meta-keys.ts";
import type { FakeWfm } from "../../support/fake-wfm.ts";
import { type GitServer, GitWorkTree, sh, startGitServer } from "../../support/git-server.ts";
import { appYaml, DEVICE, makeGitAgent, startPackageWfm } from "./harness.ts";

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

function manyFiles(work: GitWorkTree, folder: string, n: number): void {
  mkdirSync(join(work.dir, folder), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(work.dir, folder, `f${i}.yaml`), `# ${i}\n`);
}

test("a tip adding 10,000 files: in the device's folder it is refused within git.limits.files; in another folder it is never read", async () => {
  const work = new GitWorkTree(git.createRepo("many.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("many.git") });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");

  manyFiles(work, "fleet/devices/edge-999", 10_000);
  work.commit("10,000 files elsewhere");
  work.push();
  const elsewhere = await h.agent.sync.poll(signal);
  expect(elsewhere.outcome === "applied" && elsewhere.steps).toEqual([]);

  manyFiles(work, dir, 10_000);
  const flood = work.commit("10,000 files here");
  work.push();
  const r = await h.agent.sync.poll(signal);
  expect(r.outcome).toBe("rejected");
  expect("error" in r && r.error.code).toBe("GIT_LIMIT_EXCEEDED");
  expect("error" in r && r.error.message).toContain("git.limits.files (1000)");
  expect(h.agent.store.listDeployments().map((d) => `${d.id} ${d.state}`)).toEqual(["web installed"]);
  expect(h.agent.store.getMeta(META.gitCommit)).not.toBe(flood);
  await h.agent.stop();

  // Each file within limits.deploymentBytes, all of them together over limits.bundleExpandedBytes.
  const tight = await makeGitAgent({ wfm, gitUrl: git.url("many.git"), dataDir: h.dataDir, sets: ["git.limits.files=20000", "limits.bundleExpandedBytes=64KiB"] });
  const total = await tight.agent.sync.poll(signal);
  expect("error" in total && total.error.message).toContain("over limits.bundleExpandedBytes");
  await tight.agent.stop();
  work.cleanup();
}, 120_000);

test("a 1 GiB blob in the device's folder fails its deployment unread, and the agent's memory stays flat", async () => {
  const work = new GitWorkTree(git.createRepo("big.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("big.git") });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");

  // Sparse: zeros compress to about a MiB, so the fetch is small and only the size check stands in the way.
  mkdirSync(join(work.dir, dir), { recursive: true });
  sh(["truncate", "-s", "1G", join(work.dir, dir, "huge.yaml")]);
  work.commit("1 GiB");
  work.push();
  const rssBefore = process.memoryUsage().rss;
  const r = await h.agent.sync.poll(signal);
  const grew = process.memoryUsage().rss - rssBefore;
  expect(r.outcome).toBe("applied");
  const huge = h.agent.store.getDeployment("huge");
  expect(huge?.state).toBe("failed");
  expect(huge?.error?.message).toContain("1073741824 bytes, over limits.deploymentBytes");
  expect(huge!.yaml.length).toBeLessThan(400);
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");
  expect(grew).toBeLessThan(64 * 1024 * 1024);
  await h.agent.stop();
  work.cleanup();
}, 120_000);

test("a pack larger than git.limits.fetchBytes is stopped while it downloads and refused for that tip", async () => {
  const work = new GitWorkTree(git.createRepo("pack.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("pack.git"), sets: ["git.limits.fetchBytes=2MiB"] });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  // Random bytes do not compress: a 16 MiB pack, somewhere else in the repository.
  mkdirSync(join(work.dir, "assets"), { recursive: true });
  writeFileSync(join(work.dir, "assets", "firmware.bin"), randomBytes(16 * 1024 * 1024));
  work.commit("firmware");
  work.push();
  const r = await h.agent.sync.poll(signal);
  expect("error" in r && r.error.code).toBe("GIT_LIMIT_EXCEEDED");
  expect("error" in r && r.error.message).toContain("git.limits.fetchBytes");
  expect((await h.agent.sync.poll(signal)).outcome).toBe("still-rejected");
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");
  await h.agent.stop();
  work.cleanup();
}, 120_000);
