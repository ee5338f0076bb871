/**
 * What an rc3 client sends, over real mutual TLS: status reports and
 * capabilities. Accepted bodies are rc.3-valid (checked with ajv against the
 * OpenAPI document); malformed ones, and the rc.2 shapes, get problem+json
 * that is itself rc.3 ProblemDetail, naming the field.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { assertValidRc3, validateAgainstSchemaRc3 } from "../../support/openapi.ts";
import { writeFile } from "./helpers.ts";
import { postJson, rc3Client, rc3Deployment, rc3Env, rc3Status, rejection, startRc3, MANIFEST_TYPE, type Rc3Client, type Rc3Env } from "./rc3-helpers.ts";

let env: Rc3Env;
let wfm: StartedDevWfm;
let client: Rc3Client;
let other: Rc3Client;

beforeAll(async () => {
  env = rc3Env();
  writeFile(env.dir, "a.yaml", rc3Deployment("d1"));
  wfm = await startRc3(env);
  client = await rc3Client(wfm, env, "device-1");
  other = await rc3Client(wfm, env, "device-2");
  // The manifest is served once, so manifestVersion 1 exists.
  expect((await client.fetch("/api/v1/deployments", { headers: { Accept: MANIFEST_TYPE } })).status).toBe(200);
});
afterAll(async () => {
  await wfm.stop();
  env.cleanup();
});
beforeEach(() => wfm.setFaults({}));

const status = (body: unknown, id = "d1", who = client) => postJson(who, `/api/v1/deployments/${id}/status`, body);
const capabilities = (deviceId: string, body: unknown, method = "PUT", who = client) => postJson(who, `/api/v1/capabilities/${deviceId}`, body, method);

function capabilitiesBody(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    properties: {
      id,
      vendor: "Acme",
      modelNumber: "X1",
      serialNumber: "SN-1",
      cpus: [{ cores: 4, architecture: "arm64" }],
      memory: "3814Mi",
      storage: "29Gi",
      interfaces: [{ type: "ethernet" }],
      otelCollector: false,
      supportedRuntimes: ["oci"],
      supportedDeploymentTypes: ["compose"],
    },
    labels: { site: "plant-a", line: 3, critical: true, zones: ["a", "b"] },
    ...extra,
  };
}

async function problemOf(res: Response): Promise<{ type: string; status: number; detail: string; errors?: Array<{ field: string; message: string }> }> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { type: string; status: number; detail: string; errors?: Array<{ field: string; message: string }> };
  assertValidRc3("ProblemDetail", body);
  return body;
}

describe("POST /api/v1/deployments/{deploymentId}/status", () => {
  test("an rc.3 body is accepted, 201 the first time and 200 after, recorded under the client's SPIFFE ID", async () => {
    const pending = rc3Status("d1", "pending", { deviceId: "edge-01/child-7" });
    assertValidRc3("DeploymentStatusManifest", pending);
    expect((await status(pending)).status).toBe(201);
    const failed = rc3Status("d1", "failed", {
      status: { state: "failed", error: { code: "COMPONENT_EXITED", source: "app-d1", message: "exited 1" } },
      components: [{ name: "web", state: "failed", error: { code: "COMPONENT_EXITED", source: "web", message: "exited 1" } }],
    });
    assertValidRc3("DeploymentStatusManifest", failed);
    expect((await status(failed)).status).toBe(200);
    // Another client's first report for the same deployment is its own 201.
    expect((await status(rc3Status("d1", "installed"), "d1", other)).status).toBe(201);
    const reports = wfm.reports();
    expect(reports.map((r) => [r.clientId, r.deploymentId, (r.body as { status: { state: string } }).status.state])).toEqual([
      [client.spiffeId, "d1", "pending"],
      [client.spiffeId, "d1", "failed"],
      [other.spiffeId, "d1", "installed"],
    ]);
    expect(reports[0]!.body).toEqual(pending);
    expect(client.spiffeId).toBe("spiffe://margo-dev.local/margo/wfm/dev-wfm/client/device-1");
  });

  test("refused with 422 semantic-error naming the field: the rc.2 shape, missing fields, a wrong state, a deploymentId other than the path's, a version never served", async () => {
    const cases: Array<[unknown, string]> = [
      [{ apiVersion: "deployment.margo.org/v1alpha1", kind: "DeploymentStatusManifest", ...rc3Status("d1", "installed") }, "apiVersion"],
      [(({ adoptedManifestVersion: _, ...rest }) => rest)(rc3Status("d1", "installed")), "adoptedManifestVersion"],
      [rc3Status("d1", "running"), "status.state"],
      [rc3Status("d1", "installed", { components: [{ name: "web", state: "Installed" }] }), "components.0.state"],
      [rc3Status("d1", "installed", { adoptedManifestVersion: 1.5 }), "adoptedManifestVersion"],
      [rc3Status("d1", "installed", { deviceId: "edge 01" }), "deviceId"],
      [rc3Status("d1", "installed", { extra: true }), "extra"],
      [rc3Status("d2", "installed"), "deploymentId"],
      [rc3Status("d1", "installed", { adoptedManifestVersion: 7 }), "adoptedManifestVersion"],
    ];
    for (const [body, field] of cases) {
      const res = await status(body);
      expect({ field, status: res.status }).toEqual({ field, status: 422 });
      const problem = await problemOf(res);
      expect(problem.type).toBe("https://docs.margo.org/specification/problem-types#semantic-error");
      expect(problem.errors?.map((e) => e.field)).toContain(field);
    }
    const notJson = await status("{not json");
    expect(notJson.status).toBe(400);
    expect((await problemOf(notJson)).type).toBe("https://docs.margo.org/specification/problem-types#invalid-request");
    // Nothing of that was recorded.
    expect(wfm.reports().filter((r) => r.body && (r.body as { status: { state: string } }).status.state === "running")).toEqual([]);
  });

  test("fault switches: 503 with Retry-After, 422, down", async () => {
    const before = wfm.reports().length;
    wfm.setFaults({ status: { code: 503, retryAfter: 2 } });
    let res = await status(rc3Status("d1", "installed"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await problemOf(res)).toMatchObject({ status: 503, retryable: true, retryAfterSeconds: 2 } as never);
    wfm.setFaults({ status: { code: 422 } });
    res = await status(rc3Status("d1", "installed"));
    expect((await problemOf(res)).type).toBe("https://docs.margo.org/specification/problem-types#semantic-error");
    wfm.setFaults({ status: "down" });
    expect((await rejection(status(rc3Status("d1", "installed")).then((r) => r.text()))).code).toBe("ECONNRESET");
    expect(wfm.reports().length).toBe(before);
  });
});

describe("PUT and DELETE /api/v1/capabilities/{deviceId}", () => {
  test("201 created, 200 updated, a child device after its gateway, 204 on decommissioning, then 404 device-not-found", async () => {
    const gateway = capabilitiesBody("gw-1");
    assertValidRc3("DeviceCapabilitiesManifest", gateway);
    expect((await capabilities("gw-1", gateway)).status).toBe(201);
    expect((await capabilities("gw-1", gateway)).status).toBe(200);

    const child = capabilitiesBody("gw-1/sensor-7");
    assertValidRc3("DeviceCapabilitiesManifest", child);
    const orphan = await capabilities("gw-2/sensor-7", capabilitiesBody("gw-2/sensor-7"));
    expect(orphan.status).toBe(404);
    expect((await problemOf(orphan)).type).toBe("https://docs.margo.org/specification/problem-types#gateway-not-found");
    expect((await capabilities("gw-1/sensor-7", child)).status).toBe(201);
    // Devices are per client: another client has not registered gw-1.
    expect((await capabilities("gw-1/sensor-8", capabilitiesBody("gw-1/sensor-8"), "PUT", other)).status).toBe(404);

    const received = wfm.capabilities().filter((c) => c.clientId === client.spiffeId);
    expect(received.map((c) => [c.method, c.deviceId])).toEqual([
      ["PUT", "gw-1"],
      ["PUT", "gw-1"],
      ["PUT", "gw-1/sensor-7"],
    ]);
    for (const c of received) assertValidRc3("DeviceCapabilitiesManifest", c.body);

    expect((await client.fetch("/api/v1/capabilities/gw-1", { method: "DELETE" })).status).toBe(204);
    // The gateway took its child along.
    for (const id of ["gw-1", "gw-1/sensor-7"]) {
      const gone = await client.fetch(`/api/v1/capabilities/${id}`, { method: "DELETE" });
      expect(gone.status).toBe(404);
      expect((await problemOf(gone)).type).toBe("https://docs.margo.org/specification/problem-types#device-not-found");
    }
    // There is no POST in rc.3.
    expect((await capabilities("gw-1", gateway, "POST")).status).toBe(404);
  });

  test("the rc.2 body (apiVersion, kind, cpu) and other mistakes are refused with 422 naming the field; a bad deviceId in the path with 400", async () => {
    const rc2 = {
      apiVersion: "device.margo.org/v1alpha1",
      kind: "DeviceCapabilitiesManifest",
      properties: { ...(capabilitiesBody("dev-9").properties as object), cpus: undefined, cpu: [{ cores: 2, architecture: "amd64" }] },
    };
    // The OpenAPI document refuses it too (additionalProperties: false at the top).
    expect(validateAgainstSchemaRc3("DeviceCapabilitiesManifest", JSON.parse(JSON.stringify(rc2))).valid).toBe(false);
    let res = await capabilities("dev-9", rc2);
    expect(res.status).toBe(422);
    let problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(["apiVersion", "kind", "properties.cpu"]));
    expect(problem.detail).toContain("cpus");

    for (const [body, field] of [
      [capabilitiesBody("dev-9", { labels: { bad: { nested: 1 } } }), "labels.bad"],
      [{ properties: { ...(capabilitiesBody("dev-9").properties as object), memory: "4 GB" } }, "properties.memory"],
      [{ properties: { ...(capabilitiesBody("dev-9").properties as object), supportedRuntimes: [] } }, "properties.supportedRuntimes"],
      [capabilitiesBody("dev-8"), "properties.id"],
    ] as const) {
      res = await capabilities("dev-9", body);
      expect({ field, status: res.status }).toEqual({ field, status: 422 });
      problem = await problemOf(res);
      expect(problem.errors?.map((e) => e.field)).toContain(field);
    }
    for (const bad of ["dev%209", "dev-9/", "a//b"]) {
      res = await capabilities(bad, capabilitiesBody("dev-9"));
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect((await problemOf(res)).type).toBe("https://docs.margo.org/specification/problem-types#invalid-request");
    }
  });
});
