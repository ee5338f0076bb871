/** GET /: the HTML overview of the folder, clients, reports and fault switches. */
import type { Hono } from "hono";
import type { DevWfmContext } from "../context.ts";
import { describeFaults } from "../faults.ts";
import { requestOrigin } from "../http.ts";
import { renderPage } from "../page.ts";

export function registerPage(app: Hono, ctx: DevWfmContext): void {
  app.get("/", (c) => {
    const generation = ctx.refresh(requestOrigin(c));
    return c.html(
      renderPage({
        generation,
        dir: ctx.dir,
        clients: ctx.clients.all(),
        reports: ctx.reports,
        faults: describeFaults(ctx.faults),
        capabilityClients: ctx.capabilities.map((x) => x.clientId),
      }),
      200,
      { "Cache-Control": "no-store" },
    );
  });
}
