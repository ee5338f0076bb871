/**
 * The StatusSender (src/journal/sender.ts) draining a real journal (SQLite in
 * a temp dir) to a real HTTP WFM on loopback that answers as the test scripts
 * it. Backoff delays are checked against the schedule the sender set, bracketed
 * by the monotonic time before and after the drain: no sleeping, no timing.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../src/log.ts";
import { openDatabase } from "../../../src/platform/bun/sqlite.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";
import { StatusSender } from "../../../src/journal/sender.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { FakeClock } from "../../support/fake-clock.ts";

const POLICY = { baseMs: 1_000, capMs: 60_000 };

interface Received {
  deploymentId: string;
  body: string;
}

type Answer = (r: Received) => Response | Promise<Response>;

/** A WFM whose answers to status reports are scripted one by one; unscripted ones get 200. */
class ReportWfm {
  readonly received: Received[] = [];
  private readonly script: Answer[] = [];
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private readonly server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const m = /^\/api\/v1\/clients\/[^/]+\/deployments\/([^/]+)\/status$/.exec(new URL(req.url).pathname);
      if (req.method !== "POST" || !m) return new Response("no", { status: 404 });
      const r = { deploymentId: decodeURIComponent(m[1]!), body: await req.text() };
      this.received.push(r);
      for (const w of this.waiters.filter((w) => this.received.length >= w.n)) w.resolve();
      return (this.script.shift() ?? (() => new Response(null, { status: 200 })))(r);
    },
  });
  readonly url = `http://127.0.0.1:${this.server.port}`;

  then(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** Resolves once `n` reports have arrived in all. */
  receivedCount(n: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.received.length >= n) resolve();
      else this.waiters.push({ n, resolve });
    });
  }

  stop(): void {
    void this.server.stop(true);
  }
}

const status = (code: number, headers: Record<string, string> = {}, body: string | null = null): Answer => () => new Response(body, { status: code, headers });
const problem = (code: number, json: Record<string, unknown>): Answer => status(code, { "content-type": "application/problem+json" }, JSON.stringify(json));

let dir: string;
let store: StateStore;
let wfm: ReportWfm;
let sender: StatusSender;
let communicate = true;

function makeSender(opts: { random?: () => number } = {}): StatusSender {
  const client = new WfmClient({ baseUrl: wfm.url, clientId: () => "dev-1", fetch: (url, init) => fetch(url, init), requestTimeoutMs: 10_000, userAgent: "margo-agent-test" });
  return new StatusSender({ journal: store.journal, client, log: silentLogger, policy: POLICY, maxEntries: 1_000, random: opts.random ?? (() => 0), mayCommunicate: () => communicate });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sender-"));
  store = StateStore.open(openDatabase(join(dir, "state.db")), new FakeClock());
  wfm = new ReportWfm();
  communicate = true;
  sender = makeSender();
});
afterEach(() => {
  sender.stop();
  wfm.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Journals a report (as a state change would); its body names it. */
function journal(deploymentId: string, state = "installing"): string {
  const body = JSON.stringify({ deploymentId, state, n: ++n });
  store.journal.append(deploymentId, state, body);
  return body;
}

/** Runs one drain; returns the range the delay it scheduled must lie in. */
async function drainDelay(): Promise<{ lo: number; hi: number }> {
  const t0 = performance.now();
  await sender.drain();
  const t1 = performance.now();
  const at = sender.state.nextAttemptAtMs;
  expect(at).toBeDefined();
  return { lo: at! - t1, hi: at! - t0 };
}

function expectDelay(range: { lo: number; hi: number }, ms: number, slack = 0): void {
  expect(ms).toBeGreaterThanOrEqual(range.lo - slack);
  expect(ms).toBeLessThanOrEqual(range.hi + slack);
}

describe("delivery", () => {
  test("2xx deletes: 200, 201 and 204 are all acknowledgements", async () => {
    journal("a");
    journal("b");
    journal("c");
    wfm.then(status(200), status(201, {}, '{"ok":true}'), status(204));
    await sender.drain();
    expect(store.journal.counts()).toEqual({ pending: 0, parked: 0 });
    expect(sender.state).toMatchObject({ delivered: 3, failures: 0 });
    expect(sender.state.nextAttemptAtMs).toBeUndefined();
  });

  test("in order per deployment, deployments side by side (INV-JOURNAL-2)", async () => {
    const a = [journal("a", "pending"), journal("a", "installing"), journal("a", "installed")];
    const b = [journal("b", "pending"), journal("b", "installed")];
    await sender.drain();
    const got = (id: string) => wfm.received.filter((r) => r.deploymentId === id).map((r) => r.body);
    expect(got("a")).toEqual(a);
    expect(got("b")).toEqual(b);
    // The heads of both go out in one round: b's first report does not wait for all of a's.
    expect(wfm.received.slice(0, 2).map((r) => r.deploymentId).sort()).toEqual(["a", "b"]);
  });

  test("a report is never sent before the older one of its deployment was accepted", async () => {
    const first = journal("a", "pending");
    const second = journal("a", "installed");
    wfm.then(status(503));
    await sender.drain();
    expect(wfm.received.map((r) => r.body)).toEqual([first]);
    sender.retryNow();
    await wfm.receivedCount(3);
    expect(wfm.received.map((r) => r.body)).toEqual([first, first, second]);
  });

  test("at-least-once: a report leaves the outbox only on 2xx, and is sent again, byte for byte, until then", async () => {
    const body = journal("a", "failed");
    wfm.then(status(500));
    await sender.drain();
    const [entry] = store.journal.list("pending");
    expect(entry).toMatchObject({ body, attempts: 1, status: "pending" });
    expect(entry!.lastError).toStartWith("WFM_HTTP_ERROR: status report: WFM answered 500");

    // The WFM goes away altogether: still kept.
    wfm.stop();
    await sender.drain();
    expect(store.journal.list("pending")).toMatchObject([{ body, attempts: 2 }]);
    expect(store.journal.list("pending")[0]!.lastError).toStartWith("WFM_UNREACHABLE:");
    expect(sender.state.lastError?.code).toBe("WFM_UNREACHABLE");

    wfm = new ReportWfm();
    sender.stop();
    sender = makeSender();
    await sender.drain();
    expect(wfm.received.map((r) => r.body)).toEqual([body]);
    expect(store.journal.counts().pending).toBe(0);
  });

  test("400 and 422 park the report (kept, visible, never retried) and the next one goes on", async () => {
    journal("a", "pending");
    const next = journal("a", "installed");
    journal("b", "pending");
    wfm.then(problem(422, { title: "Unprocessable", detail: "components[0].state: unknown" }), status(400, {}, "bad body"));
    await sender.drain();
    const parked = store.journal.list("parked");
    expect(parked.map((e) => [e.deploymentId, e.lastError])).toEqual([
      ["a", "422 Unprocessable components[0].state: unknown"],
      ["b", "400 bad body"],
    ]);
    expect(wfm.received.at(-1)!.body).toBe(next);
    expect(store.journal.counts()).toEqual({ pending: 0, parked: 2 });
    expect(sender.state.failures).toBe(0);
    // Parked means never retried.
    const count = wfm.received.length;
    await sender.drain();
    expect(wfm.received.length).toBe(count);
  });

  test("problem+json retryable: false parks even a 503", async () => {
    journal("a");
    wfm.then(problem(503, { title: "Gone for good", retryable: false }));
    await sender.drain();
    expect(store.journal.counts()).toEqual({ pending: 0, parked: 1 });
  });
});

describe("backoff", () => {
  test("401/403: an identity problem, with backoff; cleared by the next delivery", async () => {
    sender = makeSender({ random: () => 0.5 });
    journal("a");
    wfm.then(status(401, {}, "unknown client"), status(403, {}, "certificate revoked"));
    // Full jitter with random 0.5: half of min(cap, base·2^failures).
    expectDelay(await drainDelay(), 500);
    expect(sender.state.identityProblem).toBe("401 unknown client");
    expect(sender.state.lastError).toMatchObject({ code: "IDENTITY_REJECTED" });
    expect(sender.state.lastError!.message).toContain("check onboarding and the device certificate");
    expectDelay(await drainDelay(), 1_000);
    expect(sender.state.identityProblem).toBe("403 certificate revoked");
    expect(sender.state.failures).toBe(2);
    await sender.drain();
    expect(sender.state.identityProblem).toBeUndefined();
    expect(sender.state.failures).toBe(0);
    expect(sender.state.nextAttemptAtMs).toBeUndefined();
  });

  test("429 and 503 with Retry-After in seconds: honoured, beyond the policy's maximum too (rc.3: MUST NOT retry before it elapses), up to a day", async () => {
    journal("a");
    wfm.then(status(429, { "retry-after": "7" }), status(503, { "retry-after": "86400" }));
    expectDelay(await drainDelay(), 7_000);
    expect(sender.state.lastError?.code).toBe("WFM_HTTP_ERROR");
    expectDelay(await drainDelay(), 86_400_000);
  });

  test("Retry-After as an HTTP-date: honoured, up to a day", async () => {
    journal("a");
    // HTTP-dates have whole seconds: the delay is that date less the wall time the answer was read at.
    const in45s = new Date(Math.ceil((Date.now() + 45_000) / 1000) * 1000);
    wfm.then(status(503, { "retry-after": in45s.toUTCString() }), status(503, { "retry-after": new Date(Date.now() + 3 * 86_400_000).toUTCString() }));
    const wall0 = Date.now();
    const range = await drainDelay();
    const wall1 = Date.now();
    // The delay lies between (date - wall1) and (date - wall0); the bracket above already holds the monotonic side.
    expect(range.hi).toBeGreaterThanOrEqual(in45s.getTime() - wall1 - 1);
    expect(range.lo).toBeLessThanOrEqual(in45s.getTime() - wall0 + 1);
    // Three days is taken as a mistake, not an instruction: a day at most (MAX_SERVER_DELAY_MS).
    expectDelay(await drainDelay(), 86_400_000);
  });

  test("problem+json hints: retryAfterSeconds, backoffStrategy fixed, the title and detail in the error", async () => {
    journal("a");
    wfm.then(
      problem(503, { title: "Maintenance", detail: "back soon", retryAfterSeconds: 9 }),
      problem(502, { backoffStrategy: "fixed" }),
      problem(500, { retryAfterSeconds: "soon", detail: 42 }), // malformed hints are ignored
    );
    expectDelay(await drainDelay(), 9_000);
    expect(sender.state.lastError!.message).toBe("status report: WFM answered 503 Maintenance back soon");
    expectDelay(await drainDelay(), POLICY.baseMs);
    // Our own backoff again: full jitter with random 0 gives the 1 ms floor.
    expectDelay(await drainDelay(), 1);
    expect(sender.state.failures).toBe(3);
  });

  test("one failed round is one step of backoff, however many reports were in flight", async () => {
    sender = makeSender({ random: () => 0.5 });
    for (const id of ["a", "b", "c", "d"]) journal(id);
    wfm.then(status(503), status(503), status(503), status(503));
    expectDelay(await drainDelay(), 500);
    expect(sender.state.failures).toBe(1);
  });

  test("a database error while draining is a failed round, not a silent stop", async () => {
    journal("a");
    wfm.then(status(503));
    // Recording the failed attempt fails too (a disk error): the round fails as a whole.
    store.db.exec("CREATE TEMP TRIGGER broken BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    await sender.drain();
    expect(sender.state.lastError).toMatchObject({ code: "INTERNAL" });
    expect(sender.state.lastError!.message).toContain("disk I/O error");
    expect(sender.state.failures).toBe(1);
    expect(sender.state.nextAttemptAtMs).toBeDefined();
    store.db.exec("DROP TRIGGER broken");
    await sender.drain();
    expect(wfm.received.length).toBe(2);
    expect(store.journal.counts().pending).toBe(0);
  });
});

describe("waking and downtime", () => {
  test("during downtime (mayCommunicate false) nothing is sent, nothing fails; it is looked at again in a minute", async () => {
    journal("a");
    communicate = false;
    expectDelay(await drainDelay(), 60_000);
    sender.wake(); // a new report during the window does not start a drain either
    expect(wfm.received).toEqual([]);
    expect(sender.state.failures).toBe(0);
    expect(sender.state.lastError).toBeUndefined();

    communicate = true;
    sender.retryNow();
    await wfm.receivedCount(1);
  });

  test("wake() sends new reports without being asked twice", async () => {
    journal("a");
    sender.wake();
    await wfm.receivedCount(1);
    journal("a", "installed");
    sender.wake();
    await wfm.receivedCount(2);
  });

  test("wake() keeps the outbox within maxEntries even while backing off", async () => {
    sender.stop();
    const client = new WfmClient({ baseUrl: wfm.url, clientId: () => "dev-1", fetch: (url, init) => fetch(url, init), requestTimeoutMs: 10_000, userAgent: "t" });
    sender = new StatusSender({ journal: store.journal, client, log: silentLogger, policy: POLICY, maxEntries: 100, random: () => 0 });
    journal("a", "pending");
    wfm.then(status(503, { "retry-after": "3600" }));
    await sender.drain();
    for (let i = 0; i < 150; i++) journal("a", "installing");
    sender.wake();
    expect(store.journal.counts().pending).toBeLessThanOrEqual(100);
    expect(store.journal.compacted()).toBeGreaterThan(0);
    expect(wfm.received.length).toBe(1); // still backing off
  });

  test("a compaction that fails on wake() is logged; the reconciler that woke the sender goes on", async () => {
    sender.stop();
    const client = new WfmClient({ baseUrl: wfm.url, clientId: () => "dev-1", fetch: (url, init) => fetch(url, init), requestTimeoutMs: 10_000, userAgent: "t" });
    sender = new StatusSender({ journal: store.journal, client, log: silentLogger, policy: POLICY, maxEntries: 10, random: () => 0, mayCommunicate: () => false });
    for (let i = 0; i < 20; i++) journal("a", "installing");
    store.db.exec("CREATE TEMP TRIGGER broken BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    expect(() => sender.wake()).not.toThrow();
    expect(store.journal.counts().pending).toBe(20);
  });

  test("retryNow() while a drain runs, and that drain then fails with a long Retry-After: the retry is not lost", async () => {
    const body = journal("a", "installed");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    wfm.then(async () => {
      await held;
      return status(503, { "retry-after": "3600" })({ deploymentId: "a", body });
    });
    const running = sender.drain();
    await wfm.receivedCount(1);
    // The WFM answered a poll meanwhile (or the operator asked): try now.
    sender.retryNow();
    release();
    await running;
    // The drain's failure scheduled an hour; the retry request outlived it.
    expect(sender.state.nextAttemptAtMs).toBeUndefined();
    await wfm.receivedCount(2);
    expect(wfm.received.map((r) => r.body)).toEqual([body, body]);
    while (store.journal.hasPending()) await Bun.sleep(1);
    expect(sender.state.delivered).toBe(1);
  });

  test("after stop(), nothing is sent", async () => {
    journal("a");
    sender.stop();
    sender.wake();
    sender.retryNow();
    await sender.drain();
    expect(wfm.received).toEqual([]);
  });
});
