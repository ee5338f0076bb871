/**
 * Issue 10 item 4: a passing failure while taking a manifest (a 404 or 503 on
 * an artifact, an artifact that never answers, a full disk while marking
 * pending) is retried with backoff and never remembered as a rejection; only
 * verdicts on the content are (INV-SYNC-2). The attack: a WFM that answers the
 * manifest but fails the artifact, as a third-party WFM mounted wrongly did.
 *
 * Invariants held here (docs/architecture.md): INV-SYNC-2.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import type { PollOutcome } from "../../../src/sync/desired-state-sync.ts";
import { drained, type Harness, makeAgent } from "../../support/agent-harness.ts";
import { deploymentYaml, type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";

const CLIENT = "/api/v1/clients/test-device";
const BUNDLE_TYPE = "application/vnd.margo.bundle.v1+tar+gzip";

/** In front of the fake WFM: chosen paths fail the way a flaky or misrouted WFM fails. */
type Fault = "404" | "503" | "hang";
let wfm: FakeWfm;
let front: ReturnType<typeof Bun.serve>;
const faults = new Map<string, Fault>();
const seen: { path: string; ifNoneMatch: string | null }[] = [];

beforeAll(() => {
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n", "application/yaml");
  front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname, ifNoneMatch: req.headers.get("if-none-match") });
      const fault = faults.get(url.pathname);
      if (fault === "404") return new Response("no such bundle", { status: 404 });
      if (fault === "503") return new Response("busy", { status: 503 });
      if (fault === "hang") return new Promise<Response>(() => {});
      return fetch(`${wfm.url}${url.pathname}`, { headers: req.headers, method: req.method, body: req.body });
    },
  });
});
afterAll(() => {
  front.stop(true);
  wfm.stop();
});

function publishBundle(v: number, id: string) {
  const yaml = deploymentYaml(id, `${wfm.url}/pkg/compose.yaml`);
  const ref = { deploymentId: id, digest: sha256Digest(yaml), sizeBytes: yaml.length, url: `${CLIENT}/deployments/${id}/${sha256Digest(yaml)}` };
  wfm.set(ref.url, yaml, "application/yaml");
  const bundle = writeTarGz([{ path: `${id}.yaml`, data: new TextEncoder().encode(yaml) }]);
  const bundleUrl = `${CLIENT}/bundles/${sha256Digest(bundle)}`;
  wfm.set(bundleUrl, bundle, BUNDLE_TYPE);
  wfm.setManifest(JSON.stringify({ manifestVersion: v, bundle: { mediaType: BUNDLE_TYPE, digest: sha256Digest(bundle), sizeBytes: bundle.length, url: bundleUrl }, deployments: [ref] }));
  return { bundleUrl, yamlUrl: ref.url };
}

/** Writes zeros until the file system says ENOSPC. */
function fillUp(path: string) {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

const code = (r: PollOutcome) => ("error" in r ? r.error.code : undefined);
const signal = new AbortController().signal;

async function expectRetriedThenApplied(h: Harness, failingPath: string, fault: Fault, expectedCode: string) {
  faults.set(failingPath, fault);
  const first = await h.agent.sync.poll(signal);
  expect([first.outcome, code(first) as string | undefined]).toEqual(["retrying", expectedCode]);
  expect(h.logs().some((l) => l.code === expectedCode && l.level === "warn" && String(l.msg).includes("trying again"))).toBe(true);
  expect(h.logs().some((l) => l.level === "error" && String(l.msg).includes("refused"))).toBe(false);

  // Within the backoff the agent asks with the failed ETag: a 304, no artifact fetched again.
  const fetchesBefore = seen.filter((s) => s.path === failingPath).length;
  const second = await h.agent.sync.poll(signal);
  expect(second.outcome).toBe("retrying");
  expect(seen.filter((s) => s.path === failingPath).length).toBe(fetchesBefore);

  // The WFM mends itself; once the backoff has passed the same manifest is fetched and applied.
  faults.delete(failingPath);
  await Bun.sleep((first as { retryInMs: number }).retryInMs + 50);
  const third = await h.agent.sync.poll(signal);
  expect(third.outcome).toBe("applied");
  expect(h.agent.store.listDeployments().map((d) => d.state)).toEqual(["installed"]);
  await drained(h.agent);
}

describe("a passing failure is retried, not remembered", () => {
  test("a 404 on the bundle (a WFM mounted under a prefix the manifest forgot)", async () => {
    const h = makeAgent({ wfmUrl: front.url.href.replace(/\/$/, "") });
    const { bundleUrl } = publishBundle(1, "dep-404");
    await expectRetriedThenApplied(h, bundleUrl, "404", "WFM_HTTP_ERROR");
    await h.agent.stop();
  }, 20_000);

  test("a 503 on the bundle", async () => {
    const h = makeAgent({ wfmUrl: front.url.href.replace(/\/$/, "") });
    const { bundleUrl } = publishBundle(1, "dep-503");
    await expectRetriedThenApplied(h, bundleUrl, "503", "WFM_HTTP_ERROR");
    await h.agent.stop();
  }, 20_000);

  test("a bundle that never answers (timeout)", async () => {
    const h = makeAgent({ wfmUrl: front.url.href.replace(/\/$/, ""), sets: ["wfm.requestTimeout=1s"] });
    const { bundleUrl } = publishBundle(1, "dep-hang");
    await expectRetriedThenApplied(h, bundleUrl, "hang", "WFM_UNREACHABLE");
    await h.agent.stop();
  }, 20_000);

  test("a full disk while marking the deployments pending", async () => {
    // A real ENOSPC: the data directory on a small tmpfs, filled to the last byte.
    const dataDir = mkdtempSync(join(tmpdir(), "full-disk-"));
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dataDir]).exitCode === 0;
    if (!mounted) {
      if (process.env.CI) throw new Error("cannot mount a tmpfs for the full-disk test (root is needed)");
      console.warn("skipped: cannot mount a tmpfs here");
      return;
    }
    try {
      const h = makeAgent({ wfmUrl: front.url.href.replace(/\/$/, ""), dataDir, sets: ["packages.reserve=1KiB"] });
      publishBundle(1, "dep-full");
      fillUp(join(dataDir, "filler"));
      const first = await h.agent.sync.poll(signal);
      expect([first.outcome, code(first)]).toEqual(["retrying", "INTERNAL"]);
      expect(h.agent.store.lastManifestVersion()).toBeNull();
      rmSync(join(dataDir, "filler"));
      await Bun.sleep((first as { retryInMs: number }).retryInMs + 50);
      expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
      await h.agent.stop();
    } finally {
      Bun.spawnSync(["umount", "-l", dataDir]);
    }
  }, 20_000);
});

test("a verdict on the content is remembered: the same manifest is not fetched again", async () => {
  const h = makeAgent({ wfmUrl: front.url.href.replace(/\/$/, "") });
  const { bundleUrl } = publishBundle(1, "dep-bad");
  // Serve other bytes under the bundle's content address: a digest mismatch.
  wfm.set(bundleUrl, new Uint8Array([1, 2, 3]), BUNDLE_TYPE);
  const first = await h.agent.sync.poll(signal);
  expect([first.outcome, code(first)]).toEqual(["rejected", "DIGEST_MISMATCH"]);
  const fetches = seen.filter((s) => s.path === bundleUrl).length;
  for (let i = 0; i < 3; i++) expect((await h.agent.sync.poll(signal)).outcome).toBe("still-rejected");
  expect(seen.filter((s) => s.path === bundleUrl).length).toBe(fetches);
  await h.agent.stop();
});
