/** Signature checks (PROTOCOL.md §2) in front of every /api/v1/clients/{clientId}/… route. */
import type { Hono } from "hono";
import { authenticate, type AuthVerdict } from "../auth.ts";
import type { ParsedClientCertificate } from "../clients.ts";
import type { DevWfmContext } from "../context.ts";
import { problem } from "../http.ts";

/** authenticate() with this dev WFM's clients, policy and clock. */
export function authenticateRequest(
  ctx: DevWfmContext,
  req: Request,
  pathClientId: string | null,
  presentedCertificate?: ParsedClientCertificate,
): Promise<AuthVerdict> {
  return authenticate(req, {
    clients: ctx.clients,
    requireSignatures: ctx.options.requireSignatures ?? false,
    nowSeconds: Math.floor(ctx.now() / 1000),
    pathClientId,
    ...(presentedCertificate !== undefined ? { presentedCertificate } : {}),
  });
}

/** Registers the middleware; it must come before the per-client routes it guards. */
export function registerClientAuth(app: Hono, ctx: DevWfmContext): void {
  app.use("/api/v1/clients/:clientId/*", async (c, next) => {
    const verdict = await authenticateRequest(ctx, c.req.raw, c.req.param("clientId") ?? null);
    if (!verdict.ok) {
      ctx.log.info({ method: c.req.method, path: c.req.path, status: verdict.status, reason: verdict.reason }, "request refused");
      return problem(c, verdict.status, verdict.status === 400 ? "bad Content-Digest" : verdict.status === 401 ? "bad signature" : "client not trusted", verdict.reason);
    }
    await next();
  });
}
