import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "../metrics.ts";

export const metricsRoutes = new Hono<ApiEnv>().get("/metrics", (c) =>
  c.body(renderMetrics(c.var.source.metrics()), 200, { "content-type": METRICS_CONTENT_TYPE }),
);
