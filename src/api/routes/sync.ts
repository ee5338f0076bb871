import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";

/** Polls now. 200 whatever the outcome (it is in the body); the WFM being down is not an API error. */
export const syncRoutes = new Hono<ApiEnv>().post("/v1/sync", async (c) => c.json(await c.var.source.sync()));
