/**
 * One sync's repository: a bare repository made fresh under dataDir/gitops for
 * each new tip and deleted after, holding exactly one commit fetched shallowly
 * (as Flux and Argo do), deepened only as far as needed to find the last
 * applied commit. Every fetch is bounded in bytes (a watchdog on the objects
 * directory kills git past git.limits.fetchBytes) and in time (the sync's
 * deadline); only git.path of the commit is ever listed or read.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../errors/index.ts";
import { every } from "../util/timer.ts";
import type { GitCli } from "./git-cli.ts";
import { classifyRemoteFailure, gitMessage } from "./git-cli.ts";
import { parseCatFileBatch, parseLsTree, type TreeEntry } from "./folder.ts";
import type { GitSettings } from "./settings.ts";

/** The local name the fetched tip is kept under. */
const TIP_REF = "refs/margo/tip";

/** Bytes under a directory (files only); a missing directory is 0. */
export function directoryBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const st = statSync(p);
      total += st.isDirectory() ? directoryBytes(p) : st.size;
    } catch {
      // removed while we looked (git renames its temporary files)
    }
  }
  return total;
}

export class FetchRepo {
  private constructor(
    private readonly cli: GitCli,
    private readonly s: GitSettings,
    readonly dir: string,
    private readonly deadline: number,
    private readonly now: () => number,
  ) {}

  /** A new empty bare repository at dataDir/gitops/fetch (whatever a crashed sync left there is removed first). */
  static async create(cli: GitCli, s: GitSettings, deadline: number, now: () => number): Promise<FetchRepo> {
    const dir = join(s.dir, "fetch");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const repo = new FetchRepo(cli, s, dir, deadline, now);
    await cli.ok(["init", "--quiet", "--bare", dir], { timeoutMs: repo.left() });
    return repo;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private left(): number {
    return Math.round(this.deadline - this.now());
  }

  /**
   * Runs one fetch with the byte watchdog. A pack over git.limits.fetchBytes is a
   * verdict on the commit (the same commit stays too large): GIT_LIMIT_EXCEEDED.
   */
  private async fetch(args: string[], signal: AbortSignal, what: string): Promise<void> {
    const limit = this.s.limits.fetchBytes;
    const objects = join(this.dir, "objects");
    const stop = new AbortController();
    let over = 0;
    const watch = every(100, () => {
      const bytes = directoryBytes(objects);
      if (bytes > limit) {
        over = bytes;
        stop.abort();
      }
    });
    try {
      const r = await this.cli.run(["-C", this.dir, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head", ...args], {
        timeoutMs: this.left(),
        signal: AbortSignal.any([signal, stop.signal]),
        maxOutputBytes: 64 * 1024,
      });
      const final = directoryBytes(objects);
      if (over || final > limit) {
        throw new AgentError("GIT_LIMIT_EXCEEDED", `${what}: the fetch went past git.limits.fetchBytes (${limit} bytes); stopped at ${over || final} bytes`, { limit });
      }
      if (signal.aborted) return;
      if (r.killed) throw new AgentError("GIT_LIMIT_EXCEEDED", `${what}: not done within git.limits.timeout (${Math.round(this.s.limits.timeoutMs / 1000)} s)`, { passing: true });
      if (r.code !== 0) {
        throw new AgentError(classifyRemoteFailure(r.stderr), `${what}: ${gitMessage(r)}`);
      }
    } finally {
      watch.cancel();
    }
  }

  /** Fetches the ref's tip, one commit deep; returns the commit id it names (it may have moved since ls-remote). */
  async fetchTip(remoteRef: string, signal: AbortSignal): Promise<string> {
    await this.fetch(["--depth=1", this.s.url, `+${remoteRef}:${TIP_REF}`], signal, `fetching ${remoteRef} from ${this.s.url}`);
    const r = await this.cli.ok(["-C", this.dir, "rev-parse", "--verify", "--quiet", `${TIP_REF}^{commit}`], { timeoutMs: this.left() });
    return r.stdout.trim();
  }

  /**
   * Is `ancestor` in the history of `tip`? Deepens the shallow history from one
   * commit, doubling, until it is found, the history is complete (it is not
   * there: a rewrite), or git.limits.historyDepth commits were searched.
   */
  async descends(ancestor: string, tip: string, remoteRef: string, signal: AbortSignal): Promise<{ found: boolean; depth: number; complete: boolean }> {
    let depth = 1;
    for (;;) {
      if (await this.isAncestor(ancestor, tip)) return { found: true, depth, complete: false };
      const shallow = (await this.cli.ok(["-C", this.dir, "rev-parse", "--is-shallow-repository"], { timeoutMs: this.left() })).stdout.trim() === "true";
      if (!shallow) return { found: false, depth, complete: true };
      if (depth >= this.s.limits.historyDepth || signal.aborted) return { found: false, depth, complete: false };
      const step = Math.min(depth, this.s.limits.historyDepth - depth);
      await this.fetch([`--deepen=${step}`, this.s.url, `+${remoteRef}:refs/margo/deepen`], signal, `reading the history of ${remoteRef} from ${this.s.url}`);
      depth += step;
    }
  }

  private async isAncestor(ancestor: string, tip: string): Promise<boolean> {
    const has = await this.cli.run(["-C", this.dir, "cat-file", "-e", `${ancestor}^{commit}`], { timeoutMs: this.left() });
    if (has.code !== 0) return false;
    const r = await this.cli.run(["-C", this.dir, "merge-base", "--is-ancestor", ancestor, tip], { timeoutMs: this.left() });
    return r.code === 0;
  }

  /** True when the commit carries a good signature by a key of git.verify.keysFile; the reason otherwise. */
  async verifySignature(commit: string): Promise<{ ok: true } | { ok: false; why: string }> {
    const r = await this.cli.run(["-C", this.dir, "verify-commit", "--raw", commit], { timeoutMs: this.left(), maxOutputBytes: 64 * 1024 });
    if (r.code === 0 && !r.killed) return { ok: true };
    const text = `${r.stdout}\n${r.stderr}`;
    if (!/\[GNUPG:\]|Good "git" signature|signature|Signature/.test(text)) return { ok: false, why: "the commit is not signed" };
    return { ok: false, why: `its signature does not verify against git.verify.keysFile (${gitMessage(r)})` };
  }

  /**
   * The entries of the folder at `path` in `commit`, bounded: the listing may not
   * exceed git.limits.files entries. GIT_PATH_NOT_FOUND when there is no such folder.
   */
  async listFolder(commit: string, path: string): Promise<{ tree: string; entries: TreeEntry[] }> {
    const check = await this.cli.ok(["-C", this.dir, "cat-file", "--batch-check=%(objectname) %(objecttype)"], { timeoutMs: this.left(), stdin: `${commit}:${path}\n` });
    const [oid, type] = check.stdout.trim().split(" ");
    if (type === "missing" || !oid || !type) throw new AgentError("GIT_PATH_NOT_FOUND", `commit ${commit} has no folder ${path} (git.path); nothing applied`, { commit, path });
    if (type !== "tree") throw new AgentError("GIT_PATH_NOT_FOUND", `commit ${commit}: ${path} (git.path) is a ${type === "blob" ? "file" : type}, not a folder; nothing applied`, { commit, path });
    const limit = this.s.limits.files;
    // An entry is its mode, type, id, size and name: names of up to 255 bytes fit this bound.
    const maxOutputBytes = limit * 340 + 4096;
    const r = await this.cli.run(["-C", this.dir, "ls-tree", "-l", "-z", oid], { timeoutMs: this.left(), maxOutputBytes });
    const tooMany = () => new AgentError("GIT_LIMIT_EXCEEDED", `commit ${commit}: ${path} holds more than git.limits.files (${limit}) entries; nothing applied`, { limit });
    if (r.overflow) throw tooMany();
    if (r.code !== 0 || r.killed) throw new AgentError("GIT_FAILED", `git ls-tree ${path} failed: ${gitMessage(r)}`);
    const entries = parseLsTree(r.stdout);
    if (entries.length > limit) throw tooMany();
    return { tree: oid, entries };
  }

  /** The exact bytes of these blobs, in one git process; each was size-checked by the caller. */
  async readBlobs(blobs: readonly { oid: string; size: number }[]): Promise<Map<string, Uint8Array>> {
    if (blobs.length === 0) return new Map();
    const total = blobs.reduce((n, b) => n + b.size + 90, 0);
    const r = await this.cli.run(["-C", this.dir, "cat-file", "--batch"], { timeoutMs: this.left(), stdin: blobs.map((b) => b.oid).join("\n") + "\n", binaryStdout: true, maxOutputBytes: total });
    if (r.overflow || r.code !== 0 || r.killed) throw new AgentError("GIT_FAILED", `git cat-file failed: ${r.overflow ? "more output than the blobs' sizes" : gitMessage(r)}`);
    return parseCatFileBatch(r.stdoutBytes ?? new Uint8Array(0), blobs);
  }
}
