/**
 * The state manifest body for one client (PROTOCOL.md §4), as deterministic
 * JSON: keys in the order the protocol lists them, deployments sorted by id,
 * no whitespace. The ETag is the digest of exactly these bytes. The shape is
 * the same in both profiles; only the server-relative URLs differ (v1 under
 * /api/v1/clients/{clientId}, rc3 without a clientId).
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

export interface ManifestUrls {
  bundle(digest: string): string;
  deployment(id: string, digest: string): string;
}

export function v1Urls(clientId: string): ManifestUrls {
  return { bundle: (digest) => bundleUrl(clientId, digest), deployment: (id, digest) => deploymentUrl(clientId, id, digest) };
}

export const RC3_URLS: ManifestUrls = {
  bundle: (digest) => `/api/v1/bundles/${digest}`,
  deployment: (id, digest) => `/api/v1/deployments/${encodeURIComponent(id)}/${digest}`,
};

/** `clientOrUrls`: a v1 clientId, or the URL scheme of a profile. */
export function buildManifestBody(clientOrUrls: string | ManifestUrls, input: ManifestInput): string {
  const urls = typeof clientOrUrls === "string" ? v1Urls(clientOrUrls) : clientOrUrls;
  const body = {
    manifestVersion: input.manifestVersion,
    bundle:
      input.deployments.length === 0 || input.bundle === null
        ? null
        : {
            mediaType: BUNDLE_MEDIA_TYPE,
            digest: input.bundle.digest,
            sizeBytes: input.bundle.sizeBytes,
            url: urls.bundle(input.bundle.digest),
          },
    deployments: input.deployments.map((d) => ({
      deploymentId: d.id,
      digest: d.digest,
      sizeBytes: d.sizeBytes,
      url: urls.deployment(d.id, d.digest),
    })),
  };
  return JSON.stringify(body);
}
