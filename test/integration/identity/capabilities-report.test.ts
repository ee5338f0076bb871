import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { CAPABILITIES_META, collectCapabilities, reportCapabilities, type DeviceCapabilitiesManifest } from "../../../src/capabilities/index.ts";
import { onboard } from "../../../src/onboarding/index.ts";
import { assertValid } from "../../support/openapi.ts";
import { captureLog, fakeRuntime, removeTempDirs, testConfig } from "../../unit/identity-integration/helpers.ts";
import { startFakeWfm, type FakeWfm } from "./fake-wfm.ts";
import { device, type Device } from "./setup.ts";

let wfm: FakeWfm | undefined;
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
});
afterAll(removeTempDirs);

async function onboarded(w: FakeWfm): Promise<{ d: Device; clientId: string }> {
  const d = await device(w.url);
  const { clientId } = await onboard({ client: d.client, identity: d.identity, log: captureLog().log });
  d.setClientId(clientId);
  return { d, clientId };
}

async function manifest(memory?: string): Promise<DeviceCapabilitiesManifest> {
  const m = await collectCapabilities(testConfig(["device.id=dev-1", "device.vendor=ACME", "device.modelNumber=M1", "device.serialNumber=S1"]), fakeRuntime("podman", () => ["compose"]));
  if (memory) m.properties.memory = memory;
  return m;
}

describe("capabilities reports (docs/protocol.md §3)", () => {
  test("POST the first time, nothing while unchanged, PUT when a capability changed", async () => {
    wfm = startFakeWfm();
    const { d, clientId } = await onboarded(wfm);
    const { log } = captureLog();
    const first = await manifest();

    const sent = await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: first, log });
    expect(sent).toMatchObject({ kind: "sent", method: "POST", status: 201 });
    expect(wfm.capabilities).toHaveLength(1);
    expect(wfm.capabilities[0]).toMatchObject({ method: "POST", path: "/api/v1/clients/client-1/capabilities/dev-1", keyId: "client-1" });
    assertValid("DeviceCapabilitiesManifest", wfm.capabilities[0]!.body);

    const before = wfm.requests.length;
    expect((await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest(), log })).kind).toBe("unchanged");
    expect(wfm.requests.length).toBe(before);

    const changed = await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest("1Mi"), log });
    expect(changed).toMatchObject({ kind: "sent", method: "PUT" });
    expect(wfm.capabilities.map((r) => r.method)).toEqual(["POST", "PUT"]);
    expect((wfm.capabilities[1]!.body as DeviceCapabilitiesManifest).properties.memory).toBe("1Mi");
    expect(wfm.rejected).toEqual([]);
    d.store.close();
  });

  test("a WFM with only /clients/{clientId}/capabilities: fall back on 404, then go there directly", async () => {
    wfm = startFakeWfm({ capabilitiesForm: "client" });
    const { d, clientId } = await onboarded(wfm);
    const { log } = captureLog();
    const sent = await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest(), log });
    expect(sent).toMatchObject({ kind: "sent", method: "POST", url: `${wfm.url}/api/v1/clients/client-1/capabilities` });
    expect(d.store.getMeta(CAPABILITIES_META.pathForm)).toBe("client");

    const before = wfm.requests.length;
    await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest("2Mi"), log });
    expect(wfm.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /api/v1/clients/client-1/capabilities"]);
    d.store.close();
  });

  test("a different clientId (re-onboarded) gets a POST again", async () => {
    wfm = startFakeWfm();
    const { d, clientId } = await onboarded(wfm);
    const { log } = captureLog();
    await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest(), log });
    d.store.setMeta(CAPABILITIES_META.clientId, "client-old");
    const again = await reportCapabilities({ client: d.client, store: d.store, clientId, manifest: await manifest(), log });
    expect(again).toMatchObject({ kind: "sent", method: "POST" });
    d.store.close();
  });

  test("a rejected signature is IDENTITY_REJECTED and nothing is remembered", async () => {
    wfm = startFakeWfm();
    const { d } = await onboarded(wfm);
    d.setClientId("client-unknown");
    const error = await reportCapabilities({ client: d.client, store: d.store, clientId: "client-unknown", manifest: await manifest(), log: captureLog().log }).catch((e) => e);
    expect(error.code).toBe("IDENTITY_REJECTED");
    expect(d.store.getMeta(CAPABILITIES_META.digest)).toBeUndefined();
    d.store.close();
  });
});
