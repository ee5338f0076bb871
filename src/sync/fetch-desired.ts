/**
 * Getting the ApplicationDeployment YAMLs a manifest refers to: the bundle or
 * single YAMLs, chosen per sync, every byte verified against its digest before
 * anything is handed on. Any failure throws: nothing is applied from a manifest
 * that could not be fully verified.
 */
import { scanTarGz } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";
import { sha256Digest } from "../protocol/digest.ts";
import type { DeploymentRef, StateManifest } from "../protocol/manifest.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";

export interface FetchLimits {
  deploymentBytes: number;
  bundleBytes: number;
  bundleEntries: number;
  bundleExpandedBytes: number;
  /** Largest expansion of the bundle (decompressed / compressed); DEFAULT_BUNDLE_MAX_RATIO when absent. */
  bundleMaxRatio?: number;
}

/**
 * Bundles of templated deployments reach ~75-fold (10,000 near-identical YAMLs); a gzip bomb
 * reaches ~1000-fold. The bound stops a bomb after about a MiB instead of at bundleExpandedBytes.
 */
export const DEFAULT_BUNDLE_MAX_RATIO = 200;

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
  // File names in the bundle are unspecified: match each deployment by the digest of its bytes.
  // The bundle is read as a stream and only the files a needed deployment names are kept, so
  // memory is what is needed plus one file, whatever the bundle expands to.
  const wanted = new Set(needed.map((ref) => ref.digest));
  const byDigest = new Map<string, Uint8Array>();
  await scanTarGz(
    gz,
    { maxEntries: limits.bundleEntries, maxEntryBytes: limits.deploymentBytes, maxTotalBytes: limits.bundleExpandedBytes, maxRatio: limits.bundleMaxRatio ?? DEFAULT_BUNDLE_MAX_RATIO },
    { what },
    (_path, data) => {
      const digest = sha256Digest(data);
      if (wanted.has(digest) && !byDigest.has(digest)) byDigest.set(digest, data.slice());
    },
  );
  const deployments = needed.map((ref) => {
    const data = byDigest.get(ref.digest);
    if (!data) {
      throw new AgentError("BUNDLE_INCOMPLETE", `${what}: holds no file with digest ${ref.digest} for deployment ${ref.deploymentId}`, { deploymentId: ref.deploymentId });
    }
    return { ref, yaml: decodeYaml(data, `deployment ${ref.deploymentId} in ${what}`) };
  });
  return { transport, deployments };
}
