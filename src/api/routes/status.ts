import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";

export const statusRoutes = new Hono<ApiEnv>().get("/v1/status", async (c) => c.json(await c.var.source.status()));
