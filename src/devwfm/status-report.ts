/**
 * Checking a DeploymentStatusManifest the way a strict WFM would (PROTOCOL.md §6),
 * so an agent that sends something malformed sees a 422 here rather than in the field.
 */
import * as v from "valibot";
import { describeIssues } from "../protocol/strict-keys.ts";

export const DEPLOYMENT_STATES = ["pending", "installing", "installed", "failed", "removing", "removed"] as const;

const state = v.picklist(DEPLOYMENT_STATES, `must be one of ${DEPLOYMENT_STATES.join(", ")}`);
const error = v.optional(
  v.object({
    code: v.optional(v.string()),
    source: v.optional(v.string()),
    message: v.optional(v.string()),
  }),
);

const StatusManifestSchema = v.object({
  apiVersion: v.pipe(v.string(), v.startsWith("deployment.margo.org/", "must be deployment.margo.org/<version>")),
  kind: v.literal("DeploymentStatusManifest", "must be DeploymentStatusManifest"),
  deploymentId: v.string(),
  status: v.object({ state, error }),
  components: v.array(v.object({ name: v.pipe(v.string(), v.minLength(1)), state, error })),
});

/** null when the body is acceptable for this path, else what is wrong with it. */
export function statusReportProblem(body: unknown, deploymentId: string): string | null {
  const result = v.safeParse(StatusManifestSchema, body);
  if (!result.success) return describeIssues(result.issues);
  if (result.output.deploymentId !== deploymentId) {
    return `deploymentId: ${JSON.stringify(result.output.deploymentId)} differs from the deployment in the path (${JSON.stringify(deploymentId)})`;
  }
  return null;
}
