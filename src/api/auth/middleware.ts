import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { decideAccess } from "./access.ts";

/** Actions (every POST) and workload logs (they carry what workloads print). */
export function isGuarded(method: string, path: string): boolean {
  return (method !== "GET" && method !== "HEAD") || /^\/v1\/deployments\/[^/]+\/logs$/.test(path);
}

/**
 * Applies the access rules (access.ts) to every request. Without a peer
 * binding (a test calling app.request()) the caller is treated as loopback.
 */
export function requireAccess(token: string | null): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const verdict = decideAccess(
      { peerAddress: c.env?.peer?.address ?? null, authorization: c.req.header("authorization"), guarded: isGuarded(c.req.method, c.req.path) },
      token,
    );
    if (!verdict.ok) {
      if (verdict.status === 401) c.header("WWW-Authenticate", 'Bearer realm="margo-agent"');
      return jsonError(c, verdict.status, verdict.code, verdict.message);
    }
    await next();
  };
}
