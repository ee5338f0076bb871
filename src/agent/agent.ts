/**
 * The agent: wires the store, the WFM client, the runtime, the reconciler and
 * the status sender, and runs the loops (poll, drift). Everything it touches
 * comes in through AgentDeps, so tests build one with real parts of their choice.
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { Config } from "../config/schema.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import { isSafeDeploymentId } from "../protocol/deployment-id.ts";
import { Journal } from "../journal/journal.ts";
import { StatusSender } from "../journal/sender.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import type { RequestSigner } from "../protocol/request-signer.ts";
import { WfmClient } from "../protocol/wfm-client.ts";
import type { ComponentResolver } from "../reconcile/component-resolver.ts";
import { Reconciler } from "../reconcile/reconciler.ts";
import { StateStore } from "../store/state-store.ts";
import { type PollOutcome, DesiredStateSync } from "../sync/desired-state-sync.ts";
import { systemClock } from "./clock.ts";
import { communicationAllowed, windowAt } from "../schedule/windows.ts";
import { nextPollDelay } from "./poll-schedule.ts";
import { SerialQueue } from "./serial-queue.ts";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { loadWfmTls, type WfmTls } from "../config/wfm-tls.ts";
import { after, every, type Timer } from "../util/timer.ts";

/** The state database of a data directory. */
export const stateDbPath = (dataDir: string): string => join(dataDir, "state.db");

export interface AgentDeps {
  config: Config;
  platform: Platform;
  runtime: RuntimeAdapter;
  resolve: ComponentResolver;
  log: Logger;
  signer?: RequestSigner;
  userAgent: string;
  /** The clientId to use (from onboarding or the config). */
  clientId: () => string | undefined;
  random?: () => number;
  /** The state store, already opened and checked by the caller (`run` opens it first); the Agent owns it from then on. */
  store?: StateStore;
  /** The CA the WFM is verified with, loaded once at start (src/config/wfm-tls.ts); default: from config.wfm.caFile. */
  tls?: WfmTls;
}

export interface PollRecord {
  atMs: number;
  outcome: PollOutcome["outcome"];
  error?: { code: string; message: string };
  durationMs: number;
}

export class Agent {
  readonly store: StateStore;
  readonly journal: Journal;
  readonly client: WfmClient;
  readonly sender: StatusSender;
  readonly sync: DesiredStateSync;
  readonly startedAtMs = Date.now();
  lastPoll: PollRecord | undefined;
  lastSuccessfulPollMs: number | undefined;
  nextPollAtMs: number | undefined;
  readonly pollCounts: Record<string, number> = {};
  /** The last 100 reconcile durations (for quantiles) and running totals since start (for counters). */
  readonly reconcileDurationsMs: number[] = [];
  readonly reconcileTotals = { count: 0, sumMs: 0 };
  private readonly queue = new SerialQueue();
  private readonly abort = new AbortController();
  // src/util/timer.ts: setTimeout would turn a delay over 2^31-1 ms into 1 ms.
  private pollTimer: Timer | undefined;
  private driftTimer: Timer | undefined;
  private stopped = false;
  private quietReason: string | undefined;
  /** WFM time minus device time, from the last Date header (ms); undefined until an answer came. */
  clockOffsetMs: number | undefined;

  constructor(private readonly d: AgentDeps) {
    const { config, platform, log } = d;
    // Read once, not on every poll; a new CA file takes effect at the next start.
    const tls = d.tls ?? loadWfmTls(config.wfm.caFile);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    // Throws STORE_CORRUPT (damaged file, checked before use) or STORE_UNAVAILABLE, naming the file.
    this.store = d.store ?? StateStore.openFile((path) => platform.openDatabase(path), stateDbPath(config.dataDir), systemClock());
    this.journal = new Journal(this.store.db);
    this.client = new WfmClient({
      baseUrl: config.wfm.url.replace(/\/+$/, ""),
      clientId: d.clientId,
      fetch: (url, init) => platform.fetch(url, init, tls),
      signer: d.signer,
      requestTimeoutMs: config.wfm.requestTimeout,
      userAgent: d.userAgent,
      onServerDate: (date) => this.observeServerDate(date),
    });
    this.sender = new StatusSender({
      journal: this.journal,
      client: this.client,
      log: log.child({ part: "sender" }),
      policy: { baseMs: 1000, capMs: config.journal.retryMax },
      maxEntries: config.journal.maxEntries,
      random: d.random,
      mayCommunicate: () => windowAt(config.downtime.windows, config.downtime.timeZone, Date.now()) === undefined,
    });
    const reconciler = new Reconciler({
      store: this.store,
      runtime: d.runtime,
      resolve: d.resolve,
      log: log.child({ part: "reconciler" }),
      rollback: config.reconcile.rollback,
      workDir: (id) => deploymentWorkDir(config.dataDir, id),
      onReport: () => this.sender.wake(),
    });
    this.sync = new DesiredStateSync({ client: this.client, store: this.store, reconciler, log, limits: config.limits });
  }

  get runtime(): RuntimeAdapter {
    return this.d.runtime;
  }

  /**
   * Boot: restore the last applied desired state from the store without
   * waiting for the WFM, repair what drifted while we were down, resume the
   * journal, then start polling.
   */
  async start(): Promise<void> {
    const { log } = this.d;
    const applied = this.store.listDeployments();
    log.info({ deployments: applied.length, manifestVersion: this.store.lastManifestVersion()?.toString() ?? null, pendingReports: this.journal.counts().pending }, "agent starting");
    this.sender.wake();
    await this.queue.run(() => this.sync.reconcileStored("boot", this.abort.signal, true));
    // Stopped during the boot reconcile (SIGTERM at start): arm no timer that would outlive stop().
    if (this.stopped) return;
    this.schedulePoll(0);
    if (this.d.config.reconcile.driftInterval > 0) {
      this.driftTimer = every(this.d.config.reconcile.driftInterval, () => void this.checkDrift());
    }
  }

  /** Polls now (operator request); resolves with the outcome. */
  syncNow(): Promise<PollOutcome> {
    this.sender.retryNow();
    return this.queue.run(() => this.pollOnce());
  }

  /** Downtime windows and polling periods in force now (seed 000). */
  communication(): ReturnType<typeof communicationAllowed> {
    const { config } = this.d;
    return communicationAllowed({ downtime: config.downtime.windows, allowed: config.poll.periods, timeZone: config.downtime.timeZone }, Date.now());
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer?.cancel();
    this.nextPollAtMs = Date.now() + delayMs;
    // The timer runs on the monotonic clock: a wall-clock jump neither fires nor freezes polls.
    this.pollTimer = after(delayMs, () => {
      const interval = nextPollDelay(this.d.config.poll.interval, this.d.config.poll.jitter, this.d.random);
      const comms = this.communication();
      if (!comms.allowed) {
        if (this.quietReason !== comms.reason) this.d.log.info({ reason: comms.reason, window: comms.window }, "not polling: " + comms.reason);
        this.quietReason = comms.reason;
        this.schedulePoll(Math.min(interval, 60_000));
        return;
      }
      if (this.quietReason) this.d.log.info({ after: this.quietReason }, "polling resumes");
      this.quietReason = undefined;
      void this.queue.run(() => this.pollOnce()).finally(() => this.schedulePoll(interval));
    });
  }

  /** The WFM's Date header tells how far our clock is off (devices often boot without an RTC). */
  private observeServerDate(date: string): void {
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // Date has one-second resolution: keep the estimate unless it moved by more than that.
    const offset = server - Date.now();
    if (this.clockOffsetMs === undefined || Math.abs(offset - this.clockOffsetMs) > 1500) {
      this.clockOffsetMs = offset;
      if (Math.abs(offset) > 60_000) {
        this.d.log.warn({ code: "CLOCK_SKEW", skewSeconds: Math.round(offset / 1000) }, `the device clock is ${Math.round(Math.abs(offset) / 1000)} s ${offset > 0 ? "behind" : "ahead of"} the WFM's; signed requests may be refused`);
      }
    }
  }

  private async pollOnce(): Promise<PollOutcome> {
    const started = performance.now();
    const result = await this.sync.poll(this.abort.signal);
    const durationMs = performance.now() - started;
    this.pollCounts[result.outcome] = (this.pollCounts[result.outcome] ?? 0) + 1;
    const error = "error" in result ? { code: result.error.code, message: result.error.message } : undefined;
    this.lastPoll = { atMs: Date.now(), outcome: result.outcome, error, durationMs };
    if (result.outcome === "applied") this.recordReconcile(durationMs);
    if (result.outcome === "not-onboarded") {
      this.d.log.debug("not polling yet: waiting for onboarding");
    } else if (result.outcome !== "unreachable") {
      this.lastSuccessfulPollMs = Date.now();
      // The WFM answers: if reports were waiting out a backoff, try them now.
      if (this.sender.state.failures > 0) this.sender.retryNow();
      else if (this.journal.hasPending()) this.sender.wake();
      if (result.outcome === "not-modified" || result.outcome === "still-rejected") await this.retryFailed();
    } else {
      this.d.log.warn({ code: result.error.code }, `poll failed: ${result.error.message}`);
      // The WFM is away, but the device still converges on what it has: retry failures from the store.
      await this.retryFailed();
    }
    return result;
  }

  /** Failed deployments are retried on later cycles (backoff permitting), even when the WFM has nothing new. */
  private async retryFailed(): Promise<void> {
    if (!this.store.hasUnsettled()) return;
    const outcomes = await this.sync.reconcileStored("retry", this.abort.signal, false);
    if (outcomes.length) this.recordReconcile(outcomes.reduce((s, o) => s + o.durationMs, 0));
  }

  private async checkDrift(): Promise<void> {
    if (this.stopped || this.queue.busy) return;
    await this.queue.run(async () => {
      try {
        const outcomes = await this.sync.reconcileStored("drift", this.abort.signal, true);
        for (const o of outcomes) if (o.step.action === "repair") this.d.log.warn({ deploymentId: o.step.deploymentId, code: "DRIFT_RESTORED", state: o.state }, o.step.reason);
      } catch (err) {
        this.d.log.error({ code: asAgentError(err).code, err: String(err) }, "drift check failed");
      }
    });
  }

  private recordReconcile(ms: number): void {
    this.reconcileTotals.count++;
    this.reconcileTotals.sumMs += ms;
    this.reconcileDurationsMs.push(ms);
    if (this.reconcileDurationsMs.length > 100) this.reconcileDurationsMs.shift();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pollTimer?.cancel();
    this.driftTimer?.cancel();
    this.sender.stop();
    this.abort.abort(new Error("agent stopping"));
    await this.queue.idle().catch(() => {});
    this.store.close();
  }
}

/**
 * A deployment's work directory. Ids are checked where they enter (manifest and
 * YAML); this second check keeps a row stored before that check existed from
 * pointing a removal at the data directory itself (docs/protocol.md §5).
 */
export function deploymentWorkDir(dataDir: string, id: string): string {
  if (!isSafeDeploymentId(id)) throw new AgentError("DEPLOYMENT_INVALID", `deployment id ${JSON.stringify(id)} is not a safe path segment; refusing to use it as a directory`);
  return join(dataDir, "deployments", id);
}
