/**
 * Removing components no version in force has any more: those an update
 * dropped, and those a failed update added before it was rolled back. Best
 * effort: a component that will not go is logged, and the step goes on.
 */
import type { DeploymentRef } from "../../../runtimes/types.ts";
import { interruptedBy } from "../interrupt.ts";
import type { ExecutorContext } from "./context.ts";

export async function removeLeftovers(ref: DeploymentRef, names: Iterable<string>, ctx: ExecutorContext): Promise<void> {
  for (const name of names) {
    try {
      await ctx.runtime.removeComponent(ref, name, { signal: ctx.signal, workDir: ctx.workDir(ref.deploymentId) });
    } catch (err) {
      interruptedBy(ctx.signal);
      ctx.log.warn({ code: "COMPONENT_REMOVE_FAILED", deploymentId: ref.deploymentId, component: name, err: String(err) }, "could not remove a component the deployment no longer has");
    }
  }
}
