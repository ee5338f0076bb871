/**
 * What an rc3 client pulls (the rc.3 workload-management API): the state
 * manifest at /api/v1/deployments, one deployment's YAML, the bundle. The
 * client is its SPIFFE ID (rc3/guard.ts); every client gets the folder's
 * desired state, as in v1.
 *
 * Like the Margo reference WFM, the manifest is served only to
 * `Accept: application/vnd.margo.manifest.v1+json` exactly (406
 * server-cannot-generate-response otherwise, a missing Accept included), so an
 * agent that sends anything else finds out here rather than in the field.
 */
import type { Hono } from "hono";
import { isDigest, sha256Digest } from "../../protocol/digest.ts";
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from "../../protocol/manifest.ts";
import type { DevWfmContext } from "../context.ts";
import { faultResponse, requestOrigin } from "../http.ts";
import { noneMatchHits } from "../negotiation.ts";
import { buildManifestBody, RC3_URLS } from "../state-manifest.ts";
import { margoProblem } from "./problems.ts";

/** What the rc.3 API gives content addressed by its digest. */
const IMMUTABLE = "private, max-age=31536000, immutable";

export function registerRc3DesiredState(app: Hono, ctx: DevWfmContext): void {
  const { desired } = ctx;

  app.get("/api/v1/deployments", (c) => {
    const fault = faultResponse(c, ctx.faults.manifest, "manifest");
    if (fault) return fault;
    const accept = c.req.header("accept");
    if (accept?.trim() !== MANIFEST_MEDIA_TYPE) {
      return margoProblem(
        c,
        "serverCannotGenerateResponse",
        `this WFM serves the state manifest only to Accept: ${MANIFEST_MEDIA_TYPE} (got ${accept === undefined ? "no Accept header" : JSON.stringify(accept)})`,
      );
    }
    const generation = ctx.refresh(requestOrigin(c));
    const body = buildManifestBody(RC3_URLS, {
      manifestVersion: generation.manifestVersion,
      bundle: generation.bundle && { digest: generation.bundle.digest, sizeBytes: generation.bundle.bytes.length },
      deployments: generation.deployments.map((d) => ({ id: d.id, digest: d.digest, sizeBytes: d.bytes.length })),
    });
    const etag = `"${sha256Digest(body)}"`;
    const headers = { ETag: etag, "Cache-Control": "private, no-cache" };
    if (noneMatchHits(c.req.header("if-none-match") ?? null, etag)) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, "Content-Type": MANIFEST_MEDIA_TYPE });
  });

  app.get("/api/v1/deployments/:deploymentId/:digest", (c) => {
    const { deploymentId, digest } = c.req.param();
    const bytes = isDigest(digest) ? desired.deploymentYaml(deploymentId, digest) : undefined;
    if (!bytes) return margoProblem(c, "deploymentNotFound", `no kept generation has deployment ${deploymentId} with digest ${digest}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/yaml", "Cache-Control": IMMUTABLE, ETag: `"${digest}"`, Vary: "Accept-Encoding" });
  });

  app.get("/api/v1/bundles/:digest", (c) => {
    const digest = c.req.param("digest");
    const bytes = isDigest(digest) ? desired.bundle(digest) : undefined;
    if (!bytes) return margoProblem(c, "invalidBundle", `no kept generation has a bundle with digest ${digest}`);
    const etag = `"${digest}"`;
    const headers = { "Cache-Control": IMMUTABLE, ETag: etag };
    if (noneMatchHits(c.req.header("if-none-match") ?? null, etag)) return c.body(null, 304, headers);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Type": BUNDLE_MEDIA_TYPE });
  });
}
