import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";

export const journalRoutes = new Hono<ApiEnv>().get("/v1/journal", (c) => c.json(c.var.source.journal()));
