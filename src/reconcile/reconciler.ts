/**
 * The reconcile pass: observe the runtime (when asked), plan (pure, plan.ts),
 * accept every new version as pending before anything is applied, then run the
 * steps in order, each through the one executor of its type (executors/).
 * Every state change goes through the lifecycle and is journaled with its
 * report as it happens. A step cut short by the stop signal is not recorded.
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import type { DeploymentState, StatusError } from "../model/states.ts";
import type { StatusFormat } from "../protocol/status-manifest.ts";
import type { ConstraintDevice } from "../deployment/constraints.ts";
import type { StateStore } from "../store/state-store.ts";
import type { ComponentResolver } from "./component-resolver.ts";
import type { ExecutorContext, ExecutorResult } from "./executors/context.ts";
import { install } from "./executors/install.ts";
import { remove } from "./executors/remove.ts";
import { restart } from "./executors/restart.ts";
import { StepInterrupted } from "./interrupt.ts";
import { actionable, planReconcile, type Step, type StepAction } from "./plan.ts";
import { Recorder } from "./recorder.ts";
import { RetryBackoff } from "./retry-backoff.ts";
import type { Deferral, UpdateLocks } from "./update-lock.ts";

export interface ReconcilerOptions {
  store: StateStore;
  runtime: RuntimeAdapter;
  resolve: ComponentResolver;
  log: Logger;
  rollback: boolean;
  /** Where per-deployment working files live (under the data directory). */
  workDir: (deploymentId: string) => string;
  /** Called after each journaled change, so the sender can wake up. */
  onReport?: () => void;
  backoff?: RetryBackoff;
  /** The profile's report frame (docs/protocol.md §6); v1's by default. */
  statusFormat?: StatusFormat;
  /** What this device is, for rc3 deployments that name a device or constraints. */
  placement?: () => Promise<ConstraintDevice>;
  /** Workloads' update locks (update-lock.ts); none: nothing is ever deferred. */
  locks?: UpdateLocks;
}

export interface StepOutcome {
  step: Step;
  state: DeploymentState | "removed";
  error?: StatusError;
  durationMs: number;
  /** The agent stopped during the step: nothing was recorded for it, and the next start does it again. */
  interrupted?: boolean;
  /** A workload's update lock held the step back (UPDATE_DEFERRED); nothing of it ran. */
  deferred?: Deferral;
}

/** What the last reconcile decided and why: shown by the local API. */
export interface LastPlan {
  atMs: number;
  trigger: string;
  steps: Step[];
}

/** The desired state of one pass: what the WFM (or the store) wants, and the manifestVersion of each. */
export interface DesiredSet {
  byId: Map<string, DesiredDeployment>;
  manifestVersionOf: (deploymentId: string) => bigint;
}

type Executor = (step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint, ctx: ExecutorContext) => Promise<ExecutorResult>;

/** One executor per step type (balena-supervisor's step loop, one small module each). */
const EXECUTORS: Record<StepAction, Executor> = {
  add: installDesired,
  update: installDesired,
  retry: installDesired,
  repair: installDesired,
  remove: (step, _desired, _mv, ctx) => remove(step, ctx),
  keep: async (step, _desired, _mv, ctx) => ({ state: ctx.store.getDeployment(step.deploymentId)?.state ?? "pending" }),
  restart: (step, _desired, _mv, ctx) => restart(step, ctx),
};

function installDesired(step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint, ctx: ExecutorContext): Promise<ExecutorResult> {
  if (!desired) throw new AgentError("INTERNAL", `no desired state for ${step.deploymentId}`);
  return install(step, desired, manifestVersion, ctx);
}

export class Reconciler {
  lastPlan: LastPlan | undefined;
  readonly backoff: RetryBackoff;
  private readonly recorder: Recorder;

  constructor(private readonly o: ReconcilerOptions) {
    this.backoff = o.backoff ?? new RetryBackoff();
    this.recorder = new Recorder(o.store, o.onReport, o.statusFormat);
  }

  /** One pass towards `desired`. Stops early (steps left undone) when the signal aborts. */
  async reconcile(desired: DesiredSet, trigger: string, signal: AbortSignal, observe: boolean): Promise<StepOutcome[]> {
    const applied = this.o.store.listDeployments();
    let observed;
    if (observe && applied.length > 0) {
      try {
        observed = await this.o.runtime.inspect();
      } catch (err) {
        this.o.log.warn({ code: asAgentError(err).code, err: String(err) }, "runtime inspection failed; skipping drift detection this time");
      }
    }
    const steps = planReconcile({
      desired: [...desired.byId].map(([deploymentId, d]) => ({ deploymentId, digest: d.digest })),
      applied: applied.map((a) => ({ deploymentId: a.id, digest: a.digest, state: a.state, componentNames: a.components.map((c) => c.name) })),
      observed,
      notBefore: this.backoff.waiting(),
    });
    const todo = actionable(steps);
    if (todo.length > 0 || trigger === "new manifest") this.lastPlan = { atMs: Date.now(), trigger, steps };
    // Pending for every new version before any is applied: the WFM learns at once what the
    // device took on, and a crash midway loses none of it (docs/architecture.md, INV-RECONCILE-2).
    for (const step of todo) this.accept(step, desired.byId.get(step.deploymentId), desired.manifestVersionOf(step.deploymentId));
    const outcomes: StepOutcome[] = [];
    for (const step of todo) {
      if (signal.aborted) break;
      const outcome = await this.apply(step, desired.byId.get(step.deploymentId), desired.manifestVersionOf(step.deploymentId), signal);
      if (outcome.interrupted) break;
      this.backoff.record(step.deploymentId, outcome.state === "failed", this.o.store.getDeployment(step.deploymentId)?.attempts ?? 0);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /** "Pending: the desired state has been received but not yet applied." */
  private accept(step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint): void {
    if ((step.action !== "add" && step.action !== "update") || !desired || desired.parsed instanceof AgentError) return;
    const dep = desired.parsed;
    this.recorder.record({ id: step.deploymentId, name: dep.name, digest: desired.digest, yaml: desired.yaml, manifestVersion }, { kind: "accepted", components: dep.components.map((c) => c.name) });
  }

  /**
   * An operator's restart of a deployment (or one component), as a step of its
   * own: through the update lock and the lifecycle, reported like any change.
   */
  restart(deploymentId: string, component: string | undefined, signal: AbortSignal): Promise<StepOutcome> {
    const reason = component ? `restart of component ${component} asked on the device` : "restart asked on the device";
    return this.apply({ action: "restart", deploymentId, reason, ...(component ? { component } : {}) }, undefined, 0n, signal);
  }

  /** Applies one step through its executor. Never throws: failures are recorded as failed state. */
  async apply(step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint, signal: AbortSignal): Promise<StepOutcome> {
    const started = performance.now();
    const log = this.o.log.child({ deploymentId: step.deploymentId, action: step.action });
    const deferral = this.o.locks?.check(step.deploymentId, step.action, this.o.store.getDeployment(step.deploymentId), (why) =>
      log.warn({ code: "UPDATE_DEFERRED", why }, `the workload's update lock is overridden (${why}); ${step.action} goes ahead`),
    );
    if (deferral) return this.defer(step, deferral, log, started);
    log.info({ reason: step.reason }, "reconcile step");
    const ctx: ExecutorContext = { store: this.o.store, runtime: this.o.runtime, resolve: this.o.resolve, recorder: this.recorder, log: this.o.log, rollback: this.o.rollback, workDir: this.o.workDir, signal, placement: this.o.placement };
    let result: ExecutorResult;
    try {
      result = await EXECUTORS[step.action](step, desired, manifestVersion, ctx);
    } catch (err) {
      const durationMs = performance.now() - started;
      if (err instanceof StepInterrupted || signal.aborted) {
        log.info({ durationMs }, "reconcile step interrupted by the agent stopping; the next start does it again");
        return { step, state: this.o.store.getDeployment(step.deploymentId)?.state ?? "pending", durationMs, interrupted: true };
      }
      const e = asAgentError(err);
      log.error({ code: e.code, err: e.message, durationMs }, "reconcile step crashed");
      return { step, state: "failed", error: { code: e.code, source: step.deploymentId, message: e.message }, durationMs };
    }
    const durationMs = performance.now() - started;
    if (result.error) log.error({ code: result.error.code, state: result.state, durationMs }, result.error.message);
    else log.info({ state: result.state, durationMs }, "reconcile step done");
    return { step, ...result, durationMs };
  }

  /**
   * A step held back by an update lock: the deployment is reported pending with
   * the reason (once: the same deferral again changes nothing), a removal marked
   * unwanted so a later pass still does it. A restart is only refused.
   */
  private defer(step: Step, deferral: Deferral, log: Logger, started: number): StepOutcome {
    const what = step.action === "remove" ? "removal" : step.action === "restart" ? "restart" : "update";
    const error = {
      code: "UPDATE_DEFERRED",
      source: step.deploymentId,
      message: `the workload holds its update lock ${deferral.file}: the ${what} waits until it is released, ${new Date(deferral.untilWallMs).toISOString()} at the latest (updateLocks.maxDeferral), or margo-agent sync --force`,
    };
    const record = this.o.store.getDeployment(step.deploymentId);
    let state: StepOutcome["state"] = record?.state ?? "pending";
    if (record && step.action !== "restart") {
      const subject = { id: record.id, name: record.name, digest: record.digest, yaml: record.yaml, manifestVersion: BigInt(record.manifestVersion) };
      state = this.recorder.record(subject, { kind: "deferred", error, removal: step.action === "remove" });
    }
    if (deferral.first) log.info({ code: "UPDATE_DEFERRED", lockFile: deferral.file, until: new Date(deferral.untilWallMs).toISOString() }, `${what} deferred: ${error.message}`);
    return { step, state, error, durationMs: performance.now() - started, deferred: deferral };
  }
}
