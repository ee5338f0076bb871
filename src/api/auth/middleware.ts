import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { decideAccess } from "./access.ts";

/**
 * Applies the access rules (access.ts) to every request. Without a peer
 * binding (a test calling app.request()) the caller is treated as loopback.
 */
export function requireAccess(token: string | null): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const verdict = decideAccess(
      { peerAddress: c.env?.peer?.address ?? null, authorization: c.req.header("authorization"), mutating: c.req.method !== "GET" && c.req.method !== "HEAD" },
      token,
    );
    if (!verdict.ok) {
      if (verdict.status === 401) c.header("WWW-Authenticate", 'Bearer realm="margo-agent"');
      return jsonError(c, verdict.status, verdict.code, verdict.message);
    }
    await next();
  };
}
