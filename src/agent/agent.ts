/**
 * The agent: runs every loop of a started device (poll, delivery, drift) and
 * the background tasks of its profile (onboarding, capabilities, SVID and
 * trust refresh), and stops them all in one place. Everything it touches comes
 * in through AgentDeps, built once by the bootstrap (src/bootstrap/), so tests
 * build one with real parts of their choice. What it has been doing is
 * published as a read model (read-model.ts), never as mutable fields.
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { WfmSession } from "./session.ts";
import type { Config } from "../config/schema.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import { StatusSender } from "../journal/sender.ts";
import type { Logger } from "../log.ts";
import { isSafeDeploymentId } from "../protocol/deployment-id.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import type { ComponentResolver } from "../reconcile/component-resolver.ts";
import { Reconciler, type StepOutcome } from "../reconcile/reconciler.ts";
import { UpdateLocks } from "../reconcile/update-lock.ts";
import { communicationAllowed, windowAt } from "../schedule/windows.ts";
import type { StateStore } from "../store/state-store.ts";
import { DesiredStateSync, type PollOutcome } from "../sync/desired-state-sync.ts";
import type { DesiredStateSource, SourceFactory } from "../sync/source.ts";
import { after, every, type Timer } from "../util/timer.ts";
import { collectDevice } from "../capabilities/collect.ts";
import type { ConstraintDevice } from "../deployment/constraints.ts";
import { Activity } from "./activity.ts";
import { DriftWatch } from "./drift-watch.ts";
import type { ClockOffset } from "./clock-offset.ts";
import type { PullProgress } from "./pull-progress.ts";
import { nextPollDelay } from "./poll-schedule.ts";
import type { AgentReadModel, AgentSnapshot } from "./read-model.ts";
import { SerialQueue } from "./serial-queue.ts";
import type { BackgroundTask } from "./tasks.ts";
import { join } from "node:path";

export interface AgentDeps {
  config: Config;
  runtime: RuntimeAdapter;
  resolve: ComponentResolver;
  log: Logger;
  /** The state store, opened, checked and locked by the bootstrap; the Agent closes it when it stops. */
  store: StateStore;
  /** The one WFM client (src/bootstrap/bootstrap.ts builds it from the session). */
  client: WfmClient;
  /** Fed by the client's Date headers. */
  clockOffset: ClockOffset;
  /** The profile's identity: which client this is, and its background tasks. */
  session?: Pick<WfmSession, "clientId" | "describe" | "tasks" | "statusFormat" | "deviceId" | "close">;
  /** Package pulls under way, written by the resolver. */
  pulls?: PullProgress;
  random?: () => number;
  /** The desired-state source when it is not the WFM's REST API (desiredState.source: git). */
  source?: SourceFactory;
}

/** How long stop() waits for the background tasks to notice the stop signal. */
const TASK_STOP_WAIT_MS = 5_000;

export class Agent {
  readonly store: StateStore;
  readonly client: WfmClient;
  readonly sender: StatusSender;
  readonly sync: DesiredStateSource;
  private readonly reconciler: Reconciler;
  private readonly locks: UpdateLocks;
  private readonly startedAtMs = Date.now();
  private readonly activity = new Activity();
  private readonly queue = new SerialQueue();
  private readonly abort = new AbortController();
  // src/util/timer.ts: setTimeout would turn a delay over 2^31-1 ms into 1 ms.
  private pollTimer: Timer | undefined;
  private driftTimer: Timer | undefined;
  private driftWatch: DriftWatch | undefined;
  private readonly tasks: Promise<void>[] = [];
  private stopped = false;
  private quietReason: string | undefined;

  constructor(private readonly d: AgentDeps) {
    const { config, log } = d;
    this.store = d.store;
    this.client = d.client;
    this.sender = new StatusSender({
      journal: this.store.journal,
      client: this.client,
      log: log.child({ part: "sender" }),
      policy: { baseMs: 1000, capMs: config.journal.retryMax },
      maxEntries: config.journal.maxEntries,
      random: d.random,
      mayCommunicate: () => windowAt(config.downtime.windows, config.downtime.timeZone, Date.now()) === undefined,
    });
    this.locks = new UpdateLocks({ dataDir: config.dataDir, maxDeferralMs: config.updateLocks.maxDeferral });
    const reconciler = (this.reconciler = new Reconciler({
      store: this.store,
      runtime: d.runtime,
      resolve: d.resolve,
      log: log.child({ part: "reconciler" }),
      rollback: config.reconcile.rollback,
      workDir: (id) => deploymentWorkDir(config.dataDir, id),
      onReport: () => this.sender.wake(),
      statusFormat: d.session?.statusFormat,
      placement: () => this.devicePlacement(),
      locks: this.locks,
    }));
    this.sync = d.source ? d.source({ store: this.store, reconciler, log }) : new DesiredStateSync({ client: this.client, store: this.store, reconciler, log, limits: config.limits });
  }

  /** What this device is, for deployments naming a device or constraints: collected once, kept for ten minutes. */
  private placementCache: { atMs: number; value: Promise<ConstraintDevice> } | undefined;
  private devicePlacement(): Promise<ConstraintDevice> {
    const now = performance.now();
    if (!this.placementCache || now - this.placementCache.atMs > 10 * 60_000) {
      const value = collectDevice(this.d.config, this.d.runtime).then((description) => ({ deviceId: this.d.session?.deviceId ?? this.d.config.device.id ?? "", description }));
      // A failed collection is not kept: the next deployment asks again.
      value.catch(() => (this.placementCache = undefined));
      this.placementCache = { atMs: now, value };
    }
    return this.placementCache.value;
  }

  get runtime(): RuntimeAdapter {
    return this.d.runtime;
  }

  get journal() {
    return this.store.journal;
  }

  /**
   * Boot: start the profile's background tasks, restore the last applied
   * desired state from the store without waiting for the WFM, repair what
   * drifted while we were down, resume the journal, then start polling.
   */
  async start(): Promise<void> {
    const { log } = this.d;
    const applied = this.store.listDeployments();
    log.info({ deployments: applied.length, manifestVersion: this.store.lastManifestVersion()?.toString() ?? null, pendingReports: this.journal.counts().pending }, "agent starting");
    for (const task of this.d.session?.tasks ?? []) this.startTask(task);
    this.sender.wake();
    await this.queue.run(() => this.sync.reconcileStored("boot", this.abort.signal, true));
    // Stopped during the boot reconcile (SIGTERM at start): arm no timer that would outlive stop().
    if (this.stopped) return;
    this.schedulePoll(0);
    if (this.d.config.reconcile.driftInterval > 0) {
      // While the engine's event stream is up, drift is seen from events; the periodic inspection rests.
      this.driftTimer = every(this.d.config.reconcile.driftInterval, () => {
        if (!this.driftWatch?.up) void this.checkDrift();
      });
      const runtime = this.d.runtime;
      if (runtime.watch) {
        this.driftWatch = new DriftWatch({
          watch: (handlers, signal) => runtime.watch!(handlers, signal),
          checkDrift: () => this.checkDrift(),
          // Another agent's containers, or a deployment already forgotten, cost no inspection.
          relevant: (e) => e.deploymentId === undefined || this.store.getDeployment(e.deploymentId) !== undefined,
          log: this.d.log.child({ part: "drift-watch" }),
        });
        this.driftWatch.start();
      }
    }
  }

  private startTask(task: BackgroundTask): void {
    const log = this.d.log.child({ task: task.name });
    const ctx = {
      signal: this.abort.signal,
      client: this.client,
      store: this.store,
      runtime: this.d.runtime,
      log,
      syncNow: () => void this.syncNow().catch(() => {}),
    };
    this.tasks.push(
      task.run(ctx).catch((err) => log.error({ code: asAgentError(err).code, err: String(err) }, `background task ${task.name} ended with an error`)),
    );
  }

  /** Polls now (operator request); resolves with the outcome. `force` overrides workloads' update locks for this pass. */
  syncNow(opts: { force?: boolean } = {}): Promise<PollOutcome> {
    this.sender.retryNow();
    return this.queue.run(() => (opts.force ? this.locks.overriding(() => this.pollOnce()) : this.pollOnce()));
  }

  /** Restarts a deployment's components (or one), an operator's local action; queued behind the reconcile under way. */
  restart(deploymentId: string, component: string | undefined, opts: { force?: boolean } = {}): Promise<StepOutcome> {
    const run = () => this.reconciler.restart(deploymentId, component, this.abort.signal);
    return this.queue.run(() => (opts.force ? this.locks.overriding(run) : run()));
  }

  /** Downtime windows and polling periods in force now (seed 000). */
  communication(): ReturnType<typeof communicationAllowed> {
    const { config } = this.d;
    return communicationAllowed({ downtime: config.downtime.windows, allowed: config.poll.periods, timeZone: config.downtime.timeZone }, Date.now());
  }

  /** The read model the local API and the CLI render. */
  readModel(): AgentReadModel {
    return {
      snapshot: () => this.snapshot(),
      store: this.store,
      journal: this.journal,
      engineInfo: () => this.d.runtime.engineInfo(),
      syncNow: (opts) => this.syncNow(opts),
      restart: (id, component, opts) => this.restart(id, component, opts),
      logs: this.d.runtime.logs ? (id, opts) => this.d.runtime.logs!(id, opts) : undefined,
    };
  }

  /** An immutable picture of the agent now. */
  snapshot(): AgentSnapshot {
    let clientId: string | undefined;
    try {
      clientId = this.d.session?.clientId();
    } catch {
      clientId = undefined;
    }
    return Object.freeze({
      ...this.activity.snapshot(),
      startedAtMs: this.startedAtMs,
      runtimeName: this.d.runtime.name,
      clockOffsetMs: this.d.clockOffset.ms,
      lastPlan: this.sync.lastPlan,
      backoff: Object.freeze(this.sync.backoff.describe()),
      sender: Object.freeze({ ...this.sender.state }),
      lastWfmAnswerMonoMs: this.client.lastAnswerAtMs,
      communication: this.communication(),
      clientId,
      identity: this.d.session?.describe(),
      pulls: this.d.pulls?.snapshot() ?? [],
    });
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer?.cancel();
    this.activity.pollScheduled(Date.now() + delayMs);
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
      void this.queue
        .run(() => this.pollOnce())
        .then(
          (result) => this.schedulePoll(Math.max(interval, retryAfterOf(result))),
          () => this.schedulePoll(interval),
        );
    });
  }

  private async pollOnce(): Promise<PollOutcome> {
    const started = performance.now();
    const result = await this.sync.poll(this.abort.signal);
    const durationMs = performance.now() - started;
    const error = "error" in result ? { code: result.error.code, message: result.error.message } : undefined;
    const reachedWfm = result.outcome !== "unreachable" && result.outcome !== "not-onboarded";
    // A Git server answering says nothing of the WFM: the sender keeps its own backoff.
    const wfmAnswered = reachedWfm && this.d.config.desiredState.source === "wfm";
    this.activity.polled({ atMs: Date.now(), outcome: result.outcome, error, durationMs }, reachedWfm);
    if (result.outcome === "applied") this.activity.reconciled(durationMs);
    if (result.outcome === "not-onboarded") {
      this.d.log.debug("not polling yet: waiting for onboarding");
    } else if (reachedWfm) {
      // The WFM answers: if reports were waiting out a backoff, try them now.
      if (wfmAnswered && this.sender.state.failures > 0) this.sender.retryNow();
      else if (this.journal.hasPending()) this.sender.wake();
      if (result.outcome === "not-modified" || result.outcome === "still-rejected" || result.outcome === "retrying") await this.retryFailed();
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
    if (outcomes.length) this.activity.reconciled(outcomes.reduce((s, o) => s + o.durationMs, 0));
  }

  /** One drift check; false when it could not run now (the queue was busy), so the watch asks again. */
  private async checkDrift(): Promise<boolean> {
    if (this.stopped) return true;
    if (this.queue.busy) return false;
    await this.queue.run(async () => {
      try {
        const outcomes = await this.sync.reconcileStored("drift", this.abort.signal, true);
        for (const o of outcomes) if (o.step.action === "repair") this.d.log.warn({ deploymentId: o.step.deploymentId, code: "DRIFT_RESTORED", state: o.state }, o.step.reason);
      } catch (err) {
        this.d.log.error({ code: asAgentError(err).code, err: String(err) }, "drift check failed");
      }
    });
    return true;
  }

  /** Stops every loop and task, waits for the step under way to give up, closes the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pollTimer?.cancel();
    this.driftTimer?.cancel();
    this.driftWatch?.stop();
    this.sender.stop();
    this.abort.abort(new Error("agent stopping"));
    await this.queue.idle().catch(() => {});
    let waited: Timer | undefined;
    const late = new Promise<void>((resolve) => (waited = after(TASK_STOP_WAIT_MS, resolve)));
    await Promise.race([Promise.allSettled(this.tasks), late]);
    waited?.cancel();
    try {
      this.d.session?.close?.();
    } catch {
      // a session that cannot close its pools loses them with the process
    }
    // The runtime's own children (Podman's API service) must not outlive the agent (issue 16).
    await this.d.runtime.close?.().catch((err) => this.d.log.warn({ code: asAgentError(err).code, err: String(err) }, "closing the runtime failed"));
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

/** A WFM that said when to come back (Retry-After on the manifest) is not asked before then, within a day. */
function retryAfterOf(result: PollOutcome): number {
  const ms = "error" in result ? (result.error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs : undefined;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? Math.min(ms, 24 * 3600_000) : 0;
}
