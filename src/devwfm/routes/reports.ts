/** What a client sends: deployment status reports and device capabilities (PROTOCOL.md §6, §3). */
import type { Context, Hono } from "hono";
import type { DevWfmContext } from "../context.ts";
import { faultResponse, problem, readJson } from "../http.ts";
import { statusReportProblem } from "../status-report.ts";
import type { DevCapabilities, DevReport } from "../types.ts";

export function registerReports(app: Hono, ctx: DevWfmContext): void {
  const { log } = ctx;

  app.post("/api/v1/clients/:clientId/deployments/:deploymentId/status", async (c) => {
    const fault = faultResponse(c, ctx.faults.status, "status");
    if (fault) return fault;
    const { clientId, deploymentId } = c.req.param();
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 422, "invalid status report", parsed.reason);
    const why = statusReportProblem(parsed.value, deploymentId);
    if (why !== null) {
      log.info({ clientId, deploymentId, reason: why }, "status report refused (422)");
      return problem(c, 422, "invalid status report", why);
    }
    const report: DevReport = { index: ctx.reports.length, clientId, deploymentId, receivedAt: ctx.iso(), body: parsed.value };
    ctx.reports.push(report);
    const body = parsed.value as { status: { state: string; error?: unknown }; components: Array<{ name: string; state: string }> };
    log.info(
      { clientId, deploymentId, state: body.status.state, components: body.components.map((x) => `${x.name}=${x.state}`).join(","), error: body.status.error },
      "status report",
    );
    return c.json({ accepted: true }, 200);
  });

  const recordCapabilities = async (c: Context) => {
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 422, "invalid capabilities", parsed.reason);
    const value = parsed.value as Record<string, unknown> | null;
    if (value === null || typeof value !== "object" || value.kind !== "DeviceCapabilitiesManifest") {
      return problem(c, 422, "invalid capabilities", "kind: must be DeviceCapabilitiesManifest");
    }
    const entry: DevCapabilities = {
      clientId: c.req.param("clientId") ?? "",
      deviceId: c.req.param("deviceId") ?? null,
      method: c.req.method === "PUT" ? "PUT" : "POST",
      receivedAt: ctx.iso(),
      body: parsed.value,
    };
    ctx.capabilities.push(entry);
    log.info({ clientId: entry.clientId, deviceId: entry.deviceId, method: entry.method }, "capabilities received");
    return c.body(null, 201);
  };
  for (const route of ["/api/v1/clients/:clientId/capabilities", "/api/v1/clients/:clientId/capabilities/:deviceId"]) {
    app.post(route, recordCapabilities);
    app.put(route, recordCapabilities);
  }
}
