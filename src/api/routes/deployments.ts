import { Hono } from "hono";
import type { ApiEnv } from "../env.ts";
import { jsonError } from "../errors.ts";

export const deploymentRoutes = new Hono<ApiEnv>()
  .get("/v1/deployments", (c) => c.json({ deployments: c.var.source.deployments() }))
  .get("/v1/deployments/:id", (c) => {
    const id = c.req.param("id");
    const detail = c.var.source.deployment(id);
    return detail ? c.json(detail) : jsonError(c, 404, "API_NOT_FOUND", `no deployment with id ${JSON.stringify(id)} on this device`);
  });
