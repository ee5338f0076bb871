/**
 * Getting the ApplicationDeployment YAMLs a manifest refers to: the bundle or
 * single YAMLs, chosen per sync, every byte verified against its digest before
 * anything is handed on. Any failure throws: nothing is applied from a manifest
 * that could not be fully verified.
 */
import { readTarGz } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";
import { sha256Digest } from "../protocol/digest.ts";
import type { DeploymentRef, StateManifest } from "../protocol/manifest.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";

export interface FetchLimits {
  deploymentBytes: number;
  bundleBytes: number;
  bundleEntries: number;
  bundleExpandedBytes: number;
}

export interface FetchedDeployment {
  ref: DeploymentRef;
  yaml: string;
}

/** The bundle on first sync or when most deployments changed; single YAMLs otherwise. */
export function chooseTransport(manifest: StateManifest, needed: readonly DeploymentRef[], haveAny: boolean): "bundle" | "single" | "none" {
  if (needed.length === 0) return "none";
  if (manifest.bundle && (!haveAny || needed.length * 2 > manifest.deployments.length)) return "bundle";
  return "single";
}

function decodeYaml(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AgentError("DEPLOYMENT_INVALID", `${what}: not UTF-8 text`);
  }
}

export async function fetchDeployments(
  client: WfmClient,
  manifest: StateManifest,
  needed: readonly DeploymentRef[],
  haveAny: boolean,
  limits: FetchLimits,
): Promise<{ transport: "bundle" | "single" | "none"; deployments: FetchedDeployment[] }> {
  const transport = chooseTransport(manifest, needed, haveAny);
  if (transport === "none") return { transport, deployments: [] };
  if (transport === "single") {
    const deployments: FetchedDeployment[] = [];
    for (const ref of needed) {
      const what = `deployment ${ref.deploymentId}`;
      const bytes = await client.getArtifact(ref.url, ref.digest, limits.deploymentBytes, what);
      deployments.push({ ref, yaml: decodeYaml(bytes, what) });
    }
    return { transport, deployments };
  }
  const bundle = manifest.bundle!;
  const what = `bundle ${bundle.digest}`;
  const gz = await client.getArtifact(bundle.url, bundle.digest, limits.bundleBytes, what);
  const entries = readTarGz(gz, { maxEntries: limits.bundleEntries, maxEntryBytes: limits.deploymentBytes, maxTotalBytes: limits.bundleExpandedBytes }, { what });
  // File names in the bundle are unspecified: match each deployment by the digest of its bytes.
  const byDigest = new Map<string, Uint8Array>();
  for (const e of entries) byDigest.set(sha256Digest(e.data), e.data);
  const deployments = needed.map((ref) => {
    const data = byDigest.get(ref.digest);
    if (!data) {
      throw new AgentError("BUNDLE_INCOMPLETE", `${what}: holds no file with digest ${ref.digest} for deployment ${ref.deploymentId}`, { deploymentId: ref.deploymentId });
    }
    return { ref, yaml: decodeYaml(data, `deployment ${ref.deploymentId} in ${what}`) };
  });
  return { transport, deployments };
}
