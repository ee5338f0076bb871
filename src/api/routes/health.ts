import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";

/** Liveness and readiness probes (for systemd watchdogs, container healthchecks, monitoring). */
export const healthRoutes = new Hono<ApiEnv>()
  .get("/healthz", (c) => {
    const v = c.var.source.health();
    return v.ok ? c.json({ ok: true }) : c.json({ ok: false, reasons: v.reasons }, 503);
  })
  .get("/readyz", async (c) => {
    const v = await c.var.source.readiness();
    return v.ok ? c.json({ ok: true }) : c.json({ ok: false, reasons: v.reasons }, 503);
  });
