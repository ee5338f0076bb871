/**
 * The local API over real HTTP against a real Agent (SQLite in a temp dir,
 * simulated runtime, a tiny real WFM). Non-loopback callers are simulated by a
 * platform whose server reports a TEST-NET peer address: every request still
 * goes through a real socket, but no traffic leaves the machine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startLocalApi, type LocalApiHandle } from "../../../src/api/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import type { Agent } from "../../../src/agent/agent.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { silentLogger } from "../../../src/log.ts";
import type { Platform } from "../../../src/platform/types.ts";
import { parsePrometheusText } from "../../support/prometheus-text.ts";
import { buildAgent, tempDir, testConfig } from "./agent-fixture.ts";
import { deploymentYaml, startTinyWfm, type TinyWfm } from "./tiny-wfm.ts";

const TOKEN = "field-engineer-token-0123456789";
const REMOTE = "192.0.2.10"; // TEST-NET-1: never routed, only reported as the peer

/** Real sockets, but the server tells the API the peer is REMOTE. */
const remotePeerPlatform: Platform = { ...bunPlatform, serve: (fetch, opts) => bunPlatform.serve((req) => fetch(req, { address: REMOTE }), opts) };

let tmp: ReturnType<typeof tempDir>;
let wfm: TinyWfm;
let agent: Agent;
const apis: LocalApiHandle[] = [];

function api(sets: string[], platform: Platform = bunPlatform): LocalApiHandle {
  const handle = startLocalApi({ agent: agent.readModel(), config: testConfig(tmp.dir, wfm.url, sets), platform, log: silentLogger });
  apis.push(handle);
  return handle;
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(50);
  if (!check()) throw new Error(`gave up waiting for ${what}`);
}

async function json(res: Response): Promise<any> {
  expect(res.headers.get("content-type")).toContain("application/json");
  return res.json();
}

beforeAll(async () => {
  tmp = tempDir("margo-api-");
  wfm = startTinyWfm([
    { id: "dep-ok", yaml: deploymentYaml("dep-ok", "web", { params: { dbPassword: { value: "hunter2", pointer: "DB_PASSWORD" }, region: { value: "eu-1", pointer: "REGION" } } }) },
    { id: "dep-bad", yaml: deploymentYaml("dep-bad", "worker", { broken: true }) },
  ]);
  wfm.acceptReports = false; // reports stay pending: the journal has something to show
  agent = buildAgent(testConfig(tmp.dir, wfm.url));
  await agent.start();
  await agent.syncNow();
  await until("a failed report round", () => agent.sender.state.failures > 0);
}, 30_000);

afterAll(async () => {
  for (const a of apis) await a.stop();
  await agent?.stop();
  await wfm?.stop();
  tmp?.remove();
});

describe("GET routes, loopback, no token configured", () => {
  let base: string;
  beforeAll(() => {
    base = api(["api.listen=127.0.0.1:0"]).url;
  });

  test("/healthz and /readyz answer ok after a successful poll", async () => {
    expect(await json(await fetch(`${base}/healthz`))).toEqual({ ok: true });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({ ok: true });
  });

  test("/v1/status tells version, executable digest, poll, manifestVersion, runtime, reports, plan and backoff", async () => {
    const res = await fetch(`${base}/v1/status`);
    expect(res.status).toBe(200);
    const s = await json(res);
    const exe = bunPlatform.executablePath();
    expect(s.agent.executable).toBe(exe);
    expect(s.agent.executableSha256).toBe(`sha256:${createHash("sha256").update(readFileSync(exe)).digest("hex")}`);
    expect(typeof s.agent.version).toBe("string");
    expect(s.agent.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(s.agent.bytesWrittenSinceStart === null || typeof s.agent.bytesWrittenSinceStart === "number").toBe(true);
    expect(s.device.clientId).toBe("dev-1");
    expect(s.wfm.url).toBe(wfm.url);
    expect(s.manifestVersion).toBe("1");
    expect(typeof s.manifestAppliedAt).toBe("string");
    expect(s.poll.lastOutcome).toMatch(/applied|not-modified/);
    expect(s.poll.counts.applied).toBe(1);
    expect(s.poll.nextAt).not.toBeNull();
    expect(s.runtime).toMatchObject({ name: "simulated", reachable: true });
    expect(s.reports.pending).toBeGreaterThan(0);
    expect(s.reports.parked).toBe(0);
    expect(s.sender.failures).toBeGreaterThan(0);
    expect(s.sender.lastError.code).toBe("WFM_HTTP_ERROR");
    expect(s.downtimeWindow).toBeNull();
    expect(s.lastPlan.steps.map((x: { action: string; deploymentId: string }) => `${x.action} ${x.deploymentId}`).sort()).toEqual(["add dep-bad", "add dep-ok"]);
    expect(s.lastPlan.steps[0].reason).toBe("new in the desired state");
    expect(s.backoff).toHaveLength(1);
    expect(s.backoff[0]).toMatchObject({ deploymentId: "dep-bad", failures: 1 });
    expect(Date.parse(s.backoff[0].nextRetryAt)).toBeGreaterThan(Date.now() - 1000);
  });

  test("/v1/deployments lists state, since, error and components", async () => {
    const { deployments } = await json(await fetch(`${base}/v1/deployments`));
    expect(deployments.map((d: { id: string }) => d.id)).toEqual(["dep-bad", "dep-ok"]);
    const [bad, ok] = deployments;
    expect(ok).toMatchObject({ name: "web", state: "installed", error: null, wanted: true, components: [{ name: "app", state: "installed", error: null }] });
    expect(ok.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bad.state).toBe("failed");
    expect(bad.error.code).toBe("COMPONENT_APPLY_FAILED");
    expect(bad.error.message).toContain("broken:1 not found");
    expect(Number.isNaN(Date.parse(bad.since))).toBe(false);
  });

  test("/v1/deployments/{id} shows history, last known good and masked parameters; 404 JSON otherwise", async () => {
    const d = await json(await fetch(`${base}/v1/deployments/dep-ok`));
    expect(d.lastKnownGoodDigest).toBe(d.digest);
    expect(d.profileType).toBe("compose");
    expect(d.applicationId).toBe("app-web");
    expect(d.history[0].state).toBe("installed");
    expect(d.history.map((h: { state: string }) => h.state)).toContain("installing");
    expect(d.parameters).toEqual([
      { name: "dbPassword", value: "***", masked: true, targets: [{ pointer: "DB_PASSWORD", components: ["app"] }] },
      { name: "region", value: "eu-1", masked: false, targets: [{ pointer: "REGION", components: ["app"] }] },
    ]);
    expect(JSON.stringify(d)).not.toContain("hunter2");
    expect(d.pendingReports).toBeGreaterThan(0);
    const bad = await json(await fetch(`${base}/v1/deployments/dep-bad`));
    expect(bad.lastKnownGoodDigest).toBeNull();
    expect(bad.retry).toMatchObject({ deploymentId: "dep-bad", failures: 1 });
    expect(bad.history[0].error.code).toBe("COMPONENT_APPLY_FAILED");

    const missing = await fetch(`${base}/v1/deployments/nope`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: { code: "API_NOT_FOUND", message: 'no deployment with id "nope" on this device' } });
    const noRoute = await fetch(`${base}/v2/anything`);
    expect(noRoute.status).toBe(404);
    expect((await json(noRoute)).error.code).toBe("API_NOT_FOUND");
  });

  test("/v1/journal lists pending reports with attempts, last error and age", async () => {
    const j = await json(await fetch(`${base}/v1/journal`));
    expect(j.counts.pending).toBe(j.pending.length);
    expect(j.parked).toEqual([]);
    const tried = j.pending.find((e: { attempts: number }) => e.attempts > 0);
    expect(tried).toBeDefined();
    expect(tried.lastError).toContain("503");
    expect(tried.delivery).toBe("queued");
    expect(tried.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(new Set(j.pending.map((e: { deploymentId: string }) => e.deploymentId))).toEqual(new Set(["dep-ok", "dep-bad"]));
  });

  test("/metrics is valid Prometheus 0.0.4 with every documented family", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusText(await res.text());
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toEqual({
      margo_agent_build_info: "gauge",
      margo_agent_polls_total: "counter",
      margo_agent_reconcile_duration_seconds: "summary",
      margo_agent_deployments: "gauge",
      margo_agent_journal_pending: "gauge",
      margo_agent_journal_parked: "gauge",
      margo_agent_journal_compacted_total: "counter",
      margo_agent_last_successful_poll_timestamp_seconds: "gauge",
    });
    for (const f of families.values()) expect(f.help?.length).toBeGreaterThan(0);
    const value = (name: string, labels: Record<string, string> = {}) =>
      [...families.values()].flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value("margo_agent_polls_total", { outcome: "applied" })).toBe(1);
    expect(value("margo_agent_polls_total", { outcome: "unreachable" })).toBe(0);
    expect(value("margo_agent_deployments", { state: "failed" })).toBe(1);
    expect(value("margo_agent_deployments", { state: "installed" })).toBe(1);
    expect(value("margo_agent_journal_pending")).toBeGreaterThan(0);
    expect(value("margo_agent_reconcile_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(value("margo_agent_last_successful_poll_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(value("margo_agent_build_info")).toBe(1);
  });

  test("POST /v1/sync polls now and returns the outcome; a remote sync with no token is forbidden", async () => {
    const before = agent.snapshot().pollCounts["not-modified"] ?? 0;
    const res = await fetch(`${base}/v1/sync`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ outcome: "not-modified", manifestVersion: null, error: null, steps: [] });
    expect(agent.snapshot().pollCounts["not-modified"]).toBe(before + 1);

    const remote = api(["api.listen=127.0.0.1:0"], remotePeerPlatform).url;
    const refused = await fetch(`${remote}/v1/sync`, { method: "POST" });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error.code).toBe("API_FORBIDDEN");
  });
});

describe("token rules", () => {
  test("a non-loopback bind without a token refuses to start, naming api.listen and api.token", () => {
    let caught: unknown;
    try {
      api(["api.listen=0.0.0.0:0"]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AgentError);
    expect((caught as AgentError).code).toBe("CONFIG_INVALID");
    expect((caught as AgentError).message).toMatch(/api\.listen.*api\.token/);
  });

  test("with a token: loopback reads need none, loopback sync needs it", async () => {
    const base = api(["api.listen=127.0.0.1:0", `api.token=${TOKEN}`]).url;
    expect((await fetch(`${base}/v1/status`)).status).toBe(200);
    const noToken = await fetch(`${base}/v1/sync`, { method: "POST" });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("www-authenticate")).toContain("Bearer");
    expect((await json(noToken)).error.code).toBe("API_UNAUTHORIZED");
    const wrong = await fetch(`${base}/v1/sync`, { method: "POST", headers: { authorization: "Bearer not-the-right-token-000" } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${base}/v1/sync`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect((await json(right)).outcome).toBe("not-modified");
  });

  test("with a token: remote callers need it on every route", async () => {
    const base = api(["api.listen=0.0.0.0:0", `api.token=${TOKEN}`], remotePeerPlatform).url;
    for (const path of ["/healthz", "/readyz", "/v1/status", "/v1/deployments", "/v1/deployments/dep-ok", "/v1/journal", "/metrics"]) {
      const missing = await fetch(`${base}${path}`);
      expect(missing.status).toBe(401);
      expect((await json(missing)).error).toEqual({ code: "API_UNAUTHORIZED", message: "missing Authorization: Bearer <api.token>" });
      const wrong = await fetch(`${base}${path}`, { headers: { authorization: "Bearer wrong-token-wrong-token" } });
      expect(wrong.status).toBe(401);
      expect((await json(wrong)).error.message).toBe("wrong token in Authorization: Bearer");
      const right = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(right.status).toBe(200);
    }
    const sync = await fetch(`${base}/v1/sync`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(sync.status).toBe(200);
  });
});

describe("unix socket", () => {
  test("listens with mode 0660, answers, and removes the socket on stop", async () => {
    const path = join(tmp.dir, "api.sock");
    const handle = startLocalApi({ agent: agent.readModel(), config: testConfig(tmp.dir, wfm.url, [`api.listen=unix:${path}`]), platform: bunPlatform, log: silentLogger });
    try {
      expect(handle.url).toBe(`unix:${path}`);
      expect(statSync(path).mode & 0o777).toBe(0o660);
      const res = await fetch("http://localhost/v1/status", { unix: path } as RequestInit);
      expect(res.status).toBe(200);
      expect((await json(res)).manifestVersion).toBe("1");
    } finally {
      await handle.stop();
    }
    expect(() => statSync(path)).toThrow();
  });
});

describe("probes of an agent whose loop is not healthy", () => {
  test("/healthz 503 when the poll is long overdue and nothing moved; /readyz 503 with reasons before any poll", async () => {
    const dir = tempDir("margo-api-idle-");
    const idle = buildAgent(testConfig(dir.dir, "http://127.0.0.1:9"));
    // The probes see the agent through its read model; this one can be made to look wedged.
    let wedged = false;
    const model = idle.readModel();
    const view = { ...model, snapshot: () => (wedged ? { ...model.snapshot(), nextPollAtMs: Date.now() - 10 * 3600_000, startedAtMs: Date.now() - 10 * 3600_000 } : model.snapshot()) };
    const handle = startLocalApi({ agent: view, config: testConfig(dir.dir, "http://127.0.0.1:9", ["api.listen=127.0.0.1:0"]), platform: bunPlatform, log: silentLogger });
    try {
      expect((await fetch(`${handle.url}/healthz`)).status).toBe(200);
      // A poll due ten hours ago never completed, and since then (the agent started ten hours ago,
      // this one never ran) no report was journaled and the WFM never answered: a wedged loop.
      wedged = true;
      const sick = await fetch(`${handle.url}/healthz`);
      expect(sick.status).toBe(503);
      const body = await json(sick);
      expect(body.ok).toBe(false);
      expect(body.reasons[0]).toContain("has not completed a poll");
      expect(body.reasons[0]).toContain("no progress");
      const notReady = await fetch(`${handle.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect((await json(notReady)).reasons).toEqual(["no poll completed yet"]);
    } finally {
      await handle.stop();
      await idle.stop();
      dir.remove();
    }
  });
});
