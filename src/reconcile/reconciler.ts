/**
 * Carries out reconcile steps through a runtime adapter, recording every state
 * change (and the report that describes it) in the store as it happens.
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { Deployment } from "../model/deployment.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import { parseDeployment } from "../deployment/parse.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { buildStatusManifest } from "../protocol/status-manifest.ts";
import type { AppliedDeployment } from "../model/applied.ts";
import type { StateStore } from "../store/state-store.ts";
import type { ComponentResolver } from "./component-resolver.ts";
import type { Step } from "./plan.ts";
import { type ComponentStatus, type DeploymentState, overallState, sameStatus, type StatusError } from "../model/states.ts";


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
}

export interface StepOutcome {
  step: Step;
  state: DeploymentState | "removed";
  error?: StatusError;
  durationMs: number;
  /** The agent stopped during the step: nothing was recorded for it, and the next start does it again. */
  interrupted?: boolean;
}

/**
 * Thrown inside a step when the agent's stop signal cut it short. An abort is
 * not a failure: it is neither recorded nor reported (INV-RECONCILE-1).
 */
class StepInterrupted extends Error {
  constructor() {
    super("agent stopping");
  }
}

/** After a failure: was it the stop signal? Then the failure means nothing. */
function interruptedBy(signal: AbortSignal): void {
  if (signal.aborted) throw new StepInterrupted();
}

/** The name to use as an error `source` when the deployment could not be parsed. */
function nameOf(d: DesiredDeployment, id: string): string {
  return d.parsed instanceof AgentError ? id : d.parsed.name;
}

export class Reconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  /** Applies one step. Never throws: failures are recorded as failed state. */
  async apply(step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint, signal: AbortSignal): Promise<StepOutcome> {
    const started = performance.now();
    const log = this.o.log.child({ deploymentId: step.deploymentId, action: step.action });
    log.info({ reason: step.reason }, "reconcile step");
    let state: DeploymentState | "removed";
    let error: StatusError | undefined;
    try {
      if (step.action === "remove") {
        const applied = this.o.store.getDeployment(step.deploymentId);
        if (applied) ({ state, error } = await this.remove(applied, signal));
        else state = "removed";
      } else if (step.action === "keep") {
        state = this.o.store.getDeployment(step.deploymentId)?.state ?? "pending";
      } else {
        if (!desired) throw new AgentError("INTERNAL", `no desired state for ${step.deploymentId}`);
        ({ state, error } = await this.install(step, desired, manifestVersion, signal));
      }
    } catch (err) {
      if (err instanceof StepInterrupted || signal.aborted) {
        const durationMs = performance.now() - started;
        log.info({ durationMs }, "reconcile step interrupted by the agent stopping; the next start does it again");
        return { step, state: this.o.store.getDeployment(step.deploymentId)?.state ?? "pending", durationMs, interrupted: true };
      }
      const e = asAgentError(err);
      log.error({ code: e.code, err: e.message }, "reconcile step crashed");
      state = "failed";
      error = { code: e.code, source: step.deploymentId, message: e.message };
    }
    const durationMs = performance.now() - started;
    if (error) log.error({ code: error.code, state, durationMs }, error.message);
    else log.info({ state, durationMs }, "reconcile step done");
    return { step, state, error, durationMs };
  }

  /**
   * "Pending: the desired state has been received but not yet applied." Marked for
   * every add and update as soon as a manifest is accepted, before any is applied,
   * so the WFM learns at once what the device took on (and a crash midway loses
   * none of it: the pending rows are resumed at restart).
   */
  markPending(step: Step, desired: DesiredDeployment | undefined, manifestVersion: bigint): void {
    if ((step.action !== "add" && step.action !== "update") || !desired || desired.parsed instanceof AgentError) return;
    const dep = desired.parsed;
    this.record(step.deploymentId, dep.name, desired, manifestVersion, dep.components.map((c) => ({ name: c.name, state: "pending" })), undefined, { attempts: 0 });
  }

  private record(id: string, name: string, d: { digest: string; yaml: string }, mv: bigint, components: ComponentStatus[], error?: StatusError, extra: { markGood?: boolean; attempts?: number; state?: DeploymentState; wanted?: boolean } = {}): DeploymentState {
    const state = extra.state ?? overallState(components);
    const stored = this.o.store.getDeployment(id);
    if (stored && stored.digest === d.digest && stored.state === state && sameStatus(stored.components, components) && stored.error?.message === (state === "failed" ? error?.message : undefined) && stored.wanted === (extra.wanted ?? true) && !extra.markGood) {
      // Resuming after a crash repeats the snapshot it died in: nothing new to report.
      return state;
    }
    this.o.store.recordTransition({
      id,
      name,
      digest: d.digest,
      yaml: d.yaml,
      manifestVersion: mv.toString(),
      state,
      components,
      error: state === "failed" ? error : undefined,
      report: buildStatusManifest({ deploymentId: id, manifestVersion: mv, components, state, error: state === "failed" ? error : undefined }),
      markGood: extra.markGood,
      attempts: extra.attempts,
      wanted: extra.wanted ?? true,
    });
    this.o.onReport?.();
    return state;
  }

  private async install(step: Step, desired: DesiredDeployment, mv: bigint, signal: AbortSignal): Promise<{ state: DeploymentState; error?: StatusError }> {
    const id = step.deploymentId;
    const previous = this.o.store.getDeployment(id);
    const attempts = step.action === "retry" || step.action === "repair" ? (previous?.attempts ?? 0) + 1 : 0;
    if (desired.parsed instanceof AgentError) {
      const error = { code: desired.parsed.code, source: nameOf(desired, id), message: desired.parsed.message };
      return { state: this.record(id, id, desired, mv, [], error, { state: "failed", attempts }), error };
    }
    const dep = desired.parsed;
    const components: ComponentStatus[] = dep.components.map((c) => ({ name: c.name, state: "pending" }));
    if (step.action === "add" || step.action === "update") this.record(id, dep.name, desired, mv, components, undefined, { attempts });

    const supported = await this.o.runtime.supportedProfiles();
    if (!supported.includes(dep.profileType)) {
      const error = await this.unsupported(dep, supported);
      for (const c of components) Object.assign(c, { state: "failed", error: { ...error, source: c.name } });
      return { state: this.record(id, dep.name, desired, mv, components, error, { attempts }), error };
    }

    const failure = await this.applyComponents(dep, components, desired, mv, signal, attempts);
    if (!failure) {
      await this.removeDroppedComponents(previous, dep, signal);
      return { state: this.record(id, dep.name, desired, mv, components, undefined, { markGood: true, attempts: 0 }) };
    }
    let error = failure;
    if (this.o.rollback && previous?.goodYaml && previous.goodDigest && previous.goodDigest !== desired.digest) {
      error = await this.rollback(previous, failure, signal);
    }
    return { state: this.record(id, dep.name, desired, mv, components, error, { attempts }), error };
  }

  /**
   * Why a deployment cannot run here. A compose deployment on a device whose
   * engine is missing or down is an engine problem (ENGINE_NOT_FOUND /
   * ENGINE_UNREACHABLE), which a field engineer can fix; a profile no adapter
   * here runs at all (helm.v3 without Kubernetes) is PROFILE_UNSUPPORTED.
   */
  private async unsupported(dep: Deployment, supported: readonly string[]): Promise<StatusError> {
    const runtime = this.o.runtime;
    if (dep.profileType === "compose") {
      const info = await runtime.engineInfo();
      if (!info.reachable) {
        const code = info.code ?? "ENGINE_UNREACHABLE";
        const what = code === "ENGINE_NOT_FOUND" ? "no container engine with a compose tool is installed" : "the container engine does not answer";
        return { code, source: dep.name, message: `deployment profile compose cannot run now: ${what} (runtime ${runtime.name}${info.detail ? `: ${info.detail}` : ""})` };
      }
    }
    return {
      code: "PROFILE_UNSUPPORTED",
      source: dep.name,
      message: `deployment profile ${dep.profileType} cannot run on this device: runtime ${runtime.name} supports ${supported.length ? supported.join(", ") : "nothing right now"}`,
    };
  }

  /** Applies components in order; returns the deployment-level error of the first failure. */
  private async applyComponents(dep: Deployment, components: ComponentStatus[], desired: DesiredDeployment, mv: bigint, signal: AbortSignal, attempts: number): Promise<StatusError | undefined> {
    const ref = { deploymentId: dep.id, name: dep.name, digest: desired.digest };
    for (const [i, component] of dep.components.entries()) {
      components[i] = { name: component.name, state: "installing" };
      this.record(dep.id, dep.name, desired, mv, components, undefined, { attempts });
      try {
        const resolved = await this.o.resolve(dep, component, signal);
        await this.o.runtime.applyComponent(ref, resolved, { signal, workDir: this.o.workDir(dep.id) });
        components[i] = { name: component.name, state: "installed" };
      } catch (err) {
        interruptedBy(signal);
        const e = asAgentError(err, "COMPONENT_APPLY_FAILED");
        components[i] = { name: component.name, state: "failed", error: { code: e.code, source: component.name, message: e.message } };
        return { code: e.code, source: dep.name, message: `component ${component.name}: ${e.message}` };
      }
    }
    return undefined;
  }

  /** After an update, components that the new version no longer has are removed. */
  private async removeDroppedComponents(previous: AppliedDeployment | undefined, dep: Deployment, signal: AbortSignal): Promise<void> {
    if (!previous) return;
    const keep = new Set(dep.components.map((c) => c.name));
    // What may still run: the last recorded components, and those of the last known good version
    // (the record may already be the new version's pending snapshot).
    const before = new Set(previous.components.map((c) => c.name));
    if (previous.goodYaml) {
      try {
        for (const c of parseDeployment(previous.goodYaml, `deployment ${previous.id} (last known good)`).components) before.add(c.name);
      } catch {
        // a stored good version that no longer parses names nothing more
      }
    }
    for (const name of before) {
      if (keep.has(name)) continue;
      try {
        await this.o.runtime.removeComponent({ deploymentId: dep.id, name: dep.name, digest: previous.digest }, name, { signal, workDir: this.o.workDir(dep.id) });
      } catch (err) {
        interruptedBy(signal);
        this.o.log.warn({ code: "COMPONENT_REMOVE_FAILED", deploymentId: dep.id, component: name, err: String(err) }, "could not remove a component dropped by the update");
      }
    }
  }

  /** Restores the last known good version; the returned error says what happened. */
  private async rollback(previous: AppliedDeployment, failure: StatusError, signal: AbortSignal): Promise<StatusError> {
    const log = this.o.log.child({ deploymentId: previous.id });
    try {
      const good = parseDeployment(previous.goodYaml!, `deployment ${previous.id} (last known good ${previous.goodDigest})`);
      const ref = { deploymentId: good.id, name: good.name, digest: previous.goodDigest! };
      for (const component of good.components) {
        const resolved = await this.o.resolve(good, component, signal);
        await this.o.runtime.applyComponent(ref, resolved, { signal, workDir: this.o.workDir(good.id) });
      }
      log.warn({ code: "UPDATE_ROLLED_BACK", restored: previous.goodDigest }, "update failed; previous version restored");
      return { code: "UPDATE_ROLLED_BACK", source: failure.source, message: `update failed and was rolled back to ${previous.goodDigest}: ${failure.message}` };
    } catch (err) {
      interruptedBy(signal);
      const e = asAgentError(err);
      log.error({ code: e.code, err: e.message }, "rollback failed too");
      return { ...failure, message: `${failure.message}; rollback to ${previous.goodDigest} failed too: ${e.message}` };
    }
  }

  private async remove(applied: AppliedDeployment, signal: AbortSignal): Promise<{ state: DeploymentState | "removed"; error?: StatusError }> {
    const mv = BigInt(applied.manifestVersion);
    const components: ComponentStatus[] = applied.components.map((c) => ({ name: c.name, state: "removing" }));
    this.record(applied.id, applied.name, applied, mv, components, undefined, { state: "removing", wanted: false });
    const ref = { deploymentId: applied.id, name: applied.name, digest: applied.digest };
    for (const [i, c] of [...applied.components.entries()].reverse()) {
      try {
        await this.o.runtime.removeComponent(ref, c.name, { signal, workDir: this.o.workDir(applied.id) });
        components[i] = { name: c.name, state: "removed" };
      } catch (err) {
        interruptedBy(signal);
        const e = asAgentError(err, "COMPONENT_REMOVE_FAILED");
        components[i] = { name: c.name, state: "failed", error: { code: e.code, source: c.name, message: e.message } };
        const error = { code: e.code, source: applied.name, message: `removing component ${c.name}: ${e.message}` };
        return { state: this.record(applied.id, applied.name, applied, mv, components, error, { wanted: false }), error };
      }
    }
    const finalComponents = components.map((c) => ({ name: c.name, state: "removed" as const }));
    this.o.store.recordRemoved(applied.id, buildStatusManifest({ deploymentId: applied.id, manifestVersion: mv, components: finalComponents, state: "removed" }));
    this.o.onReport?.();
    return { state: "removed" };
  }
}
