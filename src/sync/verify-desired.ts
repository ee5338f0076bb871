/**
 * The desired state as the reconciler consumes it: one entry per deployment the
 * WFM wants, with its verified YAML parsed (or the error that made it unusable).
 */
import type { Deployment } from "../model/deployment.ts";
import { parseDeployment } from "../deployment/parse.ts";
import { AgentError } from "../errors/index.ts";
import { sha256Digest } from "../protocol/digest.ts";
import type { AppliedDeployment } from "../model/applied.ts";
import type { DesiredDeployment } from "../model/desired.ts";

export function parseVerified(deploymentId: string, digest: string, yaml: string): DesiredDeployment {
  let parsed: Deployment | AgentError;
  try {
    parsed = parseDeployment(yaml, `deployment ${deploymentId} (${digest})`);
    if (parsed.id !== deploymentId) {
      parsed = new AgentError("DEPLOYMENT_ID_MISMATCH", `deployment ${deploymentId} (${digest}): its metadata.annotations.id is ${JSON.stringify(parsed.id)}`);
    }
  } catch (err) {
    parsed = err instanceof AgentError ? err : new AgentError("DEPLOYMENT_INVALID", String(err));
  }
  return { digest, yaml, parsed };
}

/**
 * The stored copy of a deployment, re-verified against its digest before it may
 * be re-applied: the store is content-addressed, so tampering shows.
 */
export function fromStore(row: AppliedDeployment): DesiredDeployment {
  const actual = sha256Digest(row.yaml);
  if (actual !== row.digest) {
    return {
      digest: row.digest,
      yaml: row.yaml,
      parsed: new AgentError("STORE_TAMPERED", `deployment ${row.id}: the stored ApplicationDeployment hashes to ${actual}, not ${row.digest}; refusing to re-apply it`),
    };
  }
  return parseVerified(row.id, row.digest, row.yaml);
}
