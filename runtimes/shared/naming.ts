/**
 * Names and labels the agent puts on everything it creates. The project name is
 * how compose finds "its" containers; the labels are how inspect() finds ours and
 * nothing else.
 */
import { createHash } from "node:crypto";
import type { DeploymentRef } from "../types.ts";

export const LABEL = {
  managedBy: "org.margo.managed-by",
  deploymentId: "org.margo.deployment-id",
  component: "org.margo.component",
  digest: "org.margo.digest",
  packageDigest: "org.margo.package-digest",
  /** On services without a restart policy: exiting 0 means the job is done. */
  job: "org.margo.job",
  /** Set by every compose implementation (v1, v2, podman-compose). */
  composeProject: "com.docker.compose.project",
  composeService: "com.docker.compose.service",
} as const;

export const MANAGED_BY = "margo-agent";

/** Longest component part kept in a project name; keeps names far below engine limits. */
const MAX_COMPONENT_PART = 40;

/**
 * A compose project name valid for Docker Compose v1/v2 and Podman: lowercase
 * [a-z0-9_-], starting with a letter. The hash of the deployment id makes names
 * collision-safe across deployments whose ids differ only in characters the
 * sanitiser drops; a hash of the component name is appended when sanitising
 * changed it, so "a.b" and "a_b" do not collide either.
 */
export function projectName(deploymentId: string, componentName: string): string {
  const dep = sha256Hex(deploymentId).slice(0, 12);
  let part = componentName.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|[-_]+$/g, "");
  if (part !== componentName || part.length > MAX_COMPONENT_PART) {
    part = `${part.slice(0, MAX_COMPONENT_PART)}-${sha256Hex(componentName).slice(0, 6)}`.replace(/^-/, "");
  }
  return `margo-${dep}-${part}`;
}

/** Labels put on every container, network and volume of one component. */
export function ownershipLabels(deployment: DeploymentRef, componentName: string, packageDigest?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.deploymentId]: deployment.deploymentId,
    [LABEL.component]: componentName,
    [LABEL.digest]: deployment.digest,
  };
  if (packageDigest) labels[LABEL.packageDigest] = packageDigest;
  return labels;
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
