/**
 * Issue 10, item 15: journal.maxEntries must hold while the sender is busy or
 * backing off and new reports keep arriving. Compaction used to run only when
 * a drain started, so a sender that never went idle (a slow WFM) or sat in a
 * long backoff (a WFM answering 503 with Retry-After) let the outbox grow far
 * past the bound (26,927 pending with maxEntries 10,000). A real Agent (real
 * SQLite, simulated runtime) against a real HTTP WFM that publishes one
 * manifest version after another; the pending count is sampled at every report
 * the WFM receives and after every sync.
 *
 * Invariants held here (docs/architecture.md): INV-JOURNAL-2.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeTarGz } from "../../../src/archive/index.ts";
import type { Agent } from "../../../src/agent/agent.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";
import { buildAgent, tempDir, testConfig } from "../api/agent-fixture.ts";
import { deploymentYaml } from "../api/tiny-wfm.ts";

const MAX_ENTRIES = 10;
const DEPLOYMENTS = ["dep-a", "dep-b", "dep-c", "dep-d"];

interface VersionedWfm {
  url: string;
  publish(version: number): void;
  /** "refuse": 503 with a long Retry-After (the sender backs off); "slow": 201 after a pause (the sender stays busy); "accept": 201 at once. */
  reports: "refuse" | "slow" | "accept";
  received: { deploymentId: string; body: Record<string, unknown> }[];
  onRequest?: () => void;
  stop(): void;
}

function startVersionedWfm(): VersionedWfm {
  let manifest = "";
  let etag = "";
  const files = new Map<string, { body: Uint8Array; type: string }>();
  const wfm: VersionedWfm = {
    url: "",
    reports: "accept",
    received: [],
    publish(version) {
      const docs = DEPLOYMENTS.map((id) => {
        const yaml = deploymentYaml(id, `app-${id}`, { params: { v: { value: `v${version}`, pointer: "VERSION" } } });
        return { id, bytes: new TextEncoder().encode(yaml), digest: sha256Digest(yaml) };
      });
      const bundle = writeTarGz(docs.map((d) => ({ path: `${d.id}.yaml`, data: d.bytes })));
      const bundleDigest = sha256Digest(bundle);
      files.set(`/api/v1/clients/dev-1/bundles/${bundleDigest}`, { body: bundle, type: BUNDLE_MEDIA_TYPE });
      for (const d of docs) files.set(`/api/v1/clients/dev-1/deployments/${d.id}/${d.digest}`, { body: d.bytes, type: "application/yaml" });
      manifest = JSON.stringify({
        manifestVersion: version,
        bundle: { mediaType: BUNDLE_MEDIA_TYPE, digest: bundleDigest, url: `/api/v1/clients/dev-1/bundles/${bundleDigest}` },
        deployments: docs.map((d) => ({ deploymentId: d.id, digest: d.digest, url: `/api/v1/clients/dev-1/deployments/${d.id}/${d.digest}` })),
      });
      etag = `"${sha256Digest(manifest)}"`;
    },
    stop: () => void server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      wfm.onRequest?.();
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/api/v1/clients/dev-1/deployments") {
        if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304 });
        return new Response(manifest, { headers: { "content-type": MANIFEST_MEDIA_TYPE, etag } });
      }
      const file = files.get(path);
      if (req.method === "GET" && file) return new Response(file.body, { headers: { "content-type": file.type } });
      const status = /^\/api\/v1\/clients\/dev-1\/deployments\/([^/]+)\/status$/.exec(path);
      if (req.method === "POST" && status) {
        const body = (await req.json()) as Record<string, unknown>;
        if (wfm.reports === "refuse") return new Response("busy", { status: 503, headers: { "retry-after": "3600" } });
        if (wfm.reports === "slow") await Bun.sleep(150);
        wfm.received.push({ deploymentId: status[1]!, body });
        return new Response(null, { status: 201 });
      }
      return new Response("not found", { status: 404 });
    },
  });
  wfm.url = `http://127.0.0.1:${server.port}`;
  return wfm;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setUp(reports: VersionedWfm["reports"]): Promise<{ wfm: VersionedWfm; agent: Agent; maxSeen: () => number; sample: () => void }> {
  const wfm = startVersionedWfm();
  wfm.reports = reports;
  const dir = tempDir("margo-journal-bound-");
  const agent = buildAgent(testConfig(dir.dir, wfm.url, [`journal.maxEntries=${MAX_ENTRIES}`, "journal.retryMax=10m"]));
  let max = 0;
  const sample = () => {
    max = Math.max(max, agent.journal.counts().pending);
  };
  wfm.onRequest = sample;
  cleanup.push(async () => {
    await agent.stop();
    wfm.stop();
    dir.remove();
  });
  // Not started: no poll timer, every sync is the test's own.
  return { wfm, agent, maxSeen: () => max, sample };
}

/** Six manifest versions, each updating all four deployments: 3 reports each (pending, installing, installed), 72 in all. */
async function publishVersions(wfm: VersionedWfm, agent: Agent, sample: () => void): Promise<void> {
  for (let version = 1; version <= 6; version++) {
    wfm.publish(version);
    const outcome = await agent.syncNow();
    expect(outcome.outcome).toBe("applied");
    sample();
  }
}

describe("journal.maxEntries holds while reports keep coming", () => {
  test("the sender backs off (503, Retry-After: 3600) while 72 reports are journaled: never more than maxEntries pending", async () => {
    const { wfm, agent, maxSeen, sample } = await setUp("refuse");
    await publishVersions(wfm, agent, sample);
    // It really was backing off: a drain under way when the last version landed may still be
    // waiting for its 503s on a loaded machine, so wait for the failed round (bounded).
    for (let i = 0; i < 200 && agent.sender.state.failures === 0; i++) await Bun.sleep(25);
    expect(agent.sender.state.failures).toBeGreaterThan(0);
    expect(maxSeen()).toBeLessThanOrEqual(MAX_ENTRIES);
    expect(agent.journal.counts().pending).toBeLessThanOrEqual(MAX_ENTRIES);
    expect(agent.journal.compacted()).toBeGreaterThan(0);
    // Compaction never drops the latest report of a deployment: when the WFM is back, each gets its last state.
    wfm.reports = "accept";
    agent.sender.retryNow();
    for (let i = 0; i < 200 && agent.journal.counts().pending > 0; i++) await Bun.sleep(25);
    expect(agent.journal.counts().pending).toBe(0);
    for (const id of DEPLOYMENTS) {
      const last = wfm.received.filter((r) => r.deploymentId === id).at(-1);
      expect({ id, state: (last?.body.status as { state?: string })?.state, mv: last?.body.adoptedManifestVersion }).toEqual({ id, state: "installed", mv: 6 });
    }
  }, 60_000);

  test("a slow WFM keeps the sender busy (it never goes idle) while 72 reports are journaled: never more than maxEntries pending", async () => {
    const { wfm, agent, maxSeen, sample } = await setUp("slow");
    await publishVersions(wfm, agent, sample);
    expect(maxSeen()).toBeLessThanOrEqual(MAX_ENTRIES);
    for (let i = 0; i < 400 && agent.journal.counts().pending > 0; i++) await Bun.sleep(25);
    expect(agent.journal.counts().pending).toBe(0);
    for (const id of DEPLOYMENTS) {
      const last = wfm.received.filter((r) => r.deploymentId === id).at(-1);
      expect((last?.body.status as { state?: string })?.state).toBe("installed");
      expect(last?.body.adoptedManifestVersion).toBe(6);
    }
  }, 60_000);
});
