/**
 * Issue 13 item 5: the dev WFM serves examples/hello's packages from a small
 * read-only OCI endpoint of its own, and a real agent installs them through
 * its OCI puller (the same code that talks to a real registry): digests stable
 * across requests, the version annotation the tag, unknown names and non-SemVer
 * tags answered as a registry answers them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { startDevWfm, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { drained, makeAgent } from "../../support/agent-harness.ts";

const EXAMPLE = resolve(import.meta.dir, "../../../examples/hello");
let wfm: StartedDevWfm;

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "devwfm-oci-")), "hello");
  cpSync(EXAMPLE, dir, { recursive: true });
  wfm = await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", stateFile: join(dir, "..", "state.json") });
});
afterAll(() => wfm.stop());

test("the endpoint answers like a registry: manifest by tag (artifactType, one layer, the tag as version), the layer by digest, 404s in the registry's error format", async () => {
  const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
  expect((await fetch(`${wfm.url}/v2/`)).status).toBe(200);
  const res = await fetch(`${wfm.url}/v2/packages/web/manifests/1.0.0`, { headers: accept });
  expect(res.status).toBe(200);
  const manifest = (await res.json()) as { artifactType: string; layers: { digest: string; mediaType: string }[]; annotations: Record<string, string> };
  expect(manifest.artifactType).toBe("application/vnd.org.margo.component.compose+json");
  expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/vnd.org.margo.component.compose.tar+gzip"]);
  expect(manifest.annotations["org.margo.component.version"]).toBe("1.0.0");
  const again = (await (await fetch(`${wfm.url}/v2/packages/web/manifests/1.0.0`, { headers: accept })).json()) as typeof manifest;
  expect(again.layers[0]!.digest).toBe(manifest.layers[0]!.digest);
  const blob = await fetch(`${wfm.url}/v2/packages/web/blobs/${manifest.layers[0]!.digest}`);
  expect(blob.status).toBe(200);
  expect(`sha256:${new Bun.CryptoHasher("sha256").update(new Uint8Array(await blob.arrayBuffer())).digest("hex")}`).toBe(manifest.layers[0]!.digest);
  const unknown = await fetch(`${wfm.url}/v2/packages/nope/manifests/1.0.0`);
  expect([unknown.status, ((await unknown.json()) as { errors: { code: string }[] }).errors[0]!.code]).toEqual([404, "NAME_UNKNOWN"]);
  expect((await fetch(`${wfm.url}/v2/packages/web/manifests/latest`)).status).toBe(404);
  expect((await fetch(`${wfm.url}/v2/packages/..%2F..%2Fetc/manifests/1.0.0`)).status).toBe(404);
});

test("an agent installs examples/hello from it, both components through the OCI puller", async () => {
  const h = makeAgent({ wfmUrl: wfm.url, clientId: undefined, sets: ["wfm.clientId=device-oci"] });
  const r = await h.agent.sync.poll(new AbortController().signal);
  expect(r.outcome).toBe("applied");
  const [dep] = h.agent.store.listDeployments();
  expect([dep?.name, dep?.state, dep?.error?.message]).toEqual(["hello-world", "installed", undefined]);
  const sim = h.runtime as SimulatedRuntime;
  expect(sim.container(dep!.id, "web")?.env).toEqual({ GREETING: "Hello from Margo" });
  expect(sim.container(dep!.id, "worker")).toBeDefined();
  await drained(h.agent);
  await h.agent.stop();
}, 30_000);
