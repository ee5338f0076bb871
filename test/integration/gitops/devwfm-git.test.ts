/**
 * The dev WFM's `--git DIR` (src/devwfm/git-repo.ts): its folder committed on
 * every change into a bare repository served over smart HTTP, and a real agent
 * process with desiredState.source: git following that folder through Git:
 * add, update (a new commit), remove, each reported to the dev WFM in order.
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEV_GIT_PATH, registerGitRepo } from "../../../src/devwfm/git-repo.ts";
import { silentLogger } from "../../../src/log.ts";
import { depId, type Fleet, received, startAgent, startFleet, stopAgent, waitFor, yamlFor } from "../durability/harness.ts";
import { gitEnv, sh } from "../../support/git-server.ts";

let fleet: Fleet | undefined;
afterAll(async () => {
  if (fleet) {
    await stopAgent(fleet);
    await fleet.wfm.stop();
  }
});

test("dev WFM --git: the folder as a Git repository; an agent on the GitOps source follows add, update and remove", async () => {
  const f = (fleet = await startFleet(1));
  const gitDir = join(f.dir, "..", "git");
  // Before the first request, as the dev WFM's server.ts would register it.
  const repo = registerGitRepo(f.wfm.app, { dir: gitDir, current: () => f.wfm.refresh(), log: silentLogger });
  appendFileSync(f.configFile, ["", "desiredState: {source: git}", "git:", `  url: ${f.wfm.url}/git/fleet.git`, "  allowInsecureHttp: true", `  path: ${DEV_GIT_PATH}`, ""].join("\n"));
  startAgent(f, 20);
  const last = (id: string) => received(f).byDeployment.get(id)?.map((r) => r.state) ?? [];
  await waitFor("dep-000 installed through git", () => last(depId(0)).at(-1) === "installed", 30_000);

  writeFileSync(join(f.dir, `${depId(0)}.yaml`), yamlFor(0, "v2"));
  await waitFor("dep-000 updated", () => last(depId(0)).filter((s) => s === "installed").length === 2, 30_000);
  rmSync(join(f.dir, `${depId(0)}.yaml`));
  await waitFor("dep-000 removed", () => last(depId(0)).at(-1) === "removed", 30_000);
  await stopAgent(f);

  expect(last(depId(0))).toEqual(["pending", "installing", "installed", "pending", "installing", "installed", "removing", "removed"]);
  const log = sh(["git", "-C", repo.repo, "log", "--format=%s", "main"], { env: gitEnv(gitDir) }).trim().split("\n");
  expect(log).toEqual(["dev WFM folder: 0 deployment(s)", "dev WFM folder: 1 deployment(s)", "dev WFM folder: 1 deployment(s)"]);
  expect(sh(["git", "-C", repo.repo, "ls-tree", "--name-only", "main~1", `${DEV_GIT_PATH}/`], { env: gitEnv(gitDir) }).trim()).toBe(`${DEV_GIT_PATH}/${depId(0)}.yaml`);
}, 120_000);
