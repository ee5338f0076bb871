/**
 * The executor of add, update, retry and repair: apply every component of the
 * desired version in order, then remove components the new version dropped; on
 * a failure, roll back to the last known good version when there is one.
 */
import { parseDeployment } from "../../deployment/parse.ts";
import { AgentError, asAgentError } from "../../errors/index.ts";
import { attemptOf, type Subject } from "../../lifecycle/lifecycle.ts";
import type { AppliedDeployment } from "../../model/applied.ts";
import type { Deployment } from "../../model/deployment.ts";
import type { DesiredDeployment } from "../../model/desired.ts";
import type { ComponentStatus, StatusError } from "../../model/states.ts";
import type { ResolvedComponent } from "../../../runtimes/types.ts";
import { interruptedBy } from "../interrupt.ts";
import type { Step } from "../plan.ts";
import type { ExecutorContext, ExecutorResult } from "./context.ts";
import { removeLeftovers } from "./leftovers.ts";
import { whyUnsupported } from "./profile-check.ts";
import { deploymentPlacementProblem } from "../../deployment/constraints.ts";
import { rollBack } from "./rollback.ts";

export async function install(step: Step, desired: DesiredDeployment, manifestVersion: bigint, ctx: ExecutorContext): Promise<ExecutorResult> {
  const id = step.deploymentId;
  const previous = ctx.store.getDeployment(id);
  const attempts = attemptOf(previous, step.action);
  if (desired.parsed instanceof AgentError) {
    const error = { code: desired.parsed.code, source: id, message: desired.parsed.message };
    const subject = { id, name: id, digest: desired.digest, yaml: desired.yaml, manifestVersion };
    return { state: ctx.recorder.record(subject, { kind: "failed", components: [], error, attempts }), error };
  }
  const dep = desired.parsed;
  const subject: Subject = { id, name: dep.name, digest: desired.digest, yaml: desired.yaml, manifestVersion };
  // Normally done when the manifest was accepted; a no-op then.
  if (step.action === "add" || step.action === "update") ctx.recorder.record(subject, { kind: "accepted", components: dep.components.map((c) => c.name) });
  const components: ComponentStatus[] = dep.components.map((c) => ({ name: c.name, state: "pending" }));

  const unsupported = await whyUnsupported(ctx.runtime, dep);
  if (unsupported) {
    for (const c of components) Object.assign(c, { state: "failed", error: { ...unsupported, source: c.name } });
    return { state: ctx.recorder.record(subject, { kind: "failed", components, error: unsupported, attempts }), error: unsupported };
  }
  // rc3: a deployment for another device, or one whose deviceConstraints this device can never meet.
  if (ctx.placement && (dep.deviceId !== undefined || dep.deviceConstraints !== undefined)) {
    const misplaced = deploymentPlacementProblem(dep, await ctx.placement());
    if (misplaced) {
      for (const c of components) Object.assign(c, { state: "failed", error: { ...misplaced, source: c.name } });
      return { state: ctx.recorder.record(subject, { kind: "failed", components, error: misplaced, attempts }), error: misplaced };
    }
  }


  const failure = await applyComponents(dep, components, subject, attempts, ctx);
  if (!failure) {
    await removeDroppedComponents(previous, dep, ctx);
    return { state: ctx.recorder.record(subject, { kind: "installed", components }) };
  }
  let error = failure;
  if (ctx.rollback && previous?.goodYaml && previous.goodDigest && previous.goodDigest !== desired.digest) {
    error = await rollBack(previous, dep, failure, ctx);
  }
  return { state: ctx.recorder.record(subject, { kind: "failed", components, error, attempts }), error };
}

/** Applies components in order; returns the deployment-level error of the first failure. */
async function applyComponents(dep: Deployment, components: ComponentStatus[], subject: Subject, attempts: number, ctx: ExecutorContext): Promise<StatusError | undefined> {
  const ref = { deploymentId: dep.id, name: dep.name, digest: subject.digest };
  for (const [i, component] of dep.components.entries()) {
    components[i] = { name: component.name, state: "installing" };
    ctx.recorder.record(subject, { kind: "progress", components, attempts });
    let resolved: ResolvedComponent | undefined;
    try {
      resolved = await ctx.resolve(dep, component, ctx.signal);
      await ctx.runtime.applyComponent(ref, resolved, { signal: ctx.signal, workDir: ctx.workDir(dep.id) });
      components[i] = { name: component.name, state: "installed" };
    } catch (err) {
      interruptedBy(ctx.signal);
      let e = asAgentError(err, "COMPONENT_APPLY_FAILED");
      // The engine's own words may hide why (an image it could not pull): the resolver can ask the registry.
      if (resolved?.explainFailure) e = await resolved.explainFailure(e);
      components[i] = { name: component.name, state: "failed", error: { code: e.code, source: component.name, message: e.message } };
      return { code: e.code, source: dep.name, message: `component ${component.name}: ${e.message}` };
    }
  }
  return undefined;
}

/**
 * After an update, components the new version no longer has are removed: those
 * of the last recorded snapshot, of the last known good version, and whatever
 * else the engine runs for the deployment (the record may already be the new
 * version's pending snapshot, which no longer names what an earlier failed
 * version started).
 */
async function removeDroppedComponents(previous: AppliedDeployment | undefined, dep: Deployment, ctx: ExecutorContext): Promise<void> {
  if (!previous) return;
  const keep = new Set(dep.components.map((c) => c.name));
  const before = new Set(previous.components.map((c) => c.name));
  if (previous.goodYaml) {
    try {
      for (const c of parseDeployment(previous.goodYaml, `deployment ${previous.id} (last known good)`).components) before.add(c.name);
    } catch {
      // a stored good version that no longer parses names nothing more
    }
  }
  try {
    for (const c of (await ctx.runtime.inspect()).find((o) => o.deploymentId === dep.id)?.components ?? []) before.add(c.name);
  } catch {
    // an engine that cannot list now: what the records name is all there is to go on
  }
  await removeLeftovers({ deploymentId: dep.id, name: dep.name, digest: previous.digest }, [...before].filter((name) => !keep.has(name)), ctx);
}
