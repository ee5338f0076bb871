/**
 * What an rc3 client sends (the rc.3 workload-management API): deployment
 * status (POST /api/v1/deployments/{deploymentId}/status: 201 the first time
 * for a deployment, 200 after) and device capabilities (PUT 201 created / 200
 * updated, DELETE 204 when decommissioned; there is no POST). The client is
 * its SPIFFE ID (rc3/guard.ts). deviceId may hold '/': a child device behind
 * a gateway, which this client must have registered first (404
 * gateway-not-found otherwise).
 */
import type { Context, Hono } from "hono";
import { parseJsonExact } from "../../protocol/exact-json.ts";
import type { DevWfmContext } from "../context.ts";
import { faultResponse } from "../http.ts";
import type { DevCapabilities, DevReport } from "../types.ts";
import { checkBody, DEVICE_ID, describeErrors, Rc3CapabilitiesSchema, Rc3StatusSchema } from "./bodies.ts";
import { peerOf } from "./guard.ts";
import { margoProblem } from "./problems.ts";

const CAPABILITIES_PREFIX = "/api/v1/capabilities/";

/** The body as JSON (integers exact), or a 400 invalid-request response. */
async function readBody(c: Context, exact: boolean): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const text = await c.req.text();
  try {
    return { ok: true, value: exact ? parseJsonExact(text) : JSON.parse(text) };
  } catch (err) {
    return { ok: false, response: margoProblem(c, "invalidRequest", `the body is not JSON: ${(err as Error).message}`) };
  }
}

/** The deviceId of a capabilities path, taken raw (it may hold '/'), or a 400 response. */
function deviceIdOf(c: Context): { ok: true; deviceId: string } | { ok: false; response: Response } {
  const raw = new URL(c.req.url).pathname.slice(CAPABILITIES_PREFIX.length);
  if (!DEVICE_ID.test(raw)) {
    return { ok: false, response: margoProblem(c, "invalidRequest", `deviceId ${JSON.stringify(raw)} is not a device id: segments of A-Z a-z 0-9 . _ ~ - separated by '/'`) };
  }
  return { ok: true, deviceId: raw };
}

export function registerRc3Reports(app: Hono, ctx: DevWfmContext): void {
  const { log } = ctx;
  const rc3 = ctx.rc3!;

  app.post("/api/v1/deployments/:deploymentId/status", async (c) => {
    const fault = faultResponse(c, ctx.faults.status, "status");
    if (fault) return fault;
    const client = peerOf(c).spiffeId.id;
    const deploymentId = c.req.param("deploymentId");
    const read = await readBody(c, true);
    if (!read.ok) return read.response;
    const checked = checkBody(Rc3StatusSchema, read.value);
    const refuse = (errors: { field: string; message: string }[]) => {
      log.info({ clientId: client, deploymentId, reason: describeErrors(errors) }, "status report refused (422)");
      return margoProblem(c, "semanticError", `invalid DeploymentStatusManifest: ${describeErrors(errors)}`, { errors });
    };
    if (!checked.ok) return refuse(checked.errors);
    const body = checked.value;
    if (body.deploymentId !== deploymentId) {
      return refuse([{ field: "deploymentId", message: `${JSON.stringify(body.deploymentId)} differs from the deployment in the path (${JSON.stringify(deploymentId)})` }]);
    }
    if (body.adoptedManifestVersion > BigInt(ctx.manifestVersion())) {
      return refuse([{ field: "adoptedManifestVersion", message: `${body.adoptedManifestVersion} was never served by this WFM (its latest is ${ctx.manifestVersion()})` }]);
    }
    // Recorded as received, with integers as numbers again (the values are far below 2^53 here).
    const received = JSON.parse(JSON.stringify(read.value, (_k, x) => (typeof x === "bigint" ? Number(x) : x))) as unknown;
    const report: DevReport = { index: ctx.reports.length, clientId: client, deploymentId, receivedAt: ctx.iso(), body: received };
    ctx.reports.push(report);
    log.info(
      {
        clientId: client,
        deploymentId,
        deviceId: body.deviceId,
        state: body.status.state,
        components: body.components.map((x) => `${x.name}=${x.state}`).join(","),
        error: body.status.error,
      },
      "status report",
    );
    const key = `${client}\n${deploymentId}`;
    const first = !rc3.statusSeen.has(key);
    rc3.statusSeen.add(key);
    return c.body(null, first ? 201 : 200);
  });

  app.put("/api/v1/capabilities/*", async (c) => {
    const client = peerOf(c).spiffeId.id;
    const path = deviceIdOf(c);
    if (!path.ok) return path.response;
    const { deviceId } = path;
    const read = await readBody(c, false);
    if (!read.ok) return read.response;
    const checked = checkBody(Rc3CapabilitiesSchema, read.value);
    const refuse = (errors: { field: string; message: string }[]) => {
      log.info({ clientId: client, deviceId, reason: describeErrors(errors) }, "capabilities refused (422)");
      return margoProblem(c, "semanticError", `invalid DeviceCapabilitiesManifest: ${describeErrors(errors)}`, { errors });
    };
    if (!checked.ok) return refuse(checked.errors);
    if (checked.value.properties.id !== deviceId) {
      return refuse([{ field: "properties.id", message: `${JSON.stringify(checked.value.properties.id)} differs from the deviceId in the path (${JSON.stringify(deviceId)})` }]);
    }
    const parent = deviceId.includes("/") ? deviceId.slice(0, deviceId.lastIndexOf("/")) : null;
    if (parent !== null && !rc3.devices.has(`${client}\n${parent}`)) {
      return margoProblem(c, "gatewayNotFound", `no gateway ${parent} is registered for ${client}: register the gateway's capabilities first`);
    }
    const key = `${client}\n${deviceId}`;
    const created = !rc3.devices.has(key);
    rc3.devices.set(key, ctx.iso());
    const entry: DevCapabilities = { clientId: client, deviceId, method: "PUT", receivedAt: ctx.iso(), body: read.value };
    ctx.capabilities.push(entry);
    log.info({ clientId: client, deviceId, created }, "capabilities received");
    return c.body(null, created ? 201 : 200);
  });

  app.delete("/api/v1/capabilities/*", (c) => {
    const client = peerOf(c).spiffeId.id;
    const path = deviceIdOf(c);
    if (!path.ok) return path.response;
    const { deviceId } = path;
    const key = `${client}\n${deviceId}`;
    if (!rc3.devices.has(key)) return margoProblem(c, "deviceNotFound", `no device ${deviceId} is registered for ${client}`);
    // Decommissioning a gateway takes the devices behind it along.
    for (const k of [...rc3.devices.keys()]) if (k === key || k.startsWith(`${key}/`)) rc3.devices.delete(k);
    ctx.capabilities.push({ clientId: client, deviceId, method: "DELETE", receivedAt: ctx.iso(), body: null });
    log.info({ clientId: client, deviceId }, "device decommissioned");
    return c.body(null, 204);
  });
}
