/** GET /api/v1/onboarding/certificate and POST /api/v1/onboarding (PROTOCOL.md §1). */
import type { Hono } from "hono";
import { readClientCertificate, type ParsedClientCertificate } from "../clients.ts";
import type { DevWfmContext } from "../context.ts";
import { problem, readJson } from "../http.ts";
import { authenticateRequest } from "./client-auth.ts";

export function registerOnboarding(app: Hono, ctx: DevWfmContext): void {
  const { log, clients } = ctx;

  app.get("/api/v1/onboarding/certificate", (c) => {
    const caCertificate = ctx.options.caCertificate;
    if (!caCertificate) return problem(c, 404, "no root CA", "this dev WFM was started without --ca-cert");
    return c.json({ certificate: Buffer.from(caCertificate).toString("base64") });
  });

  app.post("/api/v1/onboarding", async (c) => {
    // Read a copy: the signature check below needs the body too.
    const parsed = await readJson(c, true);
    const body = parsed.ok ? (parsed.value as Record<string, unknown> | null) : null;
    if (body === null || typeof body !== "object" || body.kind !== "OnboardingRequest" || typeof body.apiVersion !== "string" || typeof body.certificate !== "string") {
      return c.json({ error: "Invalid certificate" }, 400);
    }
    let cert: ParsedClientCertificate;
    try {
      cert = await readClientCertificate(body.certificate);
    } catch (err) {
      log.info({ reason: (err as Error).message }, "onboarding refused: invalid certificate");
      return c.json({ error: "Invalid certificate" }, 400);
    }
    const verdict = await authenticateRequest(ctx, c.req.raw, null, cert);
    if (!verdict.ok) {
      log.info({ status: verdict.status, reason: verdict.reason }, "onboarding refused");
      return c.json({ error: verdict.status === 403 ? "Client rejected" : verdict.reason }, verdict.status);
    }
    const client = clients.onboard(cert, ctx.options.approve !== "manual", ctx.iso());
    if (!client.approved) {
      log.info({ clientId: client.clientId }, "onboarding waits for approval (POST /api/dev/clients/{clientId}/approve or the page)");
      return c.json({ error: "Client rejected" }, 403);
    }
    log.info({ clientId: client.clientId, signed: verdict.signed }, "client onboarded");
    return c.json({ clientId: client.clientId }, 201);
  });
}
