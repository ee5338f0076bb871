import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { createV1Session, type V1Session, wfmFetch } from "../../../src/bootstrap/v1-session.ts";
import { silentLogger } from "../../../src/log.ts";
import type { WfmClient as Client } from "../../../src/protocol/wfm-client.ts";
import type { StateStore } from "../../../src/store/state-store.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";
import { TOFU_CA_FILE } from "../../../src/onboarding/index.ts";
import { loadOrCreateIdentity } from "../../../src/identity/index.ts";
import { captureLog, fakeRuntime, removeTempDirs, tempDir, testConfig } from "../../unit/identity-integration/helpers.ts";
import { startFakeWfm, type FakeWfm } from "./fake-wfm.ts";
import { openStore } from "./setup.ts";

let wfm: FakeWfm | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await wfm?.stop();
  wfm = undefined;
});
afterAll(removeTempDirs);

const FAST = { baseMs: 1, capMs: 5 };

/** Runs the session's background task the way the Agent does (src/agent/agent.ts startTask). */
function runTasks(session: V1Session, ctx: { client: Client; store: StateStore; runtime: ReturnType<typeof fakeRuntime>; signal?: AbortSignal; syncNow?: () => void }): void {
  for (const task of session.tasks) {
    void task.run({ client: ctx.client, store: ctx.store, runtime: ctx.runtime, signal: ctx.signal ?? new AbortController().signal, log: silentLogger, syncNow: ctx.syncNow ?? (() => {}) });
  }
}

/** What the bootstrap does: open the store, create the session, build the client with its signer; the Agent runs its task. */
async function agentLike(w: FakeWfm, sets: string[] = [], profiles: () => string[] = () => ["compose"]) {
  const dataDir = tempDir("margo-data-");
  const config = testConfig([`wfm.url=${w.url}`, "wfm.allowInsecureHttp=true", `dataDir=${dataDir}`, "device.id=dev-1", ...sets]);
  const { log, lines } = captureLog();
  const store = openStore(dataDir);
  const prepared = await createV1Session({ config, platform: bunPlatform, log, store, onboardingBackoff: FAST, capabilitiesRetry: FAST, capabilitiesIntervalMs: 3_600_000 });
  const client = new WfmClient({
    baseUrl: w.url,
    clientId: prepared.clientId,
    fetch: wfmFetch(bunPlatform, prepared.caFile),
    signer: prepared.signer,
    requestTimeoutMs: 5000,
    userAgent: "margo-agent/test",
  });
  let syncs = 0;
  const stop = new AbortController();
  cleanups.push(() => {
    stop.abort();
    store.close();
  });
  const start = async () => runTasks(prepared, { client, store, runtime: fakeRuntime("podman", profiles), signal: stop.signal, syncNow: () => syncs++ });
  return { prepared, store, client, dataDir, lines, start, syncs: () => syncs };
}

describe("the v1 session: identity, CA and the background task the agent runs", () => {
  test("first boot: key 0600 generated, pending then approved, clientId persisted, capabilities POSTed, first poll triggered", async () => {
    wfm = startFakeWfm({ pendingFor: 1 });
    const a = await agentLike(wfm);
    expect(a.prepared.identity.generated).toBe(true);
    expect(statSync(a.prepared.identity.keyFile).mode & 0o777).toBe(0o600);
    expect(a.prepared.identity.keyFile.startsWith(a.dataDir)).toBe(true);
    expect(a.prepared.clientId()).toBeUndefined();
    expect(a.prepared.caFile).toBeNull();

    await a.start();
    await a.prepared.settled();
    expect(a.prepared.clientId()).toBe("client-1");
    expect(a.store.getMeta("clientId")).toBe("client-1");
    expect(a.syncs()).toBe(1);
    expect(wfm.capabilities.map((r) => `${r.method} ${r.keyId}`)).toEqual(["POST client-1"]);
    expect(wfm.rejected).toEqual([]);
    // Key material never reaches a log line.
    const pem = readFileSync(a.prepared.identity.keyFile, "utf8").split("\n")[1]!;
    expect(JSON.stringify(a.lines())).not.toContain(pem);
  });

  test("an engine that appears later: the next check PUTs, an unchanged one sends nothing", async () => {
    wfm = startFakeWfm();
    let profiles: string[] = [];
    const a = await agentLike(wfm, [], () => profiles);
    await a.start();
    await a.prepared.settled();
    expect(wfm.capabilities).toHaveLength(1);
    expect((wfm.capabilities[0]!.body as { properties: Record<string, unknown> }).properties.supportedDeploymentTypes).toBeUndefined();
    expect(a.lines().some((l) => l.code === "ENGINE_NOT_FOUND")).toBe(true);

    profiles = ["compose"];
    await a.prepared.checkCapabilities();
    expect(wfm.capabilities.map((r) => r.method)).toEqual(["POST", "PUT"]);
    expect((wfm.capabilities[1]!.body as { properties: Record<string, unknown> }).properties.supportedDeploymentTypes).toEqual(["compose"]);

    const before = wfm.requests.length;
    await a.prepared.checkCapabilities();
    expect(wfm.requests.length).toBe(before);
  });

  test("a restart reuses the identity and the stored clientId: no onboarding, nothing unchanged re-sent", async () => {
    wfm = startFakeWfm();
    const dataDir = tempDir("margo-data-");
    const config = testConfig([`wfm.url=${wfm.url}`, "wfm.allowInsecureHttp=true", `dataDir=${dataDir}`, "device.id=dev-1"]);
    for (let boot = 0; boot < 2; boot++) {
      const store = openStore(dataDir);
      const prepared = await createV1Session({ config, platform: bunPlatform, log: captureLog().log, store, onboardingBackoff: FAST, capabilitiesIntervalMs: 3_600_000 });
      if (boot === 1) {
        expect(prepared.identity.generated).toBe(false);
        // With the store given up front, the stored clientId signs from the very first request.
        expect(prepared.clientId()).toBe("client-1");
      }
      const client = new WfmClient({ baseUrl: wfm.url, clientId: prepared.clientId, fetch: wfmFetch(bunPlatform, null), signer: prepared.signer, requestTimeoutMs: 5000, userAgent: "t" });
      const stop = new AbortController();
      runTasks(prepared, { client, store, runtime: fakeRuntime("podman", () => ["compose"]), signal: stop.signal });
      await prepared.settled();
      stop.abort();
      store.close();
    }
    expect(wfm.requests.filter((r) => r.path === "/api/v1/onboarding")).toHaveLength(1);
    expect(wfm.capabilities).toHaveLength(1);
  });

  test("wfm.clientId set: no onboarding; a WFM that rejects it is logged with a code, never thrown", async () => {
    wfm = startFakeWfm();
    const a = await agentLike(wfm, ["wfm.clientId=configured-7"]);
    expect(a.prepared.clientId()).toBe("configured-7");
    await a.start();
    await a.prepared.settled();
    expect(wfm.requests.some((r) => r.path === "/api/v1/onboarding")).toBe(false);
    const failed = a.lines().find((l) => l.code === "IDENTITY_REJECTED");
    expect(String(failed?.msg)).toContain("capabilities report failed");
  });

  test("a provisioned key and certificate (identity.keyFile/certFile) are used as they are", async () => {
    wfm = startFakeWfm();
    const provisioned = await loadOrCreateIdentity({ dir: tempDir("margo-prov-"), deviceId: "dev-1" });
    const a = await agentLike(wfm, [`identity.keyFile=${provisioned.keyFile}`, `identity.certFile=${provisioned.certFile}`]);
    expect(a.prepared.identity.generated).toBe(false);
    expect(a.prepared.identity.thumbprint).toBe(provisioned.thumbprint);
    expect(existsSync(join(a.dataDir, "device-key.pem"))).toBe(false);
  });

  test("trust on first use: only when enabled, once, with a warning; the CA is kept in the data dir", async () => {
    const ca = await loadOrCreateIdentity({ dir: tempDir("margo-ca-"), deviceId: "wfm-root" });
    wfm = startFakeWfm({ rootCa: Buffer.from(ca.certificatePem).toString("base64") });

    const off = await agentLike(wfm);
    expect(off.prepared.caFile).toBeNull();
    expect(wfm.requests.some((r) => r.path === "/api/v1/onboarding/certificate")).toBe(false);

    const on = await agentLike(wfm, ["wfm.trustOnFirstUse=true"]);
    const file = join(on.dataDir, TOFU_CA_FILE);
    expect(on.prepared.caFile).toBe(file);
    expect(on.prepared.config.wfm.caFile).toBe(file);
    expect(readFileSync(file, "utf8")).toBe(ca.certificatePem);
    const warning = on.lines().find((l) => String(l.msg).includes("trustOnFirstUse"));
    expect(warning?.level).toBe("warn");
    expect(warning?.sha256).toEqual([ca.thumbprint]);
    expect(wfm.requests.filter((r) => r.path === "/api/v1/onboarding/certificate")).toHaveLength(1);

    // Second start: the kept CA is used, nothing downloaded.
    const again = await createV1Session({ config: on.prepared.config, platform: bunPlatform, log: captureLog().log, store: on.store });
    expect(again.caFile).toBe(file);
    expect(wfm.requests.filter((r) => r.path === "/api/v1/onboarding/certificate")).toHaveLength(1);
    // The CA download is never signed.
    expect(wfm.requests.find((r) => r.path === "/api/v1/onboarding/certificate")?.keyId).toBeUndefined();
  });

  test("a provisioned caFile is never replaced by a download", async () => {
    wfm = startFakeWfm({ rootCa: "x" });
    const a = await agentLike(wfm, ["wfm.trustOnFirstUse=true", "wfm.caFile=/etc/ssl/certs/ca-certificates.crt"]);
    expect(a.prepared.caFile).toBe("/etc/ssl/certs/ca-certificates.crt");
    expect(wfm.requests.some((r) => r.path === "/api/v1/onboarding/certificate")).toBe(false);
  });
});
