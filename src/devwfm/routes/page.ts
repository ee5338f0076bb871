/** GET /: the HTML overview of the folder, clients, reports and fault switches. */
import type { Hono } from "hono";
import type { DevWfmContext } from "../context.ts";
import { describeFaults } from "../faults.ts";
import { requestOrigin } from "../http.ts";
import { renderPage, type Rc3PageModel } from "../page.ts";
import { issuedClients } from "../rc3/identity.ts";
import { DISCOVERY_PATH } from "../rc3/trust-routes.ts";

export function registerPage(app: Hono, ctx: DevWfmContext): void {
  app.get("/", (c) => {
    const generation = ctx.refresh(requestOrigin(c));
    const rc3 = ctx.rc3;
    const rc3Model: Rc3PageModel | undefined = rc3 && {
      trustDomain: rc3.identity.trustDomain,
      wfmSpiffeId: rc3.identity.wfm.id,
      bundleSequence: rc3.identity.bundleSequence,
      refreshHintSeconds: rc3.refreshHintSeconds,
      discoveryUrl: `${ctx.baseUrl ?? requestOrigin(c)}${DISCOVERY_PATH}`,
      issued: issuedClients(ctx.stateDir),
      seen: [...rc3.seen.values()],
      retired: [...rc3.retired],
      refused: rc3.refused,
    };
    return c.html(
      renderPage({
        generation,
        dir: ctx.dir,
        stateDir: ctx.stateDir,
        clients: rc3 ? [] : ctx.clients.all(),
        reports: ctx.reports,
        faults: describeFaults(ctx.faults),
        capabilityClients: ctx.capabilities.map((x) => x.clientId),
        label: (id) => ctx.desired.label(id),
        rc3: rc3Model,
      }),
      200,
      { "Cache-Control": "no-store" },
    );
  });
}
