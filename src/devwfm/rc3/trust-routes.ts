/**
 * Trust discovery as an MIS serves it (the rc.3 trust-bundle API): the
 * discovery document at /.well-known/margo and the trust domain's SPIFFE
 * bundle, both without client authentication (a client needs them before it
 * can validate any SVID). The bundle carries spiffe_sequence (rc3.json,
 * raised when the CA changed) and spiffe_refresh_hint. Both answer
 * If-None-Match with 304.
 */
import type { Context, Hono } from "hono";
import { sha256Digest } from "../../protocol/digest.ts";
import type { DevWfmContext } from "../context.ts";
import { requestOrigin } from "../http.ts";
import { noneMatchHits } from "../negotiation.ts";

export const DISCOVERY_PATH = "/.well-known/margo";
export const BUNDLE_PATH = "/.well-known/spiffe/bundle.json";

function jsonWithEtag(c: Context, body: string): Response {
  const etag = `"${sha256Digest(body)}"`;
  const headers = { ETag: etag, "Cache-Control": "no-cache" };
  if (noneMatchHits(c.req.header("if-none-match") ?? null, etag)) return c.body(null, 304, headers);
  return c.body(body, 200, { ...headers, "Content-Type": "application/json" });
}

export function registerTrustRoutes(app: Hono, ctx: DevWfmContext): void {
  const rc3 = ctx.rc3!;
  const bundle = JSON.stringify(rc3.identity.ca.spiffeBundle({ sequence: rc3.identity.bundleSequence, refreshHintSeconds: rc3.refreshHintSeconds }));

  app.get(DISCOVERY_PATH, (c) =>
    jsonWithEtag(c, JSON.stringify({ trustDomain: rc3.identity.trustDomain, trustBundleUri: `${ctx.baseUrl ?? requestOrigin(c)}${BUNDLE_PATH}` })),
  );
  app.get(BUNDLE_PATH, (c) => jsonWithEtag(c, bundle));
}
