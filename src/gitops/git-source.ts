/**
 * The GitOps desired-state source (docs/protocol.md, "GitOps source"): the
 * device's ApplicationDeployments are the YAMLs of its folder at the tip of a
 * branch or tag. One poll:
 *
 * 1. `git ls-remote` names the tip: unchanged, nothing is fetched or written.
 * 2. A new tip is fetched one commit deep into a fresh repository (bounded in
 *    bytes, entries and time), its signature checked when git.verify asks, and it
 *    must descend from the last applied commit (GIT_HISTORY_REWRITTEN, a security
 *    event, otherwise; git.allowRewrite lifts it).
 * 3. Only git.path is listed and read; each file becomes a desired deployment
 *    with a digest the agent computes, parsed as a YAML from the WFM would be.
 * 4. The set goes to Reconciler.reconcile; the commit is recorded only after
 *    every step ran (INV-SYNC-1), so an agent killed mid-way takes the same
 *    commit again at its next start.
 *
 * An unreachable server is downtime: the server is asked again only after a
 * jittered exponential backoff, the last applied state keeps running, and the
 * failure is logged when it starts and when it ends, not at every poll.
 */
import { AgentError, asAgentError } from "../errors/index.ts";
import type { ErrorCode } from "../errors/codes.ts";
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";
import type { Logger } from "../log.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import type { LastPlan, Reconciler, StepOutcome } from "../reconcile/reconciler.ts";
import type { RetryBackoff } from "../reconcile/retry-backoff.ts";
import { META } from "../store/meta-keys.ts";
import type { StateStore } from "../store/state-store.ts";
import type { PollOutcome } from "../sync/desired-state-sync.ts";
import { type DesiredStateSource, reconcileFromStore } from "../sync/source.ts";
import { desiredFromFolder, fromStoreGit } from "./desired.ts";
import { FetchRepo } from "./fetch-repo.ts";
import { planFolder } from "./folder.ts";
import type { GitCli } from "./git-cli.ts";
import { pickTip, refPatterns, type RemoteTip } from "./remote-tip.ts";
import { type GitSettings, sourceFingerprint } from "./settings.ts";
import { commitVersion } from "./version.ts";

export interface GitSourceOptions {
  settings: GitSettings;
  cli: GitCli;
  store: StateStore;
  reconciler: Reconciler;
  log: Logger;
  /** Backoff while the server cannot be reached or a fetch failed for a passing reason. */
  retry?: BackoffPolicy;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  random?: () => number;
}

/** Verdicts on a commit: the same commit would fail the same way, so it is not fetched again. */
const COMMIT_VERDICTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["GIT_HISTORY_REWRITTEN", "GIT_SIGNATURE_INVALID", "GIT_PATH_NOT_FOUND", "GIT_LIMIT_EXCEEDED"]);
const SECURITY_EVENTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["GIT_HISTORY_REWRITTEN", "GIT_SIGNATURE_INVALID"]);

/** A wait in force: nothing is asked of the server before retryAtMs. */
interface Backoff {
  error: AgentError;
  outcome: "unreachable" | "retrying";
  attempts: number;
  retryAtMs: number;
}

export class GitSource implements DesiredStateSource {
  private wait: Backoff | undefined;
  /** A tip judged and refused (signature, rewrite, limits): asked about again only when the tip changes. */
  private refusal: { commit: string; error: AgentError } | undefined;
  /** A tip that changed nothing for this device, taken without writing (see settle). */
  private seen: string | undefined;
  /** The last "rejected" logged, so a ref that stays missing is logged once. */
  private lastLogged: string | undefined;
  private readonly now: () => number;
  private readonly fingerprint: string;

  constructor(private readonly o: GitSourceOptions) {
    this.now = o.now ?? (() => performance.now());
    this.fingerprint = sourceFingerprint(o.settings);
  }

  get lastPlan(): LastPlan | undefined {
    return this.o.reconciler.lastPlan;
  }

  get backoff(): RetryBackoff {
    return this.o.reconciler.backoff;
  }

  /** The last applied commit of this repository and ref, if any. */
  lastApplied(): string | undefined {
    const { store } = this.o;
    const commit = store.getMeta(META.gitCommit);
    return commit && store.getMeta(META.gitSource) === this.fingerprint ? commit : undefined;
  }

  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const w = this.wait;
    if (w && this.now() < w.retryAtMs) return w.outcome === "unreachable" ? { outcome: "unreachable", error: w.error } : { outcome: "retrying", error: w.error, retryInMs: Math.round(w.retryAtMs - this.now()) };
    const deadline = this.now() + this.o.settings.limits.timeoutMs;
    let tip: RemoteTip;
    try {
      tip = await this.remoteTip(signal, deadline);
    } catch (err) {
      if (signal.aborted) return { outcome: "interrupted" };
      const error = asAgentError(err, "GIT_FAILED");
      if (error.code === "GIT_REF_NOT_FOUND") {
        this.recovered();
        return this.rejected(error, undefined);
      }
      return this.backOff(error, error.code === "GIT_UNREACHABLE" || error.code === "GIT_AUTH_FAILED" ? "unreachable" : "retrying");
    }
    this.recovered();
    const last = this.lastApplied();
    if (tip.commit === last || tip.commit === this.seen) {
      this.refusal = undefined;
      this.lastLogged = undefined;
      return { outcome: "not-modified" };
    }
    if (this.refusal?.commit === tip.commit) return { outcome: "still-rejected", error: this.refusal.error };
    return this.take(tip, last, signal, deadline);
  }

  private async remoteTip(signal: AbortSignal, deadline: number): Promise<RemoteTip> {
    const s = this.o.settings;
    const r = await this.o.cli.remote(["ls-remote", "--quiet", s.url, ...refPatterns(s.ref)], { cwd: s.dir, timeoutMs: Math.round(Math.min(deadline - this.now(), s.limits.requestTimeoutMs)), signal, maxOutputBytes: 64 * 1024 }, `asking ${s.url} for ${s.ref}`);
    return pickTip(r.stdout, s.ref, s.url);
  }

  /** Fetch, judge and read the new tip, reconcile towards it, and record it. */
  private async take(tip: RemoteTip, last: string | undefined, signal: AbortSignal, deadline: number): Promise<PollOutcome> {
    const s = this.o.settings;
    const { log } = this.o;
    let commit = tip.commit;
    let desired: Map<string, DesiredDeployment>;
    let depth: number | undefined;
    let repo: FetchRepo | undefined;
    try {
      repo = await FetchRepo.create(this.o.cli, s, deadline, this.now);
      commit = await repo.fetchTip(tip.ref, signal);
      if (signal.aborted) return { outcome: "interrupted" };
      if (commit === last) return { outcome: "not-modified" };
      if (s.verify.mode !== "none") {
        const v = await repo.verifySignature(commit);
        if (!v.ok) throw new AgentError("GIT_SIGNATURE_INVALID", `commit ${commit} (${tip.ref}) refused: ${v.why}; nothing applied`, { commit });
      }
      if (last && !s.allowRewrite) {
        const d = await repo.descends(last, commit, tip.ref, signal);
        if (signal.aborted) return { outcome: "interrupted" };
        if (!d.found) {
          const why = d.complete ? "its history does not contain the last applied commit" : `the last applied commit is not among its ${d.depth} latest commits (git.limits.historyDepth)`;
          throw new AgentError("GIT_HISTORY_REWRITTEN", `commit ${commit} (${tip.ref}) refused: it does not descend from the last applied commit ${last}; ${why}. Possible rollback or tampering; set git.allowRewrite: true to accept rewritten history`, { commit, lastApplied: last });
        }
        depth = d.depth;
      } else if (last) {
        log.info({ commit, lastApplied: last }, "git.allowRewrite is true: the new tip is taken without checking that it descends from the last applied commit");
      }
      const { entries } = await repo.listFolder(commit, s.path);
      const plan = planFolder(entries, s.limits.fileBytes, s.path);
      for (const k of plan.skipped) log.warn({ code: "DEPLOYMENT_INVALID", file: `${s.path}/${k.name}`, commit }, `${s.path}/${k.name} is not read: ${k.reason}`);
      const toRead = plan.files.flatMap((f) => (f.read ? [{ oid: f.oid, size: f.size }] : []));
      const total = toRead.reduce((n, b) => n + b.size, 0);
      if (total > s.limits.totalBytes) {
        throw new AgentError("GIT_LIMIT_EXCEEDED", `commit ${commit}: the YAMLs of ${s.path} add up to ${total} bytes, over limits.bundleExpandedBytes (${s.limits.totalBytes}); nothing applied`, { limit: s.limits.totalBytes });
      }
      const blobs = await repo.readBlobs(toRead);
      desired = desiredFromFolder(plan.files, blobs, s.path);
    } catch (err) {
      if (signal.aborted) return { outcome: "interrupted" };
      const error = asAgentError(err, "GIT_FAILED");
      if (COMMIT_VERDICTS.has(error.code) && error.details.passing !== true) return this.rejected(error, commit);
      return this.backOff(error, error.code === "GIT_UNREACHABLE" || error.code === "GIT_AUTH_FAILED" ? "unreachable" : "retrying");
    } finally {
      repo?.remove();
    }
    const version = commitVersion(commit);
    let steps: StepOutcome[];
    try {
      steps = await this.o.reconciler.reconcile({ byId: desired, manifestVersionOf: () => version }, "new manifest", signal, false);
    } catch (err) {
      // Marking pending or planning failed (a full disk, a bug): nothing recorded, try again later.
      return this.backOff(asAgentError(err, "INTERNAL"), "retrying");
    }
    this.refusal = undefined;
    this.lastLogged = undefined;
    if (signal.aborted) {
      log.info({ commit }, "stopping mid-reconcile: the commit is not recorded; the next start takes it again");
      return { outcome: "interrupted" };
    }
    this.settle(commit, last, steps, depth);
    log.info({ commit, ref: tip.ref, path: s.path, deployments: desired.size, steps: steps.length }, steps.length ? "desired state applied from git" : "new commit: nothing to do for this device");
    return { outcome: "applied", manifestVersion: version, transport: "git", steps };
  }

  /**
   * Records the commit (INV-SYNC-1: only now). A commit that changed nothing for
   * this device (another device's folder) is kept in memory only, so a fleet
   * repository's traffic writes nothing here; it is written down once the
   * history since the recorded commit grows past a quarter of
   * git.limits.historyDepth, so the ancestry search stays short.
   */
  private settle(commit: string, last: string | undefined, steps: readonly StepOutcome[], depth: number | undefined): void {
    if (steps.length === 0 && last !== undefined && depth !== undefined && depth * 4 <= this.o.settings.limits.historyDepth) {
      this.seen = commit;
      return;
    }
    const { store } = this.o;
    store.db.transaction(() => {
      store.setMeta(META.gitCommit, commit);
      store.setMeta(META.gitSource, this.fingerprint);
      store.setMeta(META.gitAppliedAtMs, String(Date.now()));
    });
    this.seen = undefined;
  }

  /** A verdict on the tip (or a missing ref): logged once, remembered until the tip changes. */
  private rejected(error: AgentError, commit: string | undefined): PollOutcome {
    const { log } = this.o;
    if (commit !== undefined) this.refusal = { commit, error };
    const key = `${error.code} ${commit ?? ""}`;
    if (this.lastLogged !== key) {
      this.lastLogged = key;
      const fields = { code: error.code, ...error.details, url: this.o.settings.url, ref: this.o.settings.ref, ...(SECURITY_EVENTS.has(error.code) ? { securityEvent: true } : {}) };
      log.error(fields, `desired state from git refused, current workloads kept: ${error.message}`);
    }
    return { outcome: "rejected", error };
  }

  /** Downtime, not an error storm: wait a jittered, growing while before asking the server again. */
  private backOff(error: AgentError, outcome: Backoff["outcome"]): PollOutcome {
    const attempts = (this.wait?.attempts ?? 0) + 1;
    const policy = this.o.retry ?? { baseMs: 2_000, capMs: 5 * 60_000 };
    const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempts - 1, 30));
    const retryInMs = Math.round(ceiling / 2 + backoffDelay(attempts - 1, policy, this.o.random) / 2);
    const changed = this.wait?.error.code !== error.code;
    this.wait = { error, outcome, attempts, retryAtMs: this.now() + retryInMs };
    const fields = { code: error.code, attempt: attempts, retryInMs, url: this.o.settings.url };
    if (changed) this.o.log.warn(fields, `git source not available, the last applied state keeps running; asking again in ${Math.round(retryInMs / 1000)} s: ${error.message}`);
    else this.o.log.debug(fields, `git source still not available: ${error.message}`);
    return outcome === "unreachable" ? { outcome, error } : { outcome, error, retryInMs };
  }

  private recovered(): void {
    if (!this.wait) return;
    this.o.log.info({ after: this.wait.error.code, attempts: this.wait.attempts }, "git source answers again");
    this.wait = undefined;
  }

  reconcileStored(trigger: string, signal: AbortSignal, observe: boolean): Promise<StepOutcome[]> {
    const last = this.lastApplied();
    return reconcileFromStore(this.o.store, this.o.reconciler, trigger, signal, observe, last ? commitVersion(last) : 0n, fromStoreGit);
  }
}
