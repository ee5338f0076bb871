/**
 * Status reports and capabilities: what is accepted is recorded in arrival
 * order and visible through the development API; what is malformed gets the
 * 422 problem+json a strict WFM would send.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { assertValid } from "../../support/openapi.ts";
import { postStatus, startIn, statusBody, tempDir } from "./helpers.ts";

let wfm: StartedDevWfm;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  wfm = await startIn(t.dir);
});
afterAll(async () => {
  await wfm.stop();
  cleanup();
});
beforeEach(async () => {
  expect((await fetch(`${wfm.url}/api/dev/reports`, { method: "DELETE" })).status).toBe(204);
});

interface Listed {
  index: number;
  clientId: string;
  deploymentId: string;
  receivedAt: string;
  body: Record<string, unknown>;
}

async function listed(query = ""): Promise<Listed[]> {
  return (await (await fetch(`${wfm.url}/api/dev/reports${query}`)).json()) as Listed[];
}

describe("status reports", () => {
  test("accepted with 200 and recorded in arrival order, body as received", async () => {
    const states = ["pending", "installing", "installed"];
    for (const state of states) expect((await postStatus(wfm, "dev-1", "d1", statusBody("d1", state))).status).toBe(200);
    const failed = statusBody("d2", "failed", {
      status: { state: "failed", error: { code: "COMPONENT_TIMEOUT", source: "app", message: "web did not start" } },
      components: [{ name: "web", state: "failed", error: { code: "COMPONENT_TIMEOUT", message: "timeout" } }],
    });
    assertValid("DeploymentStatusManifest", failed);
    expect((await postStatus(wfm, "dev-2", "d2", failed)).status).toBe(200);

    const all = await listed();
    expect(all.map((r) => [r.index, r.clientId, r.deploymentId, (r.body.status as { state: string }).state])).toEqual([
      [0, "dev-1", "d1", "pending"],
      [1, "dev-1", "d1", "installing"],
      [2, "dev-1", "d1", "installed"],
      [3, "dev-2", "d2", "failed"],
    ]);
    expect(all[3]!.body).toEqual(failed);
    expect(Number.isNaN(Date.parse(all[0]!.receivedAt))).toBe(false);
    expect(wfm.reports()).toHaveLength(4);

    expect((await listed("?clientId=dev-2")).map((r) => r.index)).toEqual([3]);
    expect((await listed("?since=2")).map((r) => r.index)).toEqual([2, 3]);
    expect((await listed("?since=1&clientId=dev-1")).map((r) => r.index)).toEqual([1, 2]);
  });

  test("DELETE clears the list", async () => {
    await postStatus(wfm, "dev-1", "d1", statusBody("d1", "installed"));
    expect(await listed()).toHaveLength(1);
    await fetch(`${wfm.url}/api/dev/reports`, { method: "DELETE" });
    expect(await listed()).toEqual([]);
  });

  test("every kind of malformed report is a 422 with a problem+json body naming the field, and is not recorded", async () => {
    const cases: Array<[string, unknown]> = [
      ["not JSON", "{nope"],
      ["wrong kind", statusBody("d1", "installed", { kind: "Something" })],
      ["wrong apiVersion", statusBody("d1", "installed", { apiVersion: "v1" })],
      ["unknown state", statusBody("d1", "running")],
      ["uppercase state", statusBody("d1", "INSTALLED", { components: [] })],
      ["deploymentId differs from the path", statusBody("other", "installed")],
      ["components missing", { ...statusBody("d1", "installed"), components: undefined }],
      ["components not an array", statusBody("d1", "installed", { components: { web: "installed" } })],
      ["component without name", statusBody("d1", "installed", { components: [{ state: "installed" }] })],
      ["status missing", { ...statusBody("d1", "installed"), status: undefined }],
      ["an array", []],
    ];
    for (const [what, body] of cases) {
      const res = await postStatus(wfm, "dev-1", "d1", body);
      expect({ what, status: res.status }).toEqual({ what, status: 422 });
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = (await res.json()) as { status: number; title: string; detail: string };
      expect(problem.status).toBe(422);
      expect(problem.detail.length).toBeGreaterThan(0);
    }
    expect(await listed()).toEqual([]);
  });
});

describe("capabilities", () => {
  test("POST and PUT, with and without the rc.2 deviceId suffix, answer 201 and are listed", async () => {
    const body = {
      apiVersion: "device.margo.org/v1alpha1",
      kind: "DeviceCapabilitiesManifest",
      properties: { id: "dev-1", vendor: "acme", modelNumber: "m1", serialNumber: "s1" },
    };
    assertValid("DeviceCapabilitiesManifest", body);
    const base = `${wfm.url}/api/v1/clients/dev-1/capabilities`;
    for (const [method, url] of [["POST", base], ["PUT", base], ["POST", `${base}/dev-1`], ["PUT", `${base}/dev-1`]] as const) {
      const res = await fetch(url, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
    }
    const recorded = (await (await fetch(`${wfm.url}/api/dev/capabilities`)).json()) as Array<{ clientId: string; deviceId: string | null; method: string; body: unknown }>;
    expect(recorded.map((r) => [r.method, r.deviceId])).toEqual([
      ["POST", null],
      ["PUT", null],
      ["POST", "dev-1"],
      ["PUT", "dev-1"],
    ]);
    expect(recorded[0]!.body).toEqual(body);
    const bad = await fetch(base, { method: "POST", body: "{}" });
    expect(bad.status).toBe(422);
  });
});
