import { Hono } from "hono";
import { DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, waitAtMost } from "../bounded-wait.ts";
import type { ApiEnv } from "../env.ts";
import { jsonError } from "../errors.ts";
import { booleanParam, integerParam } from "../query.ts";

export const deploymentRoutes = new Hono<ApiEnv>()
  .get("/v1/deployments", (c) => c.json({ deployments: c.var.source.deployments() }))
  .get("/v1/deployments/:id", (c) => {
    const id = c.req.param("id");
    const detail = c.var.source.deployment(id);
    return detail ? c.json(detail) : jsonError(c, 404, "API_NOT_FOUND", `no deployment with id ${JSON.stringify(id)} on this device`);
  })
  /** An operator's restart (?component=, ?force=, ?wait= as for sync): the outcome, or 202 while it runs. */
  .post("/v1/deployments/:id/restart", async (c) => {
    const id = c.req.param("id");
    const component = c.req.query("component") || undefined;
    const force = booleanParam("force", c.req.query("force"));
    const wait = integerParam("wait", c.req.query("wait"), { min: 0, max: MAX_WAIT_SECONDS }) ?? DEFAULT_WAIT_SECONDS;
    const started = performance.now();
    const result = await waitAtMost(c.var.source.restart(id, component, { force }), wait);
    if (result) return c.json(result);
    return c.json({ deploymentId: id, component: component ?? null, state: "running", error: null, durationMs: Math.round(performance.now() - started) }, 202);
  })
  /**
   * The workload's container output as text/plain (?component=, ?tail=N,
   * ?follow=true streams until the caller goes away). Guarded like the
   * actions: logs may carry what the workload prints, secrets included.
   */
  .get("/v1/deployments/:id/logs", async (c) => {
    const follow = booleanParam("follow", c.req.query("follow"));
    const tail = integerParam("tail", c.req.query("tail"), { min: 0, max: 1_000_000 });
    const stream = await c.var.source.logs(c.req.param("id"), { component: c.req.query("component") || undefined, follow, tail, signal: c.req.raw.signal });
    // A quiet workload must not have its stream cut by the server's idle timeout.
    if (follow) c.env?.peer?.streaming?.();
    return c.body(stream, 200, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  });
