/**
 * The DeploymentStatusManifest body (PROTOCOL.md §6), serialised exactly once
 * when the state change is journaled, so what is sent later is what was decided.
 */
import { type ComponentStatus, type DeploymentState, overallState, type StatusError } from "../model/states.ts";

export interface StatusInput {
  deploymentId: string;
  /** The manifestVersion this status belongs to (exact, up to 2^64-1). */
  manifestVersion: bigint | string;
  components: ComponentStatus[];
  /** The overall state when it cannot be derived from the components (e.g. no components known). */
  state?: DeploymentState;
  /** Deployment-level error: with failed; with pending, why it waits (UPDATE_DEFERRED: a workload's update lock). */
  error?: StatusError;
}

export function buildStatusManifest(input: StatusInput): string {
  const state = input.state ?? overallState(input.components);
  const status: { state: DeploymentState; error?: StatusError } = { state };
  if ((state === "failed" || state === "pending") && input.error) status.error = input.error;
  const body = {
    apiVersion: "deployment.margo.org/v1alpha1",
    kind: "DeploymentStatusManifest",
    deploymentId: input.deploymentId,
    adoptedManifestVersion: "__MV__",
    status,
    components: input.components.map((c) => (c.state === "failed" && c.error ? { name: c.name, state: c.state, error: c.error } : { name: c.name, state: c.state })),
  };
  // manifestVersion may exceed 2^53: splice the exact digits in as a JSON number.
  return JSON.stringify(body).replace('"__MV__"', BigInt(input.manifestVersion).toString());
}
