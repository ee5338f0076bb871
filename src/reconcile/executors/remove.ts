/**
 * The executor of remove: components in reverse order, then the record goes;
 * its removed report stays in the journal until delivered. A failure leaves the
 * deployment failed and unwanted, so a later cycle tries the removal again.
 */
import { asAgentError } from "../../errors/index.ts";
import type { Subject } from "../../lifecycle/lifecycle.ts";
import type { ComponentStatus } from "../../model/states.ts";
import { interruptedBy } from "../interrupt.ts";
import type { Step } from "../plan.ts";
import type { ExecutorContext, ExecutorResult } from "./context.ts";

export async function remove(step: Step, ctx: ExecutorContext): Promise<ExecutorResult> {
  const applied = ctx.store.getDeployment(step.deploymentId);
  if (!applied) return { state: "removed" };
  const subject: Subject = { id: applied.id, name: applied.name, digest: applied.digest, yaml: applied.yaml, manifestVersion: BigInt(applied.manifestVersion) };
  ctx.recorder.record(subject, { kind: "removing" });
  const components: ComponentStatus[] = applied.components.map((c) => ({ name: c.name, state: "removing" }));
  const ref = { deploymentId: applied.id, name: applied.name, digest: applied.digest };
  for (const [i, c] of [...applied.components.entries()].reverse()) {
    try {
      await ctx.runtime.removeComponent(ref, c.name, { signal: ctx.signal, workDir: ctx.workDir(applied.id) });
      components[i] = { name: c.name, state: "removed" };
    } catch (err) {
      interruptedBy(ctx.signal);
      const e = asAgentError(err, "COMPONENT_REMOVE_FAILED");
      components[i] = { name: c.name, state: "failed", error: { code: e.code, source: c.name, message: e.message } };
      const error = { code: e.code, source: applied.name, message: `removing component ${c.name}: ${e.message}` };
      return { state: ctx.recorder.record(subject, { kind: "removal-failed", components, error }), error };
    }
  }
  return { state: ctx.recorder.record(subject, { kind: "removed" }) };
}
