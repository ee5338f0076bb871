/**
 * DesiredStateSync (src/sync/desired-state-sync.ts) against a tiny real WFM on
 * loopback: what a poll commits, what it remembers and for how long. The
 * reconciler behind it is the real one on the simulated engine; time is a fake
 * clock's (no real backoff is slept through).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/log.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";
import { DesiredStateSync, type PollOutcome } from "../../../src/sync/desired-state-sync.ts";
import { World, yamlOf } from "../reconcile/world.ts";
import { CLIENT_ID, MANIFEST_PATH, TinyWfm } from "./tiny-wfm.ts";

const U64_MAX = 18446744073709551615n;
const v1 = yamlOf("d1", ["web"], "1");
const v2 = yamlOf("d1", ["web"], "2");

let w: World;
let wfm: TinyWfm;
let sync: DesiredStateSync;
let clientId: string | undefined;

function makeSync(): DesiredStateSync {
  const client = new WfmClient({ baseUrl: wfm.url, clientId: () => clientId, fetch: (url, init) => fetch(url, init), requestTimeoutMs: 10_000, userAgent: "margo-agent-test" });
  return new DesiredStateSync({
    client,
    store: w.store,
    reconciler: w.reconciler,
    log: silentLogger,
    limits: { manifestBytes: 1 << 20, deploymentBytes: 1 << 20, bundleBytes: 1 << 20, bundleEntries: 100, bundleExpandedBytes: 8 << 20 },
    manifestRetry: { baseMs: 1_000, capMs: 60_000 },
    now: w.clock.now,
    // Half the jitter range: retry delays are exact (ceiling/2 + ceiling/4).
    random: () => 0.5,
  });
}

beforeEach(() => {
  w = new World();
  wfm = new TinyWfm();
  clientId = CLIENT_ID;
  sync = makeSync();
});
afterEach(() => {
  wfm.stop();
  w.close();
});

const poll = (signal = new AbortController().signal) => sync.poll(signal);
const codeOf = (o: PollOutcome) => ("error" in o ? o.error.code : undefined);
/** The If-None-Match of the last manifest request. */
const lastIfNoneMatch = () => wfm.requests.filter((r) => r.path === MANIFEST_PATH).at(-1)!.ifNoneMatch;

describe("a new manifest", () => {
  test("applied: reconciled first, then its version (u64, exact) and ETag committed (INV-SYNC-1)", async () => {
    const { etag } = wfm.publish(U64_MAX, [v1]);
    let committedAtApply: bigint | null | undefined;
    w.runtime.on("apply", {}, () => {
      committedAtApply = w.store.lastManifestVersion();
    });
    const outcome = await poll();
    expect(outcome).toMatchObject({ outcome: "applied", manifestVersion: U64_MAX, transport: "bundle" });
    expect(committedAtApply).toBeNull();
    expect(w.store.lastManifestVersion()).toBe(U64_MAX);
    expect(w.store.lastEtag()).toBe(etag);
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "installed", manifestVersion: U64_MAX.toString() });
    expect(w.store.journal.list("pending").at(-1)!.body).toContain(`"adoptedManifestVersion":${U64_MAX},`);
    expect(lastIfNoneMatch()).toBeNull(); // nothing stored yet to ask with
  });

  test("304 writes nothing", async () => {
    const { etag } = wfm.publish(1n, [v1]);
    await poll();
    const writes = w.writes();
    expect(await poll()).toEqual({ outcome: "not-modified" });
    expect(lastIfNoneMatch()).toBe(etag);
    expect(w.writes()).toBe(writes);
  });

  test("the same manifest answered with 200 (If-None-Match ignored): not-modified, nothing fetched or written", async () => {
    const { bundleUrl } = wfm.publish(1n, [v1]);
    await poll();
    wfm.ignoreIfNoneMatch = true;
    const writes = w.writes();
    expect(await poll()).toEqual({ outcome: "not-modified" });
    expect(wfm.asked(bundleUrl)).toBe(1);
    expect(w.writes()).toBe(writes);
  });

  test("a few deployments changed: only their single YAMLs are fetched", async () => {
    const others = ["a", "b", "c"].map((id) => yamlOf(id, ["web"]));
    wfm.publish(1n, [v1, ...others]);
    expect(await poll()).toMatchObject({ outcome: "applied", transport: "bundle" });
    const { yamlUrls, bundleUrl } = wfm.publish(2n, [v2, ...others]);
    expect(await poll()).toMatchObject({ outcome: "applied", transport: "single" });
    expect(wfm.asked(yamlUrls[0]!)).toBe(1);
    expect(yamlUrls.slice(1).map((u) => wfm.asked(u))).toEqual([0, 0, 0]);
    expect(wfm.asked(bundleUrl)).toBe(0);
    expect(w.store.getDeployment("d1")!.digest).toBe(sha256Digest(v2));
    expect(w.store.getDeployment("a")!.manifestVersion).toBe("1"); // unchanged ones keep the version they arrived with
  });

  test("before onboarding, nothing is asked", async () => {
    clientId = undefined;
    wfm.publish(1n, [v1]);
    expect(await poll()).toEqual({ outcome: "not-onboarded" });
    expect(wfm.requests).toEqual([]);
  });
});

describe("refused manifests", () => {
  test("a content verdict is remembered by its ETag: sent back as If-None-Match, never fetched again (INV-SYNC-2)", async () => {
    const { etag, bundleUrl } = wfm.publish(1n, [v1], { wrongBundle: true });
    const first = await poll();
    expect(first.outcome).toBe("rejected");
    expect(codeOf(first)).toBe("DIGEST_MISMATCH");
    expect(w.store.lastManifestVersion()).toBeNull();
    expect(w.store.lastEtag()).toBeUndefined();
    expect(w.store.listDeployments()).toEqual([]);
    expect(w.runtime.calls).toEqual([]);

    // Days later, same manifest: the WFM answers 304 to the refused ETag.
    w.clock.advance(3 * 86_400_000);
    const again = await poll();
    expect([again.outcome, codeOf(again)]).toEqual(["still-rejected", "DIGEST_MISMATCH"]);
    expect(lastIfNoneMatch()).toBe(etag);

    // A WFM that ignores If-None-Match: the same ETag is recognised, the bundle not fetched again.
    wfm.ignoreIfNoneMatch = true;
    expect((await poll()).outcome).toBe("still-rejected");
    expect(wfm.asked(bundleUrl)).toBe(1);

    // The WFM fixes it: a new manifest (new ETag) is taken.
    wfm.publish(2n, [v1]);
    expect(await poll()).toMatchObject({ outcome: "applied", manifestVersion: 2n });
  });

  test("a bundle without one of the deployments is a verdict too (BUNDLE_INCOMPLETE)", async () => {
    const { etag } = wfm.publish(1n, [v1, yamlOf("d2", ["web"])], { leaveOut: ["d2"] });
    const outcome = await poll();
    expect([outcome.outcome, codeOf(outcome)]).toEqual(["rejected", "BUNDLE_INCOMPLETE"]);
    expect(w.store.listDeployments()).toEqual([]); // nothing applied from a manifest not fully verified
    await poll();
    expect(lastIfNoneMatch()).toBe(etag);
  });

  test("a YAML whose id is not the one the manifest lists: that deployment fails, the others are applied", async () => {
    wfm.publish(1n, [v1, yamlOf("d2", ["web"])], { listAs: { d2: "d3" } });
    const outcome = await poll();
    expect(outcome.outcome).toBe("applied");
    expect(w.store.listDeployments().map((d) => [d.id, d.state, d.error?.code])).toEqual([
      ["d1", "installed", undefined],
      ["d3", "failed", "DEPLOYMENT_ID_MISMATCH"],
    ]);
  });

  test("a manifest that does not parse is refused and not remembered (there is no ETag to trust)", async () => {
    wfm.publishRaw('{"manifestVersion": 1.5, "bundle": null, "deployments": []}');
    const outcome = await poll();
    expect([outcome.outcome, codeOf(outcome)]).toEqual(["rejected", "MANIFEST_INVALID"]);
    await poll();
    expect(lastIfNoneMatch()).toBeNull();
  });

  test("a rollback of manifestVersion is refused, the current workloads kept", async () => {
    wfm.publish(5n, [v1]);
    await poll();
    const older = wfm.publish(4n, [v2]);
    const outcome = await poll();
    expect([outcome.outcome, codeOf(outcome)]).toEqual(["rejected", "MANIFEST_VERSION_NOT_NEWER"]);
    expect(w.store.lastManifestVersion()).toBe(5n);
    expect(w.store.getDeployment("d1")!.digest).toBe(sha256Digest(v1));
    expect(await w.running("d1")).toEqual({ web: sha256Digest(v1).slice(7, 15) });
    // Remembered: asked with the refused ETag from now on.
    expect((await poll()).outcome).toBe("still-rejected");
    expect(lastIfNoneMatch()).toBe(older.etag);
  });

  test("the same manifestVersion with other content is refused too", async () => {
    wfm.publish(5n, [v1]);
    await poll();
    wfm.publish(5n, [v2]);
    expect(codeOf(await poll())).toBe("MANIFEST_VERSION_NOT_NEWER");
    expect(w.store.getDeployment("d1")!.digest).toBe(sha256Digest(v1));
  });
});

describe("passing failures", () => {
  test("retrying: the failed ETag is sent during the backoff, refetched after it, never remembered for good", async () => {
    const { etag, bundleUrl } = wfm.publish(1n, [v1]);
    wfm.faults.set(bundleUrl, 503);
    const first = await poll();
    // First attempt: ceiling 1 s → 500 ms fixed + 250 ms of jitter (random 0.5).
    expect(first).toMatchObject({ outcome: "retrying", retryInMs: 750 });
    expect(codeOf(first)).toBe("WFM_HTTP_ERROR");
    expect(w.store.lastEtag()).toBeUndefined();

    // During the backoff: asked with the failed ETag; the WFM answers 304.
    w.clock.advance(500);
    expect(await poll()).toMatchObject({ outcome: "retrying", retryInMs: 250 });
    expect(lastIfNoneMatch()).toBe(etag);
    expect(wfm.asked(bundleUrl)).toBe(1);
    // Even a 200 for that ETag is not fetched again before its time.
    wfm.ignoreIfNoneMatch = true;
    expect((await poll()).outcome).toBe("retrying");
    expect(wfm.asked(bundleUrl)).toBe(1);
    wfm.ignoreIfNoneMatch = false;

    // After it: asked as if nothing had been refused, and fetched again; still failing, the next wait doubles.
    w.clock.advance(250);
    expect(await poll()).toMatchObject({ outcome: "retrying", retryInMs: 1_500 });
    expect(lastIfNoneMatch()).toBeNull();
    expect(wfm.asked(bundleUrl)).toBe(2);

    wfm.faults.clear();
    w.clock.advance(1_500);
    expect(await poll()).toMatchObject({ outcome: "applied", manifestVersion: 1n });
    expect(w.store.lastEtag()).toBe(etag);
  });

  test("marking pending fails (a full disk): retrying, nothing committed; taken once the disk has room", async () => {
    const { etag } = wfm.publish(1n, [v1]);
    w.store.db.exec("CREATE TEMP TRIGGER full_disk BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    const outcome = await poll();
    expect(outcome).toMatchObject({ outcome: "retrying", retryInMs: 750 });
    expect(codeOf(outcome)).toBe("INTERNAL");
    expect(w.store.lastManifestVersion()).toBeNull();
    w.store.db.exec("DROP TRIGGER full_disk");
    w.clock.advance(750);
    expect((await poll()).outcome).toBe("applied");
    expect(w.store.lastEtag()).toBe(etag);
  });

  test("the WFM away or refusing us: unreachable, nothing remembered", async () => {
    wfm.publish(1n, [v1]);
    wfm.faults.set(MANIFEST_PATH, 500);
    const http = await poll();
    expect([http.outcome, codeOf(http)]).toEqual(["unreachable", "WFM_HTTP_ERROR"]);
    wfm.faults.set(MANIFEST_PATH, 401);
    const identity = await poll();
    expect([identity.outcome, codeOf(identity)]).toEqual(["unreachable", "IDENTITY_REJECTED"]);
    wfm.stop();
    const gone = await poll();
    expect([gone.outcome, codeOf(gone)]).toEqual(["unreachable", "WFM_UNREACHABLE"]);
    expect(w.writes()).toBe(0);
  });
});

describe("stopping", () => {
  test("an abort mid-reconcile: interrupted, nothing committed; the next poll finishes the manifest", async () => {
    const { etag, bundleUrl } = wfm.publish(3n, [v1, yamlOf("d2", ["web"])]);
    const stop = new AbortController();
    w.runtime.on("apply", { deploymentId: "d1" }, () => {
      stop.abort(new Error("agent stopping"));
      throw new Error("compose killed");
    }, 1);
    expect(await poll(stop.signal)).toEqual({ outcome: "interrupted" });
    expect(w.store.lastManifestVersion()).toBeNull();
    expect(w.store.lastEtag()).toBeUndefined();

    // The next start: the manifest is asked for again (not 304) and its steps finished from the stored copies.
    const outcome = await poll();
    expect(outcome).toMatchObject({ outcome: "applied", manifestVersion: 3n, transport: "none" });
    expect(lastIfNoneMatch()).toBeNull();
    expect(wfm.asked(bundleUrl)).toBe(1);
    expect(w.store.lastEtag()).toBe(etag);
    expect(w.store.listDeployments().map((d) => [d.id, d.state])).toEqual([["d1", "installed"], ["d2", "installed"]]);
  });
});

describe("reconcileStored: the stored desired state, no WFM", () => {
  test("drift is repaired under the version each deployment arrived with", async () => {
    wfm.publish(7n, [v1]);
    await poll();
    wfm.stop();
    w.runtime.engine.removeBehindAgentsBack("d1", "web");
    const [outcome] = await sync.reconcileStored("drift", new AbortController().signal, true);
    expect([outcome!.step.action, outcome!.state]).toEqual(["repair", "installed"]);
    expect(w.lastReport("d1").adoptedManifestVersion).toBe(7);
  });

  test("a stored YAML that no longer matches its digest is not re-applied (STORE_TAMPERED)", async () => {
    wfm.publish(1n, [v1]);
    await poll();
    w.store.db.prepare("UPDATE deployments SET yaml = ? WHERE id = 'd1'").run(v1.replace("web-1", "evil"));
    w.runtime.engine.removeBehindAgentsBack("d1", "web");
    w.runtime.calls.length = 0;
    const [outcome] = await sync.reconcileStored("drift", new AbortController().signal, true);
    expect([outcome!.state, outcome!.error?.code]).toEqual(["failed", "STORE_TAMPERED"]);
    expect(w.runtime.calls).toEqual([]);
  });

  test("a deployment being removed is not wanted any more: finished as a removal", async () => {
    wfm.publish(1n, [v1]);
    await poll();
    w.runtime.failOn("remove", {}, "busy", { times: 1 });
    wfm.publish(2n, []);
    expect((await poll()).outcome).toBe("applied");
    expect(w.store.getDeployment("d1")).toMatchObject({ state: "failed", wanted: false });
    w.clock.advance(10 * 60_000);
    const [outcome] = await sync.reconcileStored("retry", new AbortController().signal, false);
    expect([outcome!.step.action, outcome!.state]).toEqual(["remove", "removed"]);
  });
});
