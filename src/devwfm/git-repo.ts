/**
 * The dev WFM's `--git DIR` (issue 15 item 6): the folder it serves as desired
 * state is also a Git repository, `DIR/fleet.git` (bare), served over smart HTTP
 * at `/git/fleet.git`. Whenever a client starts a fetch, the folder as the dev
 * WFM sees it now (its current generation, `{{WFM_URL}}` replaced) is committed
 * if it changed, each deployment as `deployments/<id>.yaml`: the layout the
 * GitOps source reads (docs/protocol.md, "GitOps source"). So an agent with
 *
 *   desiredState: {source: git}
 *   git: {url: <dev WFM>/git/fleet.git, path: deployments, allowInsecureHttp: true}
 *
 * follows the same folder through Git, history and all.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import type { Logger } from "../log.ts";
import { bunPlatform } from "../platform/bun/index.ts";
import type { Platform } from "../platform/types.ts";
import type { FolderDeployment } from "./folder.ts";
import { gitHttpBackend } from "./git-http.ts";

export const DEV_GIT_REPO = "fleet.git";
export const DEV_GIT_PATH = "deployments";

export interface DevGitRepoOptions {
  /** Where the bare repository lives (created when missing). */
  dir: string;
  /** The folder now: the dev WFM's current generation. */
  current: () => { contentDigest: string; deployments: readonly FolderDeployment[] };
  log: Logger;
  platform?: Pick<Platform, "run">;
}

const ENV = (home: string) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: home,
  LANG: "C",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
});

export class DevGitRepo {
  readonly repo: string;
  private committed: string | undefined;
  private readonly platform: Pick<Platform, "run">;
  /** One commit at a time: two fetches starting together must not race on the branch. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: DevGitRepoOptions) {
    this.repo = join(o.dir, DEV_GIT_REPO);
    this.platform = o.platform ?? bunPlatform;
  }

  private async git(args: string[], stdin?: string): Promise<string> {
    const r = await this.platform.run(["git", "-C", this.repo, ...args], { env: ENV(this.o.dir), stdin, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`git ${args[0]} in ${this.repo}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** Creates the bare repository when missing. */
  async init(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true });
    if (!existsSync(join(this.repo, "HEAD"))) {
      const r = await this.platform.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", this.repo], { env: ENV(this.o.dir), timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`git init ${this.repo}: ${r.stderr.trim()}`);
    }
  }

  /** Commits the folder if it changed since the last commit; returns the tip. */
  sync(): Promise<string | undefined> {
    const next = this.chain.then(() => this.commitNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async commitNow(): Promise<string | undefined> {
    const { contentDigest, deployments } = this.o.current();
    const parent = await this.git(["rev-parse", "--verify", "--quiet", "refs/heads/main"]).catch(() => "");
    if (this.committed === undefined && parent) this.committed = (await this.git(["log", "-1", "--format=%(trailers:key=Folder-Digest,valueonly)", parent])).trim();
    if (this.committed === contentDigest && parent) return parent;
    const enc = new TextEncoder();
    const data = (text: string) => `data ${enc.encode(text).length}\n${text}\n`;
    const message = `dev WFM folder: ${deployments.length} deployment(s)\n\nFolder-Digest: ${contentDigest}\n`;
    let stream = `commit refs/heads/main\ncommitter margo-agent dev WFM <dev-wfm@localhost> now\n${data(message)}`;
    if (parent) stream += `from ${parent}\n`;
    stream += "deleteall\n";
    for (const d of deployments) stream += `M 100644 inline ${DEV_GIT_PATH}/${d.id}.yaml\n${data(new TextDecoder().decode(d.bytes))}`;
    // Git keeps no empty folder: with no deployments the folder still exists, saying "none".
    if (deployments.length === 0) stream += `M 100644 inline ${DEV_GIT_PATH}/.keep\n${data("")}`;
    await this.git(["fast-import", "--quiet", "--date-format=now"], stream);
    this.committed = contentDigest;
    const tip = await this.git(["rev-parse", "refs/heads/main"]);
    this.o.log.info({ commit: tip, deployments: deployments.length, repo: this.repo }, "dev WFM folder committed to its Git repository");
    return tip;
  }
}

/**
 * Mounts the repository at /git/fleet.git on the dev WFM (read-only smart HTTP).
 * The lead's one line in src/devwfm/server.ts, before the other routes:
 *   if (opts.gitDir) registerGitRepo(app, { dir: opts.gitDir, current: () => ctx.refresh(ctx.baseUrl ?? "http://127.0.0.1"), log });
 */
export function registerGitRepo(app: Hono, o: DevGitRepoOptions): DevGitRepo {
  const repo = new DevGitRepo(o);
  const ready = repo.init();
  app.all(`/git/${DEV_GIT_REPO}/*`, async (c) => {
    await ready;
    const path = new URL(c.req.url).pathname.slice("/git".length);
    // A fetch starts with the ref advertisement (v0, v2) or ls-refs (v2): commit the folder first.
    if (path.endsWith("/info/refs")) await repo.sync();
    if (!/^\/fleet\.git\/(info\/refs|git-upload-pack|HEAD|objects\/)/.test(path)) return c.text("not found\n", 404);
    return gitHttpBackend(c.req.raw, { projectRoot: o.dir, pathInfo: path });
  });
  return repo;
}
