/**
 * SVID rotation on disk while the agent runs: the watcher re-reads the files,
 * and the next connection through MtlsConnector presents the new SVID to a
 * real mTLS WFM, without a restart. Bad intermediate states of the files are
 * refused and the SVID in use stays in use.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  bunSessionFactory,
  MtlsConnector,
  parseTrustBundle,
  SvidWatcher,
  TrustBundleStore,
  writeSvidFiles,
} from "../../../src/trust/index.ts";
import { captureLog, FakeTimers, removeTempDirs, tempDir, type CapturedLog } from "../../unit/trust/helpers.ts";
import { DevCa, startWfm, TD, type TestWfm } from "./support.ts";

const ca = DevCa.create({ trustDomain: TD });
let wfm: TestWfm;
let connector: MtlsConnector | undefined;
let watcher: SvidWatcher | undefined;

beforeEach(async () => {
  wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
});
afterEach(async () => {
  connector?.close();
  watcher?.stop();
  await wfm.server.stop();
});
afterAll(removeTempDirs);

async function setup(opts: { anchors?: boolean } = {}) {
  const dir = tempDir();
  const first = ca.issueClientSvid("wfm-1", "device-42");
  const files = await writeSvidFiles(dir, first);
  const timers = new FakeTimers(Date.now());
  const captured = captureLog();
  const store = new TrustBundleStore(join(dir, "trust-bundle.json"), TD);
  await store.offer(parseTrustBundle(ca.anchorPem, "ca.pem"), { source: "ca.pem" });
  watcher = new SvidWatcher({
    ...files,
    log: captured.log,
    timers,
    anchors: opts.anchors ? () => store.current()?.bundle.anchors : undefined,
  });
  await watcher.start();
  connector = new MtlsConnector({ svid: watcher, bundle: store, openSession: bunSessionFactory, timers });
  const presented = async (): Promise<string> => {
    const res = await connector!.fetch(`${wfm.url}/api/v1/deployments`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { fingerprint: string }).fingerprint;
  };
  return { dir, files, first, watcher, connector, presented, captured, timers, store };
}

const fingerprintOf = (material: { leaf: { raw: Buffer } }) => new Bun.CryptoHasher("sha256").update(material.leaf.raw).digest("hex");

function warnings(captured: CapturedLog): string[] {
  return captured.lines().filter((l) => l.level === "warn" || l.level === "error").map((l) => String(l.msg));
}

describe("SVID rotation on disk", () => {
  test("an atomic replacement mid-run is used by the next connection, without a restart", async () => {
    const { dir, first, watcher, connector, presented } = await setup();
    expect(await presented()).toBe(fingerprintOf(first));
    expect(await presented()).toBe(fingerprintOf(first)); // same pool, same SVID

    const second = ca.issueClientSvid("wfm-1", "device-42");
    await writeSvidFiles(dir, second); // tmp + rename, key first
    expect(await watcher.checkNow()).toBe("rotated");
    expect(watcher.version).toBe(2);
    expect(await presented()).toBe(fingerprintOf(second));
    expect(connector.sessionsOpened).toBe(2);
    expect(wfm.seen.map((p) => p.spiffeId.id).every((id) => id === "spiffe://factory.example/margo/wfm/wfm-1/client/device-42")).toBe(true);
  });

  test("a half-written certificate is not taken: the old SVID stays in use, logged once, and the finished file is", async () => {
    const { files, first, watcher, presented, captured } = await setup();
    const second = ca.issueClientSvid("wfm-1", "device-42");
    // A writer that truncates and rewrites in place (no rename), caught halfway.
    writeFileSync(files.keyFile, second.key.reveal(), { mode: 0o600 });
    writeFileSync(files.certFile, second.chainPem.slice(0, second.chainPem.length / 2));
    expect(await watcher.checkNow()).toBe("refused");
    expect(watcher.lastRefusal?.code).toBe("IDENTITY_INVALID");
    expect(await presented()).toBe(fingerprintOf(first));
    expect(await watcher.checkNow()).toBe("unchanged"); // nothing changed since: no new attempt, no new log line
    expect(warnings(captured).filter((m) => m.includes("cannot be used"))).toHaveLength(1);
    expect(warnings(captured)[0]).toMatch(/ends inside a PEM block .*keeping the SVID in use/);

    writeFileSync(files.certFile, second.chainPem);
    expect(await watcher.checkNow()).toBe("rotated");
    expect(await presented()).toBe(fingerprintOf(second));
  });

  test("a new key before its certificate is refused until the certificate arrives", async () => {
    const { dir, files, first, watcher, presented } = await setup();
    const second = ca.issueClientSvid("wfm-1", "device-42");
    writeFileSync(join(dir, "k.tmp"), second.key.reveal(), { mode: 0o600 });
    renameSync(join(dir, "k.tmp"), files.keyFile);
    expect(await watcher.checkNow()).toBe("refused");
    expect(watcher.lastRefusal?.message).toMatch(/does not belong to the first certificate/);
    expect(await presented()).toBe(fingerprintOf(first));
    writeFileSync(join(dir, "c.tmp"), second.chainPem);
    renameSync(join(dir, "c.tmp"), files.certFile);
    expect(await watcher.checkNow()).toBe("rotated");
    expect(await presented()).toBe(fingerprintOf(second));
  });

  test("a symlink flipped to a new directory (secret-mount style) is followed", async () => {
    const root = tempDir();
    const v1 = ca.issueClientSvid("wfm-1", "device-42");
    const v2 = ca.issueClientSvid("wfm-1", "device-42");
    await writeSvidFiles(join(root, "v1"), v1);
    await writeSvidFiles(join(root, "v2"), v2);
    symlinkSync(join(root, "v1"), join(root, "current"));
    const captured = captureLog();
    watcher = new SvidWatcher({ certFile: join(root, "current/svid.pem"), keyFile: join(root, "current/svid-key.pem"), log: captured.log, timers: new FakeTimers(Date.now()) });
    await watcher.start();
    expect(watcher.current().fingerprint).toBe(fingerprintOf(v1));
    symlinkSync(join(root, "v2"), join(root, "next"));
    renameSync(join(root, "next"), join(root, "current"));
    expect(await watcher.checkNow()).toBe("rotated");
    expect(watcher.current().fingerprint).toBe(fingerprintOf(v2));
  });

  test("an SVID with another SPIFFE ID is not adopted mid-run", async () => {
    const { dir, first, watcher, presented, captured } = await setup();
    await writeSvidFiles(dir, ca.issueClientSvid("wfm-1", "device-43"));
    expect(await watcher.checkNow()).toBe("refused");
    expect(watcher.lastRefusal?.message).toMatch(/is spiffe:\/\/factory\.example\/margo\/wfm\/wfm-1\/client\/device-43, not .*device-42; a different identity is adopted only by a restart/);
    expect(await presented()).toBe(fingerprintOf(first));
    expect(captured.lines().some((l) => l.level === "error" && l.code === "IDENTITY_INVALID")).toBe(true);
  });

  test("with the bundle's anchors known, an SVID that chains to none of them is not swapped in", async () => {
    const { dir, first, watcher, presented } = await setup({ anchors: true });
    const rogue = DevCa.create({ trustDomain: TD });
    await writeSvidFiles(dir, rogue.issueClientSvid("wfm-1", "device-42"));
    expect(await watcher.checkNow()).toBe("refused");
    expect(watcher.lastRefusal?.message).toMatch(/does not chain to any anchor of the current trust bundle/);
    expect(await presented()).toBe(fingerprintOf(first));
  });

  test("the poll runs on its own timer (no sleeping: the fake timer is fired)", async () => {
    const { dir, watcher, timers } = await setup();
    expect(timers.nextDelay()).toBe(5_000);
    await writeSvidFiles(dir, ca.issueClientSvid("wfm-1", "device-42"));
    const rotated = new Promise<number>((resolve) => watcher.onRotate((_svid, version) => resolve(version)));
    timers.fireNext();
    expect(await rotated).toBe(2);
  });
});

describe("expiring SVIDs", () => {
  test("an SVID in its warning window is flagged at start and logged with SVID_EXPIRING; expired is an error", async () => {
    const dir = tempDir();
    const material = ca.issueClientSvid("wfm-1", "device-42", { validityMs: 30 * 86_400_000 });
    const files = await writeSvidFiles(dir, material);
    const notAfter = material.leaf.validToDate.getTime();
    const timers = new FakeTimers(notAfter - 3 * 86_400_000);
    const captured = captureLog();
    watcher = new SvidWatcher({ ...files, log: captured.log, timers });
    await watcher.start();
    expect(watcher.expiry()).toMatchObject({ state: "expiring", remainingMs: 3 * 86_400_000 });
    const warned = captured.lines().filter((l) => l.code === "SVID_EXPIRING");
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: "warn", spiffeId: "spiffe://factory.example/margo/wfm/wfm-1/client/device-42", remainingSeconds: 3 * 86_400 });
    expect(String(warned[0]!.msg)).toMatch(/expires at .*; renew .*svid\.pem before then/);

    await watcher.checkNow(); // a poll minutes later does not repeat it
    expect(captured.lines().filter((l) => l.code === "SVID_EXPIRING")).toHaveLength(1);

    timers.set(notAfter + 1000);
    await watcher.checkNow();
    const last = captured.lines().filter((l) => l.code === "SVID_EXPIRING").at(-1)!;
    expect(last.level).toBe("error");
    expect(String(last.msg)).toMatch(/expired at .*the WFM will refuse it/);
  });

  test("a fresh SVID is not flagged", async () => {
    const captured = captureLog();
    watcher = new SvidWatcher({ ...(await writeSvidFiles(tempDir(), ca.issueClientSvid("wfm-1", "d"))), log: captured.log, timers: new FakeTimers(Date.now()) });
    await watcher.start();
    expect(watcher.expiry().state).toBe("valid");
    expect(captured.lines().some((l) => l.code === "SVID_EXPIRING")).toBe(false);
  });
});

describe("no key material in logs", () => {
  test("a full rotation cycle logs fingerprints and SPIFFE IDs, never the key", async () => {
    const { dir, watcher, captured } = await setup();
    const second = ca.issueClientSvid("wfm-1", "device-42");
    await writeSvidFiles(dir, second);
    await watcher.checkNow();
    const keyLine = second.key.reveal().split("\n")[1]!;
    expect(captured.text()).not.toContain(keyLine);
    expect(readFileSync(join(dir, "svid-key.pem"), "utf8")).toContain(keyLine);
    expect(captured.lines().map((l) => l.msg)).toContain("SVID rotated; new connections use it");
  });
});

