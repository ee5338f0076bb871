/**
 * Trust discovery and bundle refresh against a real HTTPS MIS on loopback,
 * with fake timers for the cadence (no sleeping, no timed assertions), and
 * the effect of a bundle rotation on real mTLS connections.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  bunSessionFactory,
  discoveryUrl,
  fetchDiscovery,
  loadSvid,
  MtlsConnector,
  TrustBundleRefresher,
  TrustBundleStore,
  writeSvidFiles,
  type RefreshOutcome,
} from "../../../src/trust/index.ts";
import { captureLog, FakeTimers, removeTempDirs, tempDir } from "../../unit/trust/helpers.ts";
import { anchorsOf, DevCa, discoveryDoc, rejection, startMis, startWfm, TD, type TestMis, type TestWfm } from "./support.ts";
import { validateTrustApi } from "./trust-openapi.ts";

const caA = DevCa.create({ trustDomain: TD });
const caB = DevCa.create({ trustDomain: TD });
let mis: TestMis | undefined;
let wfm: TestWfm | undefined;
let refresher: TrustBundleRefresher | undefined;
let connector: MtlsConnector | undefined;

afterEach(async () => {
  refresher?.stop();
  connector?.close();
  await mis?.stop();
  await wfm?.server.stop();
  mis = wfm = refresher = connector = undefined;
});
afterAll(removeTempDirs);

const HOUR = 3600_000;

function setup(m: TestMis, opts: { intervalMs?: number; dir?: string } = {}) {
  const dir = opts.dir ?? tempDir();
  const store = new TrustBundleStore(join(dir, "trust-bundle.json"), TD);
  const timers = new FakeTimers();
  const captured = captureLog();
  refresher = new TrustBundleRefresher({ store, discovery: m.url, fetch: m.fetch, intervalMs: opts.intervalMs ?? 6 * HOUR, timers, log: captured.log });
  return { store, timers, captured, refresher, dir };
}

/** Fires the scheduled refresh and waits for it. */
async function tick(timers: FakeTimers, r: TrustBundleRefresher): Promise<RefreshOutcome> {
  timers.fireNext();
  return r.refreshNow(); // the run the timer started (shared)
}

describe("discovery, then the bundle", () => {
  test("GET /.well-known/margo → trustBundleUri → the SPIFFE bundle is accepted and persisted", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1, refreshHintSeconds: 300 });
    const { store, timers, refresher: r, dir } = setup(mis);
    r.start();
    expect(timers.nextDelay()).toBe(0);
    const first = await tick(timers, r);
    expect(first).toEqual({ kind: "replaced", nextInMs: 300_000 });
    expect(mis.requests.map((q) => q.path)).toEqual(["/.well-known/margo", "/bundle.json"]);
    expect(store.current()!.bundle.anchors.map((a) => a.fingerprint256)).toEqual([caA.anchor.fingerprint256]);
    expect(existsSync(join(dir, "trust-bundle.json"))).toBe(true);
    expect(r.status()).toMatchObject({ lastOutcome: "replaced", bundleUri: `${mis.url}/bundle.json`, failures: 0 });
  });

  test("what the test MIS serves matches the trust-bundle OpenAPI (so the tests speak the specified shapes)", async () => {
    mis = await startMis();
    expect(validateTrustApi("DiscoveryDocument", discoveryDoc(mis))).toEqual({ valid: true, errors: "" });
    expect(validateTrustApi("SpiffeBundle", caA.spiffeBundle({ sequence: 1, refreshHintSeconds: 300 }))).toEqual({ valid: true, errors: "" });
    expect(validateTrustApi("DiscoveryDocument", { trustDomain: TD }).valid).toBe(false);
  });

  test("unknown fields in the discovery document are tolerated; a bad one is refused naming the field", async () => {
    mis = await startMis();
    mis.state.discovery = { ...discoveryDoc(mis), futureField: { x: 1 } };
    expect((await fetchDiscovery(mis.fetch, discoveryUrl(mis.url))).status).toBe("ok");
    mis.state.discovery = { trustDomain: TD };
    const err = await rejection(fetchDiscovery(mis.fetch, discoveryUrl(mis.url)));
    expect(err).toMatchObject({ code: "TRUST_BUNDLE_INVALID" });
    expect(err.message).toMatch(/trustBundleUri: /);
  });

  test("a plain-http trustBundleUri, another trust domain, a redirect to another origin: refused", async () => {
    mis = await startMis();
    const url = discoveryUrl(mis.url);
    mis.state.discovery = { trustDomain: TD, trustBundleUri: `http://127.0.0.1:1/bundle.json` };
    expect((await rejection(fetchDiscovery(mis.fetch, url))).message).toMatch(/must be an https URL/);
    mis.state.discovery = discoveryDoc(mis, "other.example");
    expect((await rejection(fetchDiscovery(mis.fetch, url, { expectTrustDomain: TD }))).message).toMatch(
      /describes trust domain "other.example", but this agent's SVID is in "factory.example"/,
    );
    mis.state.routes = { "/.well-known/margo": () => new Response(null, { status: 302, headers: { location: "https://evil.example/.well-known/margo" } }) };
    const redirected = await rejection(fetchDiscovery(mis.fetch, url));
    expect(redirected).toMatchObject({ code: "TRUST_BUNDLE_INVALID" });
    expect(redirected.message).toMatch(/redirected to another origin \(https:\/\/evil\.example\); refused/);
  });

  test("a same-origin redirect is followed; an oversized document is cut off", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.routes = { "/moved": () => new Response(null, { status: 301, headers: { location: "/.well-known/margo" } }) };
    const moved = await fetchDiscovery(mis.fetch, new URL(`${mis.url}/moved`));
    expect(moved.status).toBe("ok");
    mis.state.routes = { "/.well-known/margo": () => new Response(JSON.stringify({ ...discoveryDoc(mis!), pad: "x".repeat(100_000) })) };
    expect((await rejection(fetchDiscovery(mis.fetch, discoveryUrl(mis.url)))).message).toMatch(/bytes.*limit is 65536|more than 65536 bytes/);
  });

  test("discovery needs https: an http MIS URL is refused before any request", () => {
    expect(() => discoveryUrl("http://mis.example")).toThrow(/must be an https URL/);
    expect(discoveryUrl("https://mis.example").href).toBe("https://mis.example/.well-known/margo");
    expect(discoveryUrl("https://mis.example/tenants/a/margo.json").href).toBe("https://mis.example/tenants/a/margo.json");
  });
});

describe("refresh cadence", () => {
  test("spiffe_refresh_hint is honoured; a 304 with a long Cache-Control does not delay the next refresh", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1, refreshHintSeconds: 900 });
    mis.state.bundleEtag = '"v1"';
    mis.state.bundleHeaders = { "cache-control": "public, max-age=604800, immutable", expires: "Thu, 01 Jan 2099 00:00:00 GMT" };
    const { timers, refresher: r } = setup(mis, { intervalMs: 6 * HOUR });
    r.start();
    expect((await tick(timers, r)).kind).toBe("replaced");
    expect(timers.nextDelay()).toBe(900_000);
    const second = await tick(timers, r);
    expect(second).toEqual({ kind: "not-modified", nextInMs: 900_000 });
    expect(mis.requests.at(-1)).toEqual({ path: "/bundle.json", ifNoneMatch: '"v1"' });
    expect(timers.nextDelay()).toBe(900_000);
  });

  test("without a hint the configured interval applies; both are clamped to [1 min, 24 h]", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1 });
    const { timers, refresher: r } = setup(mis, { intervalMs: 2 * HOUR });
    r.start();
    expect((await tick(timers, r)).nextInMs).toBe(2 * HOUR);
    mis.state.bundle = caA.spiffeBundle({ sequence: 2, refreshHintSeconds: 1 });
    expect((await tick(timers, r)).nextInMs).toBe(60_000);
    mis.state.bundle = caA.spiffeBundle({ sequence: 3, refreshHintSeconds: 30 * 86_400 });
    expect((await tick(timers, r)).nextInMs).toBe(24 * HOUR);
  });

  test("stop() cancels the schedule; start() again resumes it", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1 });
    const { timers, refresher: r } = setup(mis);
    r.start();
    await tick(timers, r);
    expect(timers.pendingCount).toBe(1);
    r.stop();
    expect(timers.pendingCount).toBe(0);
    expect(r.status().nextAt).toBeNull();
    r.start();
    expect(timers.nextDelay()).toBe(0);
  });
});

describe("bundle rotation through discovery", () => {
  test("sequence up is accepted and the anchors replaced; a regression and a zero-anchor bundle are refused", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 5, refreshHintSeconds: 600 });
    const { store, timers, refresher: r, captured } = setup(mis);
    r.start();
    await tick(timers, r);

    // Rotation overlap: A and B, then B only (A withdrawn).
    mis.state.bundle = caA.spiffeBundle({ sequence: 6, refreshHintSeconds: 600, extraAnchors: [caB.anchor] });
    expect((await tick(timers, r)).kind).toBe("replaced");
    expect(store.current()!.bundle.anchors).toHaveLength(2);
    mis.state.bundle = caB.spiffeBundle({ sequence: 7, refreshHintSeconds: 600 });
    expect((await tick(timers, r)).kind).toBe("replaced");
    expect(store.current()!.bundle.anchors.map((a) => a.fingerprint256)).toEqual(anchorsOf(caB.spiffeBundle()));

    // A rollback to the bundle that still trusted A.
    mis.state.bundle = caA.spiffeBundle({ sequence: 6, refreshHintSeconds: 600, extraAnchors: [caB.anchor] });
    const rolledBack = await tick(timers, r);
    expect(rolledBack.kind).toBe("refused");
    expect(rolledBack.error?.code).toBe("TRUST_BUNDLE_REGRESSION");
    expect(rolledBack.nextInMs).toBe(600_000); // a refusal does not make the agent hammer the MIS
    expect(store.current()!.bundle.sequence).toBe(7n);

    // A bundle whose only key is a JWT signing key.
    mis.state.bundle = { spiffe_sequence: 8, keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "BB", use: "jwt-svid" }] };
    const empty = await tick(timers, r);
    expect(empty.error?.code).toBe("TRUST_BUNDLE_INVALID");
    expect(empty.error?.message).toMatch(/holds no X\.509 trust anchor/);
    expect(store.current()!.bundle.sequence).toBe(7n);
    expect(captured.lines().filter((l) => l.level === "error").map((l) => l.code)).toEqual(["TRUST_BUNDLE_REGRESSION", "TRUST_BUNDLE_INVALID"]);
  });

  test("end to end: after the rotation the agent's next connection trusts the new CA's WFM, and no longer the old one's", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1, refreshHintSeconds: 600 });
    const { store, timers, refresher: r } = setup(mis);
    r.start();
    await tick(timers, r);

    // The agent's SVID is re-issued under B during the overlap (as the rotation playbook does).
    const svid = await loadSvid(await writeSvidFiles(tempDir(), caB.issueClientSvid("wfm-1", "device-42")));
    connector = new MtlsConnector({ svid: { current: () => svid, version: 1 }, bundle: store, openSession: bunSessionFactory, timers });
    wfm = await startWfm({ svid: caB.issueWfmSvid("wfm-1"), anchorsPem: [caB.anchorPem] });
    // Bundle A only: the WFM's certificate from B does not validate.
    await rejection(connector.fetch(`${wfm.url}/x`));

    mis.state.bundle = caB.spiffeBundle({ sequence: 2, refreshHintSeconds: 600 });
    await tick(timers, r);
    const res = await connector.fetch(`${wfm.url}/x`);
    expect(res.status).toBe(200);
    await res.body?.cancel();

    // And a WFM still on A is now refused: anchors were replaced, not merged.
    await wfm.server.stop();
    wfm = await startWfm({ svid: caA.issueWfmSvid("wfm-1"), anchorsPem: [caA.anchorPem, caB.anchorPem] });
    await rejection(connector.fetch(`${wfm.url}/x`));
  });
});

describe("an unreachable MIS", () => {
  test("keeps the cached bundle (also across a restart), retries with backoff, and resumes when the MIS is back", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 3, refreshHintSeconds: 3600 });
    const first = setup(mis);
    first.refresher.start();
    await tick(first.timers, first.refresher);
    first.refresher.stop();

    await mis.stop();
    // A reboot: a new store reads the cache from the data dir, the MIS is down.
    const again = setup(mis, { dir: first.dir });
    expect(await again.store.load()).toEqual({ loaded: true });
    again.refresher.start();
    const down = await tick(again.timers, again.refresher);
    expect(down.kind).toBe("unreachable");
    expect(down.error?.code).toBe("TRUST_BUNDLE_UNREACHABLE");
    expect(down.nextInMs).toBe(30_000);
    expect(again.store.current()!.bundle.sequence).toBe(3n);
    expect((await tick(again.timers, again.refresher)).nextInMs).toBe(60_000);
    expect((await tick(again.timers, again.refresher)).nextInMs).toBe(120_000);
    expect(again.captured.lines().filter((l) => l.code === "TRUST_BUNDLE_UNREACHABLE").map((l) => l.msg)).toContain(
      `trust bundle refresh: ${down.error!.message}; still using the held bundle`,
    );
    expect(again.refresher.status()).toMatchObject({ lastOutcome: "unreachable", failures: 3 });

    await mis.restart();
    mis.state.bundle = caA.spiffeBundle({ sequence: 4, refreshHintSeconds: 3600 });
    const back = await tick(again.timers, again.refresher);
    expect(back).toEqual({ kind: "replaced", nextInMs: 3600_000 });
    expect(again.refresher.status().failures).toBe(0);
  });

  test("an MIS answering 503 or 404 is unreachable too; the held bundle stays", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = caA.spiffeBundle({ sequence: 1 });
    const { store, timers, refresher: r } = setup(mis);
    r.start();
    await tick(timers, r);
    mis.state.status = 503;
    const busy = await tick(timers, r);
    expect(busy.error?.code).toBe("TRUST_BUNDLE_UNREACHABLE");
    expect(busy.error?.message).toMatch(/HTTP 503/);
    mis.state.status = undefined;
    mis.state.routes = { "/bundle.json": () => Response.json({ type: "https://docs.margo.org/specification/problem-types#spiffe-bundle-not-found", title: "Bundle not found", status: 404 }, { status: 404 }) };
    const gone = await tick(timers, r);
    expect(gone.error?.message).toMatch(/HTTP 404: Bundle not found/);
    expect(store.current()!.bundle.sequence).toBe(1n);
  });

  test("with nothing cached, a failed first fetch is retried soon and says no bundle is held", async () => {
    mis = await startMis();
    mis.state.discovery = discoveryDoc(mis);
    mis.state.bundle = { keys: [] };
    const { store, timers, refresher: r, captured } = setup(mis);
    r.start();
    const refused = await tick(timers, r);
    expect(refused).toMatchObject({ kind: "refused", nextInMs: 30_000 });
    expect(store.current()).toBeUndefined();
    expect(String(captured.lines().at(-1)!.msg)).toMatch(/no bundle held yet$/);
  });
});
