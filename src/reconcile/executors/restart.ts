/**
 * The executor of restart, an operator's local action (`margo-agent restart`):
 * the components' containers are restarted by the runtime, in listed order (or
 * just the one named), and every change is recorded and reported like any
 * other: installing while it restarts, installed after, failed with the cause.
 */
import { AgentError, asAgentError } from "../../errors/index.ts";
import type { Subject } from "../../lifecycle/lifecycle.ts";
import type { ComponentStatus } from "../../model/states.ts";
import { interruptedBy } from "../interrupt.ts";
import type { Step } from "../plan.ts";
import type { ExecutorContext, ExecutorResult } from "./context.ts";

export async function restart(step: Step, ctx: ExecutorContext): Promise<ExecutorResult> {
  const applied = ctx.store.getDeployment(step.deploymentId);
  if (!applied) throw new AgentError("DEPLOYMENT_INVALID", `restart: no deployment ${step.deploymentId} on this device`);
  const runtime = ctx.runtime;
  if (!runtime.restartComponent) throw new AgentError("ENGINE_NOT_FOUND", `restart: the ${runtime.name} runtime cannot restart containers`);
  const names = step.component ? [step.component] : applied.components.map((c) => c.name);
  if (step.component && !applied.components.some((c) => c.name === step.component)) {
    throw new AgentError("DEPLOYMENT_INVALID", `restart: deployment ${applied.id} has no component ${JSON.stringify(step.component)}`);
  }
  const subject: Subject = { id: applied.id, name: applied.name, digest: applied.digest, yaml: applied.yaml, manifestVersion: BigInt(applied.manifestVersion) };
  const ref = { deploymentId: applied.id, name: applied.name, digest: applied.digest };
  const components: ComponentStatus[] = applied.components.map((c) => ({ ...c }));
  for (const name of names) {
    const i = components.findIndex((c) => c.name === name);
    components[i] = { name, state: "installing" };
    ctx.recorder.record(subject, { kind: "progress", components, attempts: applied.attempts });
    try {
      await runtime.restartComponent(ref, name, { signal: ctx.signal, workDir: ctx.workDir(applied.id) });
      components[i] = { name, state: "installed" };
    } catch (err) {
      interruptedBy(ctx.signal);
      const e = asAgentError(err, "COMPONENT_APPLY_FAILED");
      components[i] = { name, state: "failed", error: { code: e.code, source: name, message: e.message } };
      const error = { code: e.code, source: applied.name, message: `restarting component ${name}: ${e.message}` };
      return { state: ctx.recorder.record(subject, { kind: "failed", components, error, attempts: applied.attempts }), error };
    }
  }
  return { state: ctx.recorder.record(subject, { kind: "installed", components }) };
}
