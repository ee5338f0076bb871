/**
 * Restoring the last version of a deployment that reached installed, after an
 * update failed. Its files are the ones the agent kept for it; the returned
 * error says what happened, for the failed report.
 */
import { parseDeployment } from "../../deployment/parse.ts";
import { asAgentError } from "../../errors/index.ts";
import type { AppliedDeployment } from "../../model/applied.ts";
import type { Deployment } from "../../model/deployment.ts";
import type { StatusError } from "../../model/states.ts";
import { interruptedBy } from "../interrupt.ts";
import type { ExecutorContext } from "./context.ts";
import { removeLeftovers } from "./leftovers.ts";

export async function rollBack(previous: AppliedDeployment, failed: Deployment, failure: StatusError, ctx: ExecutorContext): Promise<StatusError> {
  const log = ctx.log.child({ deploymentId: previous.id });
  try {
    const good = parseDeployment(previous.goodYaml!, `deployment ${previous.id} (last known good ${previous.goodDigest})`);
    const ref = { deploymentId: good.id, name: good.name, digest: previous.goodDigest! };
    for (const component of good.components) {
      const resolved = await ctx.resolve(good, component, ctx.signal);
      await ctx.runtime.applyComponent(ref, resolved, { signal: ctx.signal, workDir: ctx.workDir(good.id) });
    }
    // The version restored is the good one as it was: what the failed update added goes.
    const restored = new Set(good.components.map((c) => c.name));
    await removeLeftovers(ref, failed.components.map((c) => c.name).filter((name) => !restored.has(name)), ctx);
    log.warn({ code: "UPDATE_ROLLED_BACK", restored: previous.goodDigest }, "update failed; previous version restored");
    return { code: "UPDATE_ROLLED_BACK", source: failure.source, message: `update failed and was rolled back to ${previous.goodDigest}: ${failure.message}` };
  } catch (err) {
    interruptedBy(ctx.signal);
    const e = asAgentError(err);
    log.error({ code: e.code, err: e.message }, "rollback failed too");
    return { ...failure, message: `${failure.message}; rollback to ${previous.goodDigest} failed too: ${e.message}` };
  }
}
