/**
 * The local status API: what runs, what failed and why, what waits to be
 * reported, readable at the device even while the WFM is unreachable.
 * Routes and their JSON are documented in README.md beside this file.
 */
import { Hono } from "hono";
import { asAgentError } from "../errors/index.ts";
import { requireAccess } from "./auth/middleware.ts";
import type { ApiEnv } from "./env.ts";
import { ApiProblem, jsonError } from "./errors.ts";
import { deploymentRoutes } from "./routes/deployments.ts";
import { healthRoutes } from "./routes/health.ts";
import { journalRoutes } from "./routes/journal.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { statusRoutes } from "./routes/status.ts";
import { syncRoutes } from "./routes/sync.ts";
import type { StatusSource } from "./source.ts";

export interface LocalApiOptions {
  /** api.token: null means loopback-only, read-only use. */
  token: string | null;
}

export function createLocalApi(source: StatusSource, opts: LocalApiOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use("*", requireAccess(opts.token));
  app.use("*", async (c, next) => {
    c.set("source", source);
    c.header("cache-control", "no-store");
    await next();
  });
  app.route("/", healthRoutes);
  app.route("/", statusRoutes);
  app.route("/", deploymentRoutes);
  app.route("/", journalRoutes);
  app.route("/", metricsRoutes);
  app.route("/", syncRoutes);
  app.notFound((c) => jsonError(c, 404, "API_NOT_FOUND", `no route ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err, c) => {
    if (err instanceof ApiProblem) return jsonError(c, err.status, err.code, err.message);
    const e = asAgentError(err);
    return jsonError(c, 500, e.code, e.message);
  });
  return app;
}
