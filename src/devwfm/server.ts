/**
 * The development WFM: a real Margo v1 WFM (PROTOCOL.md) whose desired state is
 * a folder of ApplicationDeployment YAMLs, for application developers and as
 * the peer in the agent's tests. createDevWfm wires the routes (one file per
 * concern under routes/) to the shared state (context.ts); start.ts serves it.
 */
import { Hono } from "hono";
import { createContext } from "./context.ts";
import type { Generation } from "./desired-state.ts";
import { problem } from "./http.ts";
import type { DevWfmOptions } from "./options.ts";
import { registerClientAuth } from "./routes/client-auth.ts";
import { registerDesiredState } from "./routes/desired-state.ts";
import { registerDevApi } from "./routes/dev-api.ts";
import { registerOnboarding } from "./routes/onboarding.ts";
import { registerPackages } from "./routes/packages.ts";
import { registerPage } from "./routes/page.ts";
import { registerReports } from "./routes/reports.ts";
import type { DevCapabilities, DevReport, FaultSpec } from "./types.ts";

export interface DevWfm {
  app: Hono;
  fetch: (req: Request) => Promise<Response>;
  /** Every accepted status report, in arrival order. */
  reports(): DevReport[];
  capabilities(): DevCapabilities[];
  setFaults(f: FaultSpec): void;
  faults(): FaultSpec;
  setBaseUrl(url: string): void;
  /** Scans the folder now (bumping manifestVersion if it changed) and returns the current generation. */
  refresh(): Generation;
  approveClient(clientId: string): boolean;
  close(): void;
}

export function createDevWfm(opts: DevWfmOptions): DevWfm {
  const ctx = createContext(opts);
  const { log } = ctx;
  const app = new Hono();

  app.onError((err, c) => {
    log.error({ err, method: c.req.method, path: c.req.path }, "dev WFM internal error");
    return problem(c, 500, "internal error", err.message);
  });

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    log.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, "request");
  });

  // Hono runs handlers in the order they were added: the signature check must
  // come before the per-client routes it guards.
  registerPage(app, ctx);
  registerOnboarding(app, ctx);
  registerClientAuth(app, ctx);
  registerDesiredState(app, ctx);
  registerReports(app, ctx);
  registerPackages(app, ctx);
  registerDevApi(app, ctx);

  app.notFound((c) => problem(c, 404, "not found", `${c.req.method} ${c.req.path} is not a route of the dev WFM`));

  return {
    app,
    fetch: async (req) => app.fetch(req),
    reports: () => [...ctx.reports],
    capabilities: () => [...ctx.capabilities],
    setFaults: (f) => {
      ctx.faults = { ...f };
    },
    faults: () => ({ ...ctx.faults }),
    setBaseUrl: (url) => {
      ctx.baseUrl = url.replace(/\/+$/, "");
    },
    refresh: () => ctx.refresh(ctx.baseUrl ?? "http://127.0.0.1"),
    approveClient: (clientId) => ctx.clients.approve(clientId),
    close: () => {},
  };
}
