/**
 * A memory-leak test (after ky's): thousands of polls through the real client,
 * sender and local API must not grow the live heap. Measured as live objects
 * after a full GC, which is deterministic enough; RSS is not (allocator caches).
 */
import { afterAll, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { startLocalApi } from "../../../src/api/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { makeAgent } from "../../support/agent-harness.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";

const wfm = startFakeWfm();
afterAll(() => wfm.stop());

test("3,000 polls (half through the local API) leave the live heap where it was", async () => {
  wfm.setManifest(JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [] }));
  const h = makeAgent({ wfmUrl: wfm.url, sets: ["api.listen=127.0.0.1:0"] });
  const api = await startLocalApi({ agent: h.agent.readModel(), config: h.config, platform: bunPlatform, log: silentLogger });
  const round = async () => {
    for (let i = 0; i < 500; i++) await h.agent.syncNow();
    for (let i = 0; i < 500; i++) await (await fetch(`${api.url}/v1/sync`, { method: "POST" })).arrayBuffer();
    wfm.requests.length = 0; // the fake WFM's own log is not the agent's memory
    Bun.gc(true);
    return heapStats().objectCount;
  };
  await round(); // warm-up: JIT, caches, connection pool
  const first = await round();
  await round();
  const last = await round();
  expect(last).toBeLessThan(first * 1.05);
  await api.stop();
  await h.agent.stop();
}, 120_000);
