/**
 * The state manifest body for one client (PROTOCOL.md §4), as deterministic
 * JSON: keys in the order the protocol lists them, deployments sorted by id,
 * no whitespace. The ETag is the digest of exactly these bytes.
 */
import { BUNDLE_MEDIA_TYPE } from "../protocol/manifest.ts";

export interface ManifestInput {
  manifestVersion: number;
  bundle: { digest: string; sizeBytes: number } | null;
  /** Sorted by id. */
  deployments: ReadonlyArray<{ id: string; digest: string; sizeBytes: number }>;
}

function clientPrefix(clientId: string): string {
  return `/api/v1/clients/${encodeURIComponent(clientId)}`;
}

export function bundleUrl(clientId: string, digest: string): string {
  return `${clientPrefix(clientId)}/bundles/${digest}`;
}

export function deploymentUrl(clientId: string, id: string, digest: string): string {
  return `${clientPrefix(clientId)}/deployments/${encodeURIComponent(id)}/${digest}`;
}

export function buildManifestBody(clientId: string, input: ManifestInput): string {
  const body = {
    manifestVersion: input.manifestVersion,
    bundle:
      input.deployments.length === 0 || input.bundle === null
        ? null
        : {
            mediaType: BUNDLE_MEDIA_TYPE,
            digest: input.bundle.digest,
            sizeBytes: input.bundle.sizeBytes,
            url: bundleUrl(clientId, input.bundle.digest),
          },
    deployments: input.deployments.map((d) => ({
      deploymentId: d.id,
      digest: d.digest,
      sizeBytes: d.sizeBytes,
      url: deploymentUrl(clientId, d.id, d.digest),
    })),
  };
  return JSON.stringify(body);
}
