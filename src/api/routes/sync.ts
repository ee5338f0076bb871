import { Hono } from "hono";
import { DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, waitAtMost } from "../bounded-wait.ts";
import type { ApiEnv } from "../env.ts";
import { booleanParam, integerParam } from "../query.ts";

/**
 * Polls now. 200 whatever the outcome (it is in the body); the WFM being down is
 * not an API error. A sync still running after ?wait= seconds (default 60)
 * answers 202 with outcome "running" and goes on. ?force=true overrides
 * workloads' update locks for this sync.
 */
export const syncRoutes = new Hono<ApiEnv>().post("/v1/sync", async (c) => {
  const wait = integerParam("wait", c.req.query("wait"), { min: 0, max: MAX_WAIT_SECONDS }) ?? DEFAULT_WAIT_SECONDS;
  const force = booleanParam("force", c.req.query("force"));
  const started = performance.now();
  const result = await waitAtMost(c.var.source.sync({ force }), wait);
  if (result) return c.json(result);
  return c.json({ outcome: "running", manifestVersion: null, error: null, steps: [], durationMs: Math.round(performance.now() - started) }, 202);
});
