/**
 * How MtlsConnector uses connections on Bun 1.4.5, against a real mTLS WFM:
 * one pooled connection per material version (the identity check runs once
 * per connection, not per request), a new one after a rotation or when the
 * pool is older than maxSessionAgeMs. Also pins the Bun behaviours the design
 * relies on, so a Bun upgrade that changes them fails here first.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AgentError } from "../../../src/errors/index.ts";
import {
  bunSessionFactory,
  clientTlsOptions,
  loadSvid,
  MtlsConnector,
  parseTrustBundle,
  TrustBundleStore,
  writeSvidFiles,
  type ClientTlsOptions,
} from "../../../src/trust/index.ts";
import { FakeTimers, removeTempDirs, tempDir } from "../../unit/trust/helpers.ts";
import { DevCa, rejection, startWfm, TD, type TestWfm } from "./support.ts";

const ca = DevCa.create({ trustDomain: TD });
let wfm: TestWfm | undefined;
let connector: MtlsConnector | undefined;
afterEach(async () => {
  connector?.close();
  await wfm?.server.stop();
});
afterAll(removeTempDirs);

/** Distinct TLS connections the WFM served (serveMtls keeps one peer object per connection). */
const connections = (w: TestWfm) => new Set(w.seen).size;

async function setup() {
  wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
  const svid = await loadSvid(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "device-42")));
  const store = new TrustBundleStore(join(tempDir(), "b.json"), TD);
  await store.offer(parseTrustBundle(ca.anchorPem, "ca.pem"), { source: "ca.pem" });
  const timers = new FakeTimers(Date.now());
  let checks = 0;
  const counted = (tls: ClientTlsOptions) => {
    const check = tls.checkServerIdentity;
    return bunSessionFactory({ ...tls, checkServerIdentity: (h, c) => (checks++, check(h, c)) });
  };
  let svidVersion = 1;
  connector = new MtlsConnector({ svid: { current: () => svid, get version() { return svidVersion; } }, bundle: store, openSession: counted, timers, maxSessionAgeMs: 600_000 });
  const get = async () => {
    const res = await connector!.fetch(`${wfm!.url}/api/v1/deployments`);
    expect(res.status).toBe(200);
    await res.json();
  };
  return { get, checks: () => checks, timers, store, bumpSvid: () => svidVersion++ };
}

describe("MtlsConnector on Bun.FetchSession", () => {
  test("requests share one connection and one identity check while the material is unchanged", async () => {
    const { get, checks } = await setup();
    await get();
    await get();
    await get();
    expect(connections(wfm!)).toBe(1);
    expect(checks()).toBe(1);
  });

  test("an SVID rotation, a bundle change, and the session age each open a new connection", async () => {
    const { get, checks, timers, store, bumpSvid } = await setup();
    await get();
    bumpSvid();
    await get();
    expect(connections(wfm!)).toBe(2);
    await store.offer(parseTrustBundle(`${ca.anchorPem}${DevCa.create({ trustDomain: TD }).anchorPem}`, "ca.pem"), { source: "ca.pem" });
    await get();
    expect(connections(wfm!)).toBe(3);
    timers.set(timers.now() + 600_000);
    await get();
    expect(connections(wfm!)).toBe(4);
    expect(checks()).toBe(4);
    expect(connector!.sessionsOpened).toBe(4);
  });

  test("without any trust bundle nothing is sent: TRUST_BUNDLE_MISSING", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const svid = await loadSvid(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "device-42")));
    connector = new MtlsConnector({ svid: { current: () => svid, version: 1 }, bundle: new TrustBundleStore(join(tempDir(), "b.json"), TD), openSession: bunSessionFactory });
    const err = await rejection(connector.fetch(`${wfm.url}/`));
    expect(err).toBeInstanceOf(AgentError);
    expect(err.code).toBe("TRUST_BUNDLE_MISSING");
    expect(wfm.handled + wfm.refused.length).toBe(0);
  });
});

describe("the options object", () => {
  test("logging it by mistake does not log the key", async () => {
    const svid = await loadSvid(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "device-42")));
    const tls = clientTlsOptions(svid, { anchorsPem: [ca.anchorPem] });
    const keyLine = svid.key.reveal().split("\n")[1]!;
    expect(tls.key).toContain(keyLine);
    expect(JSON.stringify({ tls })).not.toContain(keyLine);
    expect(Bun.inspect(tls)).not.toContain(keyLine);
  });
});

describe("Bun behaviours the design relies on (Bun 1.4.5)", () => {
  test("plain fetch with checkServerIdentity opens a connection per request (why MtlsConnector pools by session)", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const svid = await loadSvid(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "device-42")));
    const tls = clientTlsOptions(svid, { anchorsPem: [ca.anchorPem] });
    for (let i = 0; i < 3; i++) await (await fetch(`${wfm.url}/`, { tls } as RequestInit)).text();
    expect(connections(wfm)).toBe(3);
  });

  test("the Error checkServerIdentity returns is the one fetch rejects with (code intact)", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const svid = await loadSvid(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "device-42")));
    const mine = new AgentError("WFM_IDENTITY_MISMATCH", "refused by the test");
    const err = await rejection(fetch(`${wfm.url}/`, { tls: { ...clientTlsOptions(svid, { anchorsPem: [ca.anchorPem] }), checkServerIdentity: () => mine } } as RequestInit));
    expect(err).toBe(mine);
  });
});
