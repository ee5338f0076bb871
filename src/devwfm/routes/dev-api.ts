/** /api/dev/*: what tests and developers use to watch and steer the dev WFM (not part of Margo). */
import type { Hono } from "hono";
import type { DevWfmContext } from "../context.ts";
import { describeFaults, FaultSyntaxError, mergeFaultJson } from "../faults.ts";
import { problem, readJson } from "../http.ts";
import { issuedClients } from "../rc3/identity.ts";

export function registerDevApi(app: Hono, ctx: DevWfmContext): void {
  const { log, clients } = ctx;

  app.get("/api/dev/reports", (c) => {
    const clientId = c.req.query("clientId");
    const since = Number(c.req.query("since") ?? 0);
    if (!Number.isInteger(since) || since < 0) return problem(c, 400, "bad query", "since must be a non-negative integer index");
    return c.json(ctx.reports.filter((r) => r.index >= since && (clientId === undefined || r.clientId === clientId)));
  });
  app.delete("/api/dev/reports", (c) => {
    ctx.reports = [];
    return c.body(null, 204);
  });
  app.get("/api/dev/capabilities", (c) => c.json(ctx.capabilities));
  app.get("/api/dev/faults", (c) => c.json(describeFaults(ctx.faults)));
  app.put("/api/dev/faults", async (c) => {
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 400, "bad faults", parsed.reason);
    try {
      ctx.faults = mergeFaultJson(ctx.faults, parsed.value);
    } catch (err) {
      if (err instanceof FaultSyntaxError) return problem(c, 400, "bad faults", err.message);
      throw err;
    }
    log.info({ faults: describeFaults(ctx.faults) }, "fault switches changed");
    return c.json(describeFaults(ctx.faults));
  });
  if (ctx.rc3 !== undefined) {
    registerRc3Clients(app, ctx);
    return;
  }
  app.get("/api/dev/clients", (c) => c.json(clients.all().map(({ certificate: _c, ...rest }) => rest)));
  app.post("/api/dev/clients/:clientId/approve", (c) => {
    const clientId = c.req.param("clientId");
    if (!clients.approve(clientId)) return problem(c, 404, "no such client", `no client ${clientId} has asked to onboard`);
    log.info({ clientId }, "client approved");
    // A browser posting the page's form goes back to the page.
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/", 303);
    return c.json({ clientId, approved: true });
  });
}

/**
 * rc3: clients are SPIFFE IDs. GET lists those minted for this state dir
 * (issue-svid) and those that connected; retire / reinstate end and restore a
 * client relationship (a retired client gets 403 not-authorized), by the
 * client-id segment of the SPIFFE ID.
 */
function registerRc3Clients(app: Hono, ctx: DevWfmContext): void {
  const rc3 = ctx.rc3!;
  const idFor = (clientId: string) => `spiffe://${rc3.identity.trustDomain}/margo/wfm/${rc3.identity.wfmId}/client/${clientId}`;
  app.get("/api/dev/clients", (c) => {
    const issued = issuedClients(ctx.stateDir);
    const ids = [...new Set([...issued.map((i) => i.spiffeId), ...rc3.seen.keys(), ...rc3.retired])].sort();
    return c.json(
      ids.map((spiffeId) => ({
        spiffeId,
        issued: issued.find((i) => i.spiffeId === spiffeId) ?? null,
        seen: rc3.seen.get(spiffeId) ?? null,
        retired: rc3.retired.has(spiffeId),
      })),
    );
  });
  app.get("/api/dev/refused", (c) => c.json(rc3.refused));
  for (const action of ["retire", "reinstate"] as const) {
    app.post(`/api/dev/clients/:clientId/${action}`, (c) => {
      const clientId = c.req.param("clientId");
      if (!/^[A-Za-z0-9._-]+$/.test(clientId)) return problem(c, 400, "bad client id", "a client id is one SPIFFE path segment: letters, digits, '.', '-', '_'");
      const spiffeId = idFor(clientId);
      if (action === "retire") rc3.retired.add(spiffeId);
      else rc3.retired.delete(spiffeId);
      rc3.persist();
      ctx.log.info({ spiffeId }, action === "retire" ? "client retired: it gets not-authorized from now on" : "client reinstated");
      if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/", 303);
      return c.json({ spiffeId, retired: action === "retire" });
    });
  }
}
