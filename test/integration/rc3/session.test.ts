/**
 * The rc3 session against a real mTLS WFM on loopback (issue 12 items 3, 4):
 * SVID and key from the config's files, the trust bundle from wfm.caFile or
 * discovery, every request mutual TLS pinned to the WFM's SPIFFE ID, and the
 * background tasks (capabilities PUT, SVID rotation, expiry warning, refresh).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import type { TaskContext } from "../../../src/agent/tasks.ts";
import { systemClock } from "../../../src/agent/clock.ts";
import { createRc3Session, rc3Client, type Rc3Session } from "../../../src/bootstrap/rc3-session.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { buildStatusManifest } from "../../../src/protocol/status-manifest.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { DevCa, writeSvidFiles } from "../../../src/trust/index.ts";
import { memoryLogger } from "../../support/agent-harness.ts";
import { assertRc3 } from "../../unit/protocol/rc3-openapi.ts";
import { discoveryDoc, startMis, WEB_CA_PEM } from "../trust/support.ts";
import { clientFiles, startRc3Wfm, TD, WFM_ID, type RealishWfm } from "./support.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

const root = mkdtempSync(join(tmpdir(), "rc3-session-"));
let n = 0;
const fresh = (name: string) => join(root, `${name}-${++n}`);
const ca = DevCa.create({ trustDomain: TD });
const anchors = join(root, "anchors.pem");
writeFileSync(anchors, ca.anchorPem);
const started: { stop(): Promise<void> }[] = [];
const sessions: Rc3Session[] = [];
afterAll(async () => {
  for (const s of sessions) s.close();
  for (const s of started) await s.stop();
});

function config(wfm: { url: string }, files: { certFile: string; keyFile: string }, sets: string[] = []) {
  return loadConfig({
    sets: [`wfm.url=${wfm.url}`, `identity.certFile=${files.certFile}`, `identity.keyFile=${files.keyFile}`, `dataDir=${fresh("data")}`, "device.id=edge-7", "wfm.requestTimeout=5s", ...sets],
  });
}

async function session(cfg: ReturnType<typeof config>, extra: Partial<Parameters<typeof createRc3Session>[0]> = {}) {
  const { log, lines } = memoryLogger();
  const s = await createRc3Session({ config: cfg, platform: bunPlatform, log, ...extra });
  sessions.push(s);
  return { s, lines };
}

const refusal = (p: Promise<unknown>) => agentErrorOf(p);

/** A TaskContext like the Agent's: a real store and runtime, abortable. */
function taskContext(s: Rc3Session, cfg: ReturnType<typeof config>) {
  const abort = new AbortController();
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const store = StateStore.openFile((p) => bunPlatform.openDatabase(p), join(cfg.dataDir, "state.db"), systemClock());
  const { log, lines } = memoryLogger();
  let syncs = 0;
  const ctx: TaskContext = {
    signal: abort.signal,
    client: rc3Client(cfg, s.fetch, s.clientId as () => string),
    store,
    runtime: new SimulatedRuntime({ dataDir: cfg.dataDir }),
    log,
    syncNow: () => void syncs++,
  };
  return { ctx, abort, store, lines, syncs: () => syncs };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe("the rc3 session refuses to start without a usable identity or trust (item 3)", () => {
  const wfm = { url: "https://127.0.0.1:9" };

  test("no identity.certFile: IDENTITY_INVALID naming the key", async () => {
    const cfg = loadConfig({ sets: [`wfm.url=${wfm.url}`, `wfm.caFile=${anchors}`, `dataDir=${fresh("data")}`] });
    const e = await refusal(createRc3Session({ config: cfg, platform: bunPlatform, log: memoryLogger().log }));
    expect([e.code, e.message]).toEqual(["IDENTITY_INVALID", expect.stringContaining("identity.certFile is required")]);
  });

  test("an SVID with two URI SANs, with none, or of the WFM form: IDENTITY_INVALID naming the file", async () => {
    const cases = [
      { uris: [`spiffe://${TD}/margo/wfm/${WFM_ID}/client/a`, `spiffe://${TD}/margo/wfm/${WFM_ID}/client/b`], says: "URI SAN" },
      { uris: [], says: "URI SAN" },
      { uris: [`spiffe://${TD}/margo/wfm/${WFM_ID}`], says: "not a client's" },
    ];
    for (const c of cases) {
      const files = await writeSvidFiles(fresh("bad"), ca.issueClientSvid(WFM_ID, "x", { uris: c.uris }));
      const e = await refusal(createRc3Session({ config: config(wfm, files, [`wfm.caFile=${anchors}`]), platform: bunPlatform, log: memoryLogger().log }));
      expect(e.code).toBe("IDENTITY_INVALID");
      expect(e.message).toContain(files.certFile);
      expect(e.message).toContain(c.says);
    }
  });

  test("no trust source: TRUST_BUNDLE_MISSING; a bundle with no X.509 anchor: TRUST_BUNDLE_INVALID; plain http: CONFIG_INVALID", async () => {
    const files = await clientFiles(ca, fresh("client"));
    expect((await refusal(createRc3Session({ config: config(wfm, files), platform: bunPlatform, log: memoryLogger().log }))).code).toBe("TRUST_BUNDLE_MISSING");
    const empty = join(root, "jwt-only.json");
    writeFileSync(empty, JSON.stringify({ keys: [{ use: "jwt-svid", kty: "EC", crv: "P-256", x: "a", y: "b" }], spiffe_sequence: 1 }));
    expect((await refusal(createRc3Session({ config: config(wfm, files, [`wfm.caFile=${empty}`]), platform: bunPlatform, log: memoryLogger().log }))).code).toBe("TRUST_BUNDLE_INVALID");
    const http = loadConfig({ sets: ["wfm.url=http://127.0.0.1:9", "wfm.allowInsecureHttp=true", `identity.certFile=${files.certFile}`, `identity.keyFile=${files.keyFile}`, `wfm.caFile=${anchors}`, `dataDir=${fresh("d")}`] });
    expect((await refusal(createRc3Session({ config: http, platform: bunPlatform, log: memoryLogger().log }))).code).toBe("CONFIG_INVALID");
  });
});

describe("every request is mutual TLS pinned to the WFM's SPIFFE ID (items 3, 5)", () => {
  test("manifest, artifacts, status and capabilities under a path prefix; the WFM sees the client's SPIFFE ID; bodies valid rc.3", async () => {
    const wfm = await startRc3Wfm(ca, { prefix: "/v1alpha2/margo" });
    started.push(wfm);
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(wfm, files, [`wfm.caFile=${anchors}`, "device.labels={example.com/site: plant-7}"]);
    const { s } = await session(cfg);
    expect(s.clientId()).toBe(`spiffe://${TD}/margo/wfm/${WFM_ID}/client/device-7`);
    expect(s.describe()).toMatchObject({ profile: "rc3", id: s.clientId(), warnings: [] });
    expect(s.config.wfm.caFile).toBeNull(); // the bundle is never a CA for package servers

    const { ctx, abort, store } = taskContext(s, cfg);
    const client = ctx.client;
    expect((await client.getManifest(undefined, 1 << 20)).kind).toBe("manifest");
    const status = buildStatusManifest({ deploymentId: "d-1", manifestVersion: 1n, components: [{ name: "app", state: "installed" }] }, s.statusFormat);
    assertRc3("DeploymentStatusManifest", JSON.parse(status));
    expect((await client.postStatus("d-1", status)).kind).toBe("accepted");

    // The capabilities task: a PUT at start (201), valid rc.3, with the labels.
    const task = s.tasks.find((t) => t.name === "capabilities")!;
    const running = task.run(ctx);
    await until("the capabilities PUT", () => wfm.capabilities.has("edge-7"));
    abort.abort();
    await running;
    const put = JSON.parse(wfm.capabilities.get("edge-7")!);
    assertRc3("DeviceCapabilitiesManifest", put);
    expect(put.labels).toEqual({ "example.com/site": "plant-7" });
    expect(put.properties.id).toBe("edge-7");
    store.close();

    const paths = wfm.seen.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual(["GET /api/v1/deployments", "POST /api/v1/deployments/d-1/status", "PUT /api/v1/capabilities/edge-7"]);
    expect([...new Set(wfm.seen.map((r) => r.client))]).toEqual([s.clientId()!]);
    // TLS 1.3 whenever the WFM offers it (1.2 only as the fallback).
    expect([...new Set(wfm.seen.map((r) => r.tls))]).toEqual(["TLSv1.3"]);
    // No clientId and no signature headers anywhere in rc3.
    for (const r of wfm.seen) {
      expect(r.path).not.toContain("clients");
      expect(r.headers["signature-input"]).toBeUndefined();
    }
    // One pooled connection for all of them (one handshake, one identity check).
    expect(s.connector.sessionsOpened).toBe(1);
  });

  test("capabilities: a PUT at every start (the WFM may have lost them), then only when the body changes", async () => {
    const wfm = await startRc3Wfm(ca);
    started.push(wfm);
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(wfm, files, [`wfm.caFile=${anchors}`]);
    const { s } = await session(cfg, { capabilitiesIntervalMs: 20 });
    const task = s.tasks.find((t) => t.name === "capabilities")!;
    for (let run = 0; run < 2; run++) {
      const { ctx, abort, store } = taskContext(s, cfg);
      const before = wfm.seen.length;
      const running = task.run(ctx);
      // Several checks (every 20 ms) while the body stays the same: one PUT per start.
      await Bun.sleep(150);
      abort.abort();
      await running;
      store.close();
      expect(wfm.seen.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /api/v1/capabilities/edge-7"]);
    }
    // The engine goes away mid-run: the body changes (no hosting fields), so the next check PUTs it (200: updated).
    const { ctx, abort, store } = taskContext(s, cfg);
    let engine = true;
    const real = ctx.runtime;
    ctx.runtime = new Proxy(real, { get: (t, k) => (k === "supportedProfiles" ? async () => (engine ? t.supportedProfiles() : []) : Reflect.get(t, k)) });
    const before = wfm.seen.length;
    const running = task.run(ctx);
    await until("the start PUT", () => wfm.seen.length === before + 1);
    engine = false;
    await until("the PUT of the changed body", () => wfm.seen.length === before + 2);
    abort.abort();
    await running;
    store.close();
    const changed = JSON.parse(wfm.capabilities.get("edge-7")!);
    expect(changed.properties.supportedDeploymentTypes).toBeUndefined();
    assertRc3("DeviceCapabilitiesManifest", changed);
  });

  test("a WFM whose certificate names another wfm-id is refused by the agent (WFM_IDENTITY_MISMATCH), nothing reaches its handler", async () => {
    const other = await startRc3Wfm(ca, { svid: ca.issueWfmSvid("wfm-2"), wfmId: "wfm-2" });
    started.push(other);
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(other, files, [`wfm.caFile=${anchors}`]);
    const { s } = await session(cfg);
    const client = rc3Client(cfg, s.fetch, s.clientId as () => string);
    const e = await refusal(client.getManifest(undefined, 1 << 20));
    expect(e.code).toBe("WFM_IDENTITY_MISMATCH");
    expect(e.message).toContain(`spiffe://${TD}/margo/wfm/wfm-2`);
    expect(other.seen).toHaveLength(0);
  });

  test("a WFM whose certificate chains to no anchor of the bundle is refused (the system store is never asked)", async () => {
    const stranger = DevCa.create({ trustDomain: TD });
    const wfm = await startRc3Wfm(stranger);
    started.push(wfm);
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(wfm, files, [`wfm.caFile=${anchors}`]);
    const { s } = await session(cfg);
    const e = await refusal(rc3Client(cfg, s.fetch, s.clientId as () => string).getManifest(undefined, 1 << 20));
    expect(e.code).toBe("WFM_UNREACHABLE");
    expect(wfm.seen).toHaveLength(0);
  });

  test("wfm.caFile as a SPIFFE bundle (JWK set) works too, and a new anchor set in the file is used without a restart", async () => {
    const rotated = DevCa.create({ trustDomain: TD });
    const wfm = await startRc3Wfm(ca);
    started.push(wfm);
    const bundleFile = join(fresh("bundle"), "bundle.json");
    await Bun.write(bundleFile, JSON.stringify(ca.spiffeBundle({ sequence: 1 })));
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(wfm, files, [`wfm.caFile=${bundleFile}`]);
    const { s } = await session(cfg, { bundleFilePollMs: 10 });
    const client = rc3Client(cfg, s.fetch, s.clientId as () => string);
    expect((await client.getManifest(undefined, 1 << 20)).kind).toBe("manifest");
    const { ctx, abort, store } = taskContext(s, cfg);
    const running = s.tasks.find((t) => t.name === "trust-bundle-file")!.run(ctx);
    // A half-written file is refused; the anchors in use stay.
    await Bun.write(bundleFile, '{"keys": [');
    await until("the refused change", () => s.describe().warnings.some((w) => w.includes("not valid JSON")));
    expect((await client.getManifest(undefined, 1 << 20)).kind).toBe("manifest");
    // The operator replaces the file with the new CA only: the old WFM no longer verifies.
    await Bun.write(bundleFile, JSON.stringify(rotated.spiffeBundle({ sequence: 2 })));
    await until("the new bundle", () => s.trust.version === 2);
    abort.abort();
    await running;
    store.close();
    expect((await refusal(client.getManifest(undefined, 1 << 20))).code).toBe("WFM_UNREACHABLE");
  });
});

describe("SVID rotation and expiry (item 3)", () => {
  test("an SVID replaced on disk mid-run is used by the next connection, without a restart", async () => {
    const wfm = await startRc3Wfm(ca);
    started.push(wfm);
    const dir = fresh("client");
    const files = await clientFiles(ca, dir);
    const cfg = config(wfm, files, [`wfm.caFile=${anchors}`]);
    const { s, lines } = await session(cfg);
    const client = rc3Client(cfg, s.fetch, s.clientId as () => string);
    await client.getManifest(undefined, 1 << 20);
    const renewed = ca.issueClientSvid(WFM_ID, "device-7");
    await writeSvidFiles(dir, renewed);
    expect(await s.svid.checkNow()).toBe("rotated");
    await client.getManifest(undefined, 1 << 20);
    const prints = wfm.seen.map((r) => r.fingerprint);
    expect(prints[0]).not.toBe(prints[1]);
    expect(prints[1]).toBe(renewed.leaf.fingerprint256.replace(/:/g, "").toLowerCase());
    expect(s.connector.sessionsOpened).toBe(2);
    expect(lines().some((l) => l.msg === "SVID rotated; new connections use it")).toBe(true);
  });

  test("an SVID near its notAfter is shown (describe) and logged (SVID_EXPIRING) ahead of time", async () => {
    const hour = 3_600_000;
    // 50 of 60 minutes used: past two thirds of its life, 10 minutes left.
    const files = await clientFiles(ca, fresh("client"), "device-7", { now: Date.now() - 50 * 60_000, validityMs: hour });
    const cfg = config({ url: "https://127.0.0.1:9" }, files, [`wfm.caFile=${anchors}`, "identity.expiryWarning=1d"]);
    const { s, lines } = await session(cfg);
    expect(s.describe().warnings.join("\n")).toContain("SVID_EXPIRING: the SVID expires at");
    const warned = lines().find((l) => l.code === "SVID_EXPIRING");
    expect(warned).toMatchObject({ level: "warn", spiffeId: s.clientId() });
    expect(warned!.remainingSeconds as number).toBeLessThan(11 * 60);
  });
});

describe("the trust bundle from discovery (item 4)", () => {
  test("nothing is sent before a bundle (TRUST_BUNDLE_MISSING); discovery brings it and asks for a poll; it is cached and kept while the MIS is down", async () => {
    const wfm = await startRc3Wfm(ca);
    started.push(wfm);
    const mis = await startMis();
    started.push(mis);
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = ca.spiffeBundle({ sequence: 5, refreshHintSeconds: 600 });
    const misCa = join(root, "web-ca.pem");
    writeFileSync(misCa, WEB_CA_PEM);
    const files = await clientFiles(ca, fresh("client"));
    const cfg = config(wfm, files, [`wfm.trustDiscovery=${mis.url}`, `wfm.trustDiscoveryCaFile=${misCa}`]);
    const { s } = await session(cfg);
    const client = rc3Client(cfg, s.fetch, s.clientId as () => string);
    // No trust on first use: before discovery answered, nothing reaches the WFM.
    expect((await refusal(client.getManifest(undefined, 1 << 20))).code).toBe("TRUST_BUNDLE_MISSING");
    expect(wfm.seen).toHaveLength(0);
    expect(s.describe().warnings.join("\n")).toContain("no trust bundle yet");

    const { ctx, abort, store, syncs } = taskContext(s, cfg);
    const running = s.tasks.find((t) => t.name === "trust-bundle-refresh")!.run(ctx);
    await until("the bundle and the poll it asks for", () => syncs() === 1);
    expect(s.trust.current()?.bundle.sequence).toBe(5n);
    expect((await client.getManifest(undefined, 1 << 20)).kind).toBe("manifest");
    expect(mis.requests.map((r) => r.path)).toEqual(["/.well-known/margo", "/bundle.json"]);
    abort.abort();
    await running;
    store.close();

    // A restart while the MIS is unreachable: the cached bundle (data dir) is used at once.
    await mis.stop();
    const { s: again } = await session(cfg);
    expect(again.trust.current()?.bundle.sequence).toBe(5n);
    expect((await rc3Client(cfg, again.fetch, again.clientId as () => string).getManifest(undefined, 1 << 20)).kind).toBe("manifest");
  });
});
