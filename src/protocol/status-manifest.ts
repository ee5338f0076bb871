/**
 * The DeploymentStatusManifest body (docs/protocol.md §6), serialised exactly
 * once when the state change is journaled, so what is sent later is what was
 * decided. The profile decides the frame (StatusFormat): v1 wraps the body in
 * its apiVersion/kind envelope; rc3 has none and names the device.
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

/** How a profile frames a status body (src/protocol/profiles/). */
export interface StatusFormat {
  /** v1: apiVersion deployment.margo.org/v1alpha1, kind DeploymentStatusManifest. rc3: none. */
  envelope: boolean;
  /** rc3: the device the report is about (the rc.3 schema's optional deviceId). */
  deviceId?: string;
}

/** The v1 frame: what every report carried before there were profiles. */
export const V1_STATUS_FORMAT: StatusFormat = { envelope: true };

export function buildStatusManifest(input: StatusInput, format: StatusFormat = V1_STATUS_FORMAT): string {
  const state = input.state ?? overallState(input.components);
  const status: { state: DeploymentState; error?: StatusError } = { state };
  if ((state === "failed" || state === "pending") && input.error) status.error = input.error;
  const body = {
    ...(format.envelope ? { apiVersion: "deployment.margo.org/v1alpha1", kind: "DeploymentStatusManifest" } : {}),
    deploymentId: input.deploymentId,
    ...(format.deviceId !== undefined ? { deviceId: format.deviceId } : {}),
    adoptedManifestVersion: "__MV__",
    status,
    components: input.components.map((c) => (c.state === "failed" && c.error ? { name: c.name, state: c.state, error: c.error } : { name: c.name, state: c.state })),
  };
  // manifestVersion may exceed 2^53: splice the exact digits in as a JSON number. The key is part
  // of the pattern: inside any string value (a deviceId "__MV__") the quotes would be escaped.
  return JSON.stringify(body).replace('"adoptedManifestVersion":"__MV__"', `"adoptedManifestVersion":${BigInt(input.manifestVersion).toString()}`);
}
