/** What a client pulls (PROTOCOL.md §4): the state manifest, one deployment's YAML, the bundle. */
import type { Hono } from "hono";
import { isDigest, sha256Digest } from "../../protocol/digest.ts";
import { MANIFEST_MEDIA_TYPE } from "../../protocol/manifest.ts";
import type { DevWfmContext } from "../context.ts";
import { faultResponse, IMMUTABLE, problem, requestOrigin } from "../http.ts";
import { accepts, noneMatchHits } from "../negotiation.ts";
import { buildManifestBody } from "../state-manifest.ts";

export function registerDesiredState(app: Hono, ctx: DevWfmContext): void {
  const { desired } = ctx;

  app.get("/api/v1/clients/:clientId/deployments", (c) => {
    const fault = faultResponse(c, ctx.faults.manifest, "manifest");
    if (fault) return fault;
    if (!accepts(c.req.header("accept") ?? null, MANIFEST_MEDIA_TYPE)) {
      return problem(c, 406, "not acceptable", `this WFM serves the state manifest only as ${MANIFEST_MEDIA_TYPE}`);
    }
    const generation = ctx.refresh(requestOrigin(c));
    const body = buildManifestBody(c.req.param("clientId"), {
      manifestVersion: generation.manifestVersion,
      bundle: generation.bundle && { digest: generation.bundle.digest, sizeBytes: generation.bundle.bytes.length },
      deployments: generation.deployments.map((d) => ({ id: d.id, digest: d.digest, sizeBytes: d.bytes.length })),
    });
    const etag = `"${sha256Digest(body)}"`;
    const headers = { ETag: etag, "Cache-Control": "no-cache" };
    if (noneMatchHits(c.req.header("if-none-match") ?? null, etag)) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, "Content-Type": MANIFEST_MEDIA_TYPE });
  });

  app.get("/api/v1/clients/:clientId/deployments/:deploymentId/:digest", (c) => {
    const { deploymentId, digest } = c.req.param();
    const bytes = isDigest(digest) ? desired.deploymentYaml(deploymentId, digest) : undefined;
    if (!bytes) return problem(c, 404, "no such deployment content", `no kept generation has deployment ${deploymentId} with digest ${digest}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/yaml", "Cache-Control": IMMUTABLE, ETag: `"${digest}"` });
  });

  app.get("/api/v1/clients/:clientId/bundles/:digest", (c) => {
    const digest = c.req.param("digest");
    const bytes = isDigest(digest) ? desired.bundle(digest) : undefined;
    if (!bytes) return problem(c, 404, "no such bundle", `no kept generation has a bundle with digest ${digest}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/vnd.margo.bundle.v1+tar+gzip",
      "Cache-Control": IMMUTABLE,
      ETag: `"${digest}"`,
    });
  });
}
