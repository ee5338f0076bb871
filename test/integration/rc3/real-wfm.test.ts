/**
 * What real WFMs do that the text does not say (issue 12 items 2 and 7), in
 * both profiles, through the real sync, reconciler, journal and sender:
 * - mounted under a path prefix (/v1alpha2/margo) with manifest URLs relative
 *   to it: every route and artifact resolves under the prefix;
 * - an ETag that is the bundle digest, not the body's;
 * - the manifest marked Cache-Control: public, immutable: polling never stops;
 * - 406 unless Accept is exactly application/vnd.margo.manifest.v1+json;
 * - wrong sizeBytes with right digests: accepted;
 * - bundle entries named <deploymentId>.yaml;
 * - status answered 200 {"acknowledgement":"received"}.
 * rc3 over mutual TLS (the rc3 session's fetch), v1 over plain HTTP on
 * loopback (the Agent as it runs today, signing every request).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { systemClock } from "../../../src/agent/clock.ts";
import { createRc3Session, rc3Client, type Rc3Session } from "../../../src/bootstrap/rc3-session.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { Journal } from "../../../src/journal/journal.ts";
import { StatusSender } from "../../../src/journal/sender.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";
import type { ComponentResolver } from "../../../src/reconcile/component-resolver.ts";
import { Reconciler } from "../../../src/reconcile/reconciler.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { DesiredStateSync } from "../../../src/sync/desired-state-sync.ts";
import { DevCa } from "../../../src/trust/index.ts";
import { loadOrCreateIdentity } from "../../../src/identity/load-or-create.ts";
import { createRequestSigner } from "../../../src/identity/request-signer.ts";
import { v1Profile } from "../../../src/protocol/profiles/index.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";
import { drained, makeAgent, memoryLogger } from "../../support/agent-harness.ts";
import { deploymentYaml } from "../api/tiny-wfm.ts";
import { clientFiles, rc3Deployment, startRc3Wfm, startV1Wfm, TD, type RealishWfm } from "./support.ts";

const root = mkdtempSync(join(tmpdir(), "rc3-realwfm-"));
const ca = DevCa.create({ trustDomain: TD });
const anchors = join(root, "anchors.pem");
writeFileSync(anchors, ca.anchorPem);
const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/**
 * Installing OCI components is the OCI work (src/oci), not this test's: the
 * resolver hands the simulated runtime a compose file written here.
 */
function localResolver(dir: string): ComponentResolver {
  return async (_dep, component) => {
    const file = join(dir, `${component.name}.yaml`);
    mkdirSync(dir, { recursive: true });
    const text = "services:\n  app:\n    image: docker.io/library/busybox:1.36\n";
    writeFileSync(file, text);
    return { name: component.name, composeFile: file, packageDigest: sha256Digest(text), env: {}, wait: false, timeoutMs: 60_000 };
  };
}

/** The agent's moving parts for rc3, wired as the Agent wires them, with the rc3 session's client. */
async function rc3Agent(wfm: RealishWfm) {
  const files = await clientFiles(ca, join(root, `client-${stops.length}`));
  const dataDir = join(root, `data-${stops.length}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const config = loadConfig({
    sets: [`wfm.url=${wfm.url}`, `identity.certFile=${files.certFile}`, `identity.keyFile=${files.keyFile}`, `wfm.caFile=${anchors}`, `dataDir=${dataDir}`, "device.id=edge-7"],
  });
  const { log, lines } = memoryLogger();
  const session: Rc3Session = await createRc3Session({ config, platform: bunPlatform, log });
  const store = StateStore.openFile((p) => bunPlatform.openDatabase(p), join(dataDir, "state.db"), systemClock());
  const journal = new Journal(store.db);
  const client = rc3Client(config, session.fetch, () => session.clientId()!);
  const sender = new StatusSender({ journal, client, log, policy: { baseMs: 20, capMs: 200 }, maxEntries: 1000 });
  const reconciler = new Reconciler({
    store,
    runtime: new SimulatedRuntime({ dataDir }),
    resolve: localResolver(join(dataDir, "pkg")),
    log,
    rollback: true,
    workDir: (id) => join(dataDir, "work", id),
    onReport: () => sender.wake(),
  });
  const sync = new DesiredStateSync({ client, store, reconciler, log, limits: config.limits });
  stops.push(() => {
    sender.stop();
    store.close();
    session.close();
  });
  return { sync, store, journal, sender, lines, session };
}

const signal = new AbortController().signal;

describe("rc3: a WFM mounted under /v1alpha2/margo that behaves like the reference WFM and the conformance mock", () => {
  test("poll, bundle, single YAML, status: all under the prefix; the odd ETag, immutable caching and wrong sizes tolerated", async () => {
    const wfm = await startRc3Wfm(ca, { prefix: "/v1alpha2/margo", state: { deployments: [{ id: "d-1", yaml: rc3Deployment("d-1", "one", { deviceId: "edge-7" }) }] } });
    stops.push(() => wfm.stop());
    const a = await rc3Agent(wfm);

    // First sync: the bundle (entries named <deploymentId>.yaml), wrong sizeBytes, ETag = bundle digest.
    const first = await a.sync.poll(signal);
    expect(first).toMatchObject({ outcome: "applied", transport: "bundle" });
    expect(a.store.lastEtag()).toStartWith('"sha256:');
    await drainedJournal(a.journal, a.sender);

    // "immutable" never stops polling: the next poll asks again, with the ETag exactly as given.
    expect((await a.sync.poll(signal)).outcome).toBe("not-modified");
    const polls = wfm.seen.filter((r) => r.path === "/api/v1/deployments");
    expect(polls).toHaveLength(2);
    expect(polls[1]!.headers["if-none-match"]).toBe(a.store.lastEtag()!);
    for (const p of polls) expect(p.headers.accept).toBe(MANIFEST_MEDIA_TYPE);

    // A second deployment, the first unchanged: a single YAML under the prefix.
    wfm.state.deployments.push({ id: "d-2", yaml: rc3Deployment("d-2", "two") }, { id: "d-3", yaml: rc3Deployment("d-3", "three") }, { id: "d-4", yaml: rc3Deployment("d-4", "four") });
    wfm.state.manifestVersion = 2;
    expect(await a.sync.poll(signal)).toMatchObject({ outcome: "applied", transport: "bundle" });
    wfm.state.deployments.push({ id: "d-5", yaml: rc3Deployment("d-5", "five") });
    wfm.state.manifestVersion = 3;
    expect(await a.sync.poll(signal)).toMatchObject({ outcome: "applied", transport: "single" });
    await drainedJournal(a.journal, a.sender);

    expect(wfm.seen.every((r) => r.path.startsWith("/api/v1/"))).toBe(true); // nothing missed the mount point
    expect(wfm.seen.filter((r) => r.path.startsWith("/api/v1/bundles/"))).toHaveLength(2);
    expect(wfm.seen.filter((r) => r.path.startsWith("/api/v1/deployments/d-5/sha256:"))).toHaveLength(1);
    expect(a.store.listDeployments().map((d) => [d.id, d.state]).sort()).toEqual(["d-1", "d-2", "d-3", "d-4", "d-5"].map((id) => [id, "installed"]));
    // Every report went to the rc3 route (no clientId), each acknowledged with 200 {"acknowledgement":"received"}.
    expect(new Set(wfm.reports.map((r) => r.deploymentId))).toEqual(new Set(["d-1", "d-2", "d-3", "d-4", "d-5"]));
    expect(a.journal.counts()).toMatchObject({ pending: 0 });
  });

  test("a WFM that answers 406 to anything but the exact Accept: the agent's Accept is exact, so it is served", async () => {
    const wfm = await startRc3Wfm(ca, { prefix: "/v1alpha2/margo" });
    stops.push(() => wfm.stop());
    const a = await rc3Agent(wfm);
    expect((await a.sync.poll(signal)).outcome).toBe("applied");
    // And what the agent would report if it were not: MANIFEST_NOT_ACCEPTABLE with the WFM's {"Error": …} text.
    wfm.state.fail = { "GET /api/v1/deployments": () => Response.json({ Error: "unsupported Accept" }, { status: 406 }) };
    const refused = await a.sync.poll(signal);
    expect(refused).toMatchObject({ outcome: "rejected", error: { code: "MANIFEST_NOT_ACCEPTABLE" } });
    expect((refused as { error: Error }).error.message).toContain("unsupported Accept");
  });

  test("status answered with problem+json: 503 + Retry-After keeps the report and waits; 422 parks it; not-authorized is an identity problem", async () => {
    const wfm = await startRc3Wfm(ca, { state: { deployments: [{ id: "d-1", yaml: rc3Deployment("d-1", "one") }] } });
    stops.push(() => wfm.stop());
    const a = await rc3Agent(wfm);
    const problem = (status: number, type: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => () =>
      Response.json({ type, title: "t", status, ...extra }, { status, headers: { "content-type": "application/problem+json", ...headers } });
    wfm.state.fail = { "POST /api/v1/deployments/d-1/status": problem(503, "about:blank", { retryAfterSeconds: 1 }, { "retry-after": "3600" }) };
    await a.sync.poll(signal);
    await until("a failed delivery", () => a.sender.state.failures > 0);
    // Retry-After (an hour) outranks retryAfterSeconds (1 s) and our own cap (200 ms).
    expect(a.sender.state.nextAttemptAtMs! - performance.now()).toBeGreaterThan(3_000_000);
    expect(a.journal.counts().pending).toBeGreaterThan(0);

    wfm.state.fail = { "POST /api/v1/deployments/d-1/status": problem(403, "https://docs.margo.org/specification/problem-types#not-authorized") };
    a.sender.retryNow();
    await until("the identity problem", () => a.sender.state.identityProblem !== undefined);
    expect(a.sender.state.lastError?.code).toBe("IDENTITY_REJECTED");
    expect(a.sender.state.lastError?.message).toContain("client relationship may have been retired");
    expect(a.journal.counts().pending).toBeGreaterThan(0); // kept, not parked

    wfm.state.fail = { "POST /api/v1/deployments/d-1/status": problem(422, "https://docs.margo.org/specification/problem-types#semantic-error") };
    a.sender.retryNow();
    await until("parked reports", () => a.journal.counts().pending === 0);
    expect(a.journal.counts().parked).toBeGreaterThan(0);
  });
});

describe("v1: the same WFM behaviour under a path prefix, through the Agent as it runs today", () => {
  test("routes, artifacts and reports under /v1alpha2/margo; odd ETag and immutable manifest tolerated; signatures carry created;keyid;alg", async () => {
    const wfm = startV1Wfm({ prefix: "/v1alpha2/margo", clientId: "test-device" });
    stops.push(() => wfm.stop());
    const yaml = deploymentYaml("d-1", "one").replace("https://packages.example/one.tar.gz", `${wfm.origin}/packages/one.yaml`);
    wfm.state.deployments.push({ id: "d-1", yaml });
    const h = makeAgent({ wfmUrl: wfm.url, sets: ["wfm.profile=v1"] });
    stops.push(() => h.agent.stop());
    expect(await h.agent.syncNow()).toMatchObject({ outcome: "applied", transport: "bundle" });
    await drained(h.agent);
    expect((await h.agent.syncNow()).outcome).toBe("not-modified");
    const polls = wfm.seen.filter((r) => r.path === "/api/v1/deployments");
    expect(polls).toHaveLength(2);
    expect(polls[1]!.headers["if-none-match"]).toBe(h.agent.store.lastEtag()!);
    expect(wfm.seen.every((r) => r.path.startsWith("/api/v1/"))).toBe(true);
    expect(wfm.reports.map((r) => r.deploymentId)).toContain("d-1");
    // The v1 signer, as the v1 session builds it, on the same prefixed route.
    const identity = await loadOrCreateIdentity({ dir: h.dataDir, deviceId: "test-device" });
    const client = new WfmClient({ baseUrl: wfm.url, profile: v1Profile, clientId: () => "test-device", fetch: (u, i) => fetch(u, i), signer: createRequestSigner(identity, () => "test-device"), requestTimeoutMs: 5000, userAgent: "t" });
    expect((await client.postStatus("d-1", wfm.reports[0]!.body)).kind).toBe("accepted");
    const sig = wfm.seen.at(-1)!.headers["signature-input"]!;
    expect(wfm.seen.at(-1)!.path).toBe("/api/v1/deployments/d-1/status");
    expect(sig).toMatch(/^sig1=\("@method" "@target-uri" "content-digest"\);created=\d+;keyid="test-device";alg="ecdsa-p256-sha256"$/);
  });
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

async function drainedJournal(journal: Journal, sender: StatusSender): Promise<void> {
  for (let i = 0; i < 500 && journal.counts().pending > 0; i++) {
    sender.retryNow();
    await Bun.sleep(10);
  }
  expect(journal.counts().pending).toBe(0);
}
