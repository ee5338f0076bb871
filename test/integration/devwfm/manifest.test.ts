/**
 * The dev WFM's desired state, seen through a real HTTP client: the manifest is
 * what the OpenAPI and the agent's own parser accept, its ETag is the digest of
 * its bytes, and manifestVersion moves exactly when the folder's content does.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import path from "node:path";
import { readTarGz } from "../../../src/archive/index.ts";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { parseManifest } from "../../../src/protocol/manifest.ts";
import { assertValid } from "../../support/openapi.ts";
import { deploymentYaml, getManifest, MANIFEST_TYPE, manifestJson, startIn, tempDir, writeFile } from "./helpers.ts";

const A = "0b6f6e4a-1c1e-4e5b-9a59-3c1f0e2d4a01";
const B = "7d2c9f10-8a3b-4f6e-b1d2-5e4f3a2b1c02";
const LIMITS = { maxEntries: 100, maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 22 };

let dir: string;
let cleanup: () => void;
let wfm: StartedDevWfm | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
  cleanup();
});

describe("state manifest", () => {
  test("validates against the OpenAPI schema, parses with the agent's parser, and its ETag is the digest of the body", async () => {
    writeFile(dir, "b.yaml", deploymentYaml(B));
    writeFile(dir, "a.yml", deploymentYaml(A));
    wfm = await startIn(dir);
    const res = await getManifest(wfm);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(MANIFEST_TYPE);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("etag")).toBe(`"${sha256Digest(bytes)}"`);

    const json = JSON.parse(new TextDecoder().decode(bytes));
    assertValid("UnsignedAppStateManifest", json);
    const parsed = parseManifest(bytes);
    expect(parsed.manifestVersion).toBe(1n);
    // Sorted by id, keys in the protocol's order.
    expect(json.deployments.map((d: { deploymentId: string }) => d.deploymentId)).toEqual([A, B]);
    expect(Object.keys(json)).toEqual(["manifestVersion", "bundle", "deployments"]);
    expect(Object.keys(json.bundle)).toEqual(["mediaType", "digest", "sizeBytes", "url"]);
    expect(Object.keys(json.deployments[0])).toEqual(["deploymentId", "digest", "sizeBytes", "url"]);
    expect(json.bundle.url).toBe(`/api/v1/clients/client-1/bundles/${json.bundle.digest}`);
    expect(json.deployments[0].url).toBe(`/api/v1/clients/client-1/deployments/${A}/${json.deployments[0].digest}`);

    // Deterministic: the same folder gives the same bytes again.
    const again = new Uint8Array(await (await getManifest(wfm)).arrayBuffer());
    expect(again).toEqual(bytes);
  });

  test("the URLs name the asking client, any clientId is served", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    const m = await manifestJson(wfm, "someone-else");
    expect(m.deployments[0]!.url.startsWith("/api/v1/clients/someone-else/deployments/")).toBe(true);
    expect((await fetch(wfm.url + m.deployments[0]!.url)).status).toBe(200);
  });

  test("If-None-Match with the current ETag gives 304 without a body; a stale one gives 200", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    const first = await getManifest(wfm);
    const etag = first.headers.get("etag")!;
    const cached = await getManifest(wfm, "client-1", { "If-None-Match": etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("etag")).toBe(etag);
    expect(await cached.text()).toBe("");
    expect((await getManifest(wfm, "client-1", { "If-None-Match": `W/${etag}` })).status).toBe(304);
    expect((await getManifest(wfm, "client-1", { "If-None-Match": `"sha256:${"0".repeat(64)}", ${etag}` })).status).toBe(304);
    expect((await getManifest(wfm, "client-1", { "If-None-Match": `"sha256:${"0".repeat(64)}"` })).status).toBe(200);
  });

  test("406 when Accept excludes the manifest type; */*, a missing Accept and the exact type are served", async () => {
    wfm = await startIn(dir);
    const url = `${wfm.url}/api/v1/clients/c/deployments`;
    const notAcceptable = await fetch(url, { headers: { Accept: "application/json" } });
    expect(notAcceptable.status).toBe(406);
    expect(notAcceptable.headers.get("content-type")).toBe("application/problem+json");
    expect((await fetch(url, { headers: { Accept: `${MANIFEST_TYPE};q=0, */*;q=0` } })).status).toBe(406);
    expect((await fetch(url, { headers: { Accept: "*/*" } })).status).toBe(200);
    expect((await fetch(url, { headers: { Accept: MANIFEST_TYPE } })).status).toBe(200);
    expect((await fetch(url, { headers: { Accept: `text/plain, ${MANIFEST_TYPE};q=0.5` } })).status).toBe(200);
    // fetch adds "Accept: */*" when none is given; a raw request without the header is tested below.
    const raw = await rawGet(wfm.port, "/api/v1/clients/c/deployments");
    expect(raw.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
  });

  test("bundle is null exactly when there are no deployments", async () => {
    writeFile(dir, "notes.txt", "not a deployment");
    wfm = await startIn(dir);
    const m = await manifestJson(wfm);
    assertValid("UnsignedAppStateManifest", m);
    expect(m).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
  });

  test("the bundle holds exactly the deployment YAMLs, byte for byte, and each YAML URL serves its digest", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    writeFile(dir, "b.yaml", deploymentYaml(B));
    wfm = await startIn(dir);
    const m = await manifestJson(wfm);
    const bundleRes = await fetch(wfm.url + m.bundle!.url);
    expect(bundleRes.status).toBe(200);
    expect(bundleRes.headers.get("content-type")).toBe("application/vnd.margo.bundle.v1+tar+gzip");
    expect(bundleRes.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const bundle = new Uint8Array(await bundleRes.arrayBuffer());
    expect(sha256Digest(bundle)).toBe(m.bundle!.digest);
    expect(bundle.length).toBe(m.bundle!.sizeBytes);
    const entries = readTarGz(bundle, LIMITS);
    expect(entries.map((e) => sha256Digest(e.data)).sort()).toEqual(m.deployments.map((d) => d.digest).sort());

    for (const ref of m.deployments) {
      const res = await fetch(wfm.url + ref.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/yaml");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(sha256Digest(bytes)).toBe(ref.digest);
      expect(bytes.length).toBe(ref.sizeBytes);
    }
  });

  test("a digest it cannot produce is a 404, also for a real digest under another deployment id", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    const m = await manifestJson(wfm);
    const zero = `sha256:${"0".repeat(64)}`;
    expect((await fetch(`${wfm.url}/api/v1/clients/c/bundles/${zero}`)).status).toBe(404);
    expect((await fetch(`${wfm.url}/api/v1/clients/c/deployments/${A}/${zero}`)).status).toBe(404);
    expect((await fetch(`${wfm.url}/api/v1/clients/c/deployments/${B}/${m.deployments[0]!.digest}`)).status).toBe(404);
    expect((await fetch(`${wfm.url}/api/v1/clients/c/bundles/not-a-digest`)).status).toBe(404);
  });
});

describe("manifestVersion", () => {
  test("goes up by one when a file is added, changed or deleted, and not when nothing changed", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    expect((await manifestJson(wfm)).manifestVersion).toBe(1);
    expect((await manifestJson(wfm)).manifestVersion).toBe(1);

    writeFile(dir, "b.yaml", deploymentYaml(B));
    const added = await manifestJson(wfm);
    expect(added.manifestVersion).toBe(2);
    expect(added.deployments.map((d) => d.deploymentId)).toEqual([A, B]);

    writeFile(dir, "a.yaml", deploymentYaml(A, { name: "renamed" }));
    expect((await manifestJson(wfm)).manifestVersion).toBe(3);

    rmSync(path.join(dir, "b.yaml"));
    const deleted = await manifestJson(wfm);
    expect(deleted.manifestVersion).toBe(4);
    expect(deleted.deployments.map((d) => d.deploymentId)).toEqual([A]);

    // A file that is not a deployment changes nothing that is served.
    writeFile(dir, "broken.yaml", "key: [unterminated");
    writeFile(dir, "README.md", "hello");
    expect((await manifestJson(wfm)).manifestVersion).toBe(4);

    rmSync(path.join(dir, "a.yaml"));
    const empty = await manifestJson(wfm);
    expect(empty.manifestVersion).toBe(5);
    expect(empty.bundle).toBeNull();
  });

  test("what an older manifest names stays downloadable after the folder changed", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    const old = await manifestJson(wfm);
    writeFile(dir, "a.yaml", deploymentYaml(A, { name: "v2" }));
    const next = await manifestJson(wfm);
    expect(next.deployments[0]!.digest).not.toBe(old.deployments[0]!.digest);
    expect((await fetch(wfm.url + old.deployments[0]!.url)).status).toBe(200);
    expect((await fetch(wfm.url + old.bundle!.url)).status).toBe(200);
  });

  test("survives a restart: same content keeps the version, new content goes on from it", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    wfm = await startIn(dir);
    writeFile(dir, "b.yaml", deploymentYaml(B));
    expect((await manifestJson(wfm)).manifestVersion).toBe(2);
    await wfm.stop();

    wfm = await startIn(dir);
    expect((await manifestJson(wfm)).manifestVersion).toBe(2);
    rmSync(path.join(dir, "b.yaml"));
    expect((await manifestJson(wfm)).manifestVersion).toBe(3);
    await wfm.stop();

    // An explicit state file works the same, and is where the counter lives.
    const stateFile = path.join(dir, "elsewhere", "state.json");
    wfm = await startIn(dir, { stateFile });
    expect((await manifestJson(wfm)).manifestVersion).toBe(1);
    expect(JSON.parse(await Bun.file(stateFile).text()).manifestVersion).toBe(1);
  });
});

describe("folder contents", () => {
  test("invalid files are skipped, logged on the page with the reason; duplicates and id-less files too", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A));
    writeFile(dir, "broken.yaml", "key: [unterminated");
    writeFile(dir, "no-id.yaml", "apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\nmetadata:\n  name: x\n");
    writeFile(dir, "z-duplicate.yaml", deploymentYaml(A, { name: "dup" }));
    writeFile(dir, "two-docs.yaml", `${deploymentYaml(B)}---\n${deploymentYaml(B)}`);
    wfm = await startIn(dir);
    const m = await manifestJson(wfm);
    expect(m.deployments.map((d) => d.deploymentId)).toEqual([A]);
    const generation = wfm.refresh();
    expect(generation.skipped.map((s) => s.file).sort()).toEqual(["broken.yaml", "no-id.yaml", "two-docs.yaml", "z-duplicate.yaml"]);
    const page = await (await fetch(`${wfm.url}/`)).text();
    expect(page).toContain("broken.yaml");
    expect(page).toContain("invalid YAML");
    expect(page).toContain("already used by a.yaml");
    expect(page).toContain("no deployment id");
  });

  test("top-level id is accepted as the deployment id", async () => {
    writeFile(dir, "a.yaml", `id: ${A}\n${deploymentYaml(A).replace(`    id: ${A}\n`, "    applicationId: x\n")}`);
    wfm = await startIn(dir);
    expect((await manifestJson(wfm)).deployments.map((d) => d.deploymentId)).toEqual([A]);
  });

  test("{{WFM_URL}} becomes the dev WFM's base URL, and digests cover the served bytes", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A, { packageLocation: "{{WFM_URL}}/packages/web/compose.yaml" }));
    writeFile(dir, "packages/web/compose.yaml", "services:\n  web:\n    image: busybox\n");
    wfm = await startIn(dir);
    const m = await manifestJson(wfm);
    const served = await (await fetch(wfm.url + m.deployments[0]!.url)).text();
    expect(served).toContain(`packageLocation: "${wfm.url}/packages/web/compose.yaml"`);
    expect(served).not.toContain("{{WFM_URL}}");
    expect(sha256Digest(served)).toBe(m.deployments[0]!.digest);
    const pkg = await fetch(`${wfm.url}/packages/web/compose.yaml`);
    expect(pkg.status).toBe(200);
    expect(pkg.headers.get("content-type")).toBe("application/yaml");
    expect(await pkg.text()).toBe("services:\n  web:\n    image: busybox\n");
  });

  test("--public-url decides what {{WFM_URL}} becomes", async () => {
    writeFile(dir, "a.yaml", deploymentYaml(A, { packageLocation: "{{WFM_URL}}/packages/x.yaml" }));
    wfm = await startIn(dir, { publicUrl: "http://device-gateway.local:9000/" });
    expect(wfm.url).toBe("http://device-gateway.local:9000");
    // Only this machine is ever asked: the public name is just text in the YAML.
    const res = await fetch(`http://127.0.0.1:${wfm.port}/api/v1/clients/c/deployments`, { headers: { Accept: MANIFEST_TYPE } });
    const ref = ((await res.json()) as { deployments: Array<{ url: string }> }).deployments[0]!;
    const served = await (await fetch(`http://127.0.0.1:${wfm.port}${ref.url}`)).text();
    expect(served).toContain('"http://device-gateway.local:9000/packages/x.yaml"');
  });
});

describe("packages", () => {
  test("path traversal out of DIR/packages is refused, whatever the encoding", async () => {
    writeFile(dir, "packages/ok.yaml", "fine");
    writeFile(dir, "secret.txt", "do not serve");
    wfm = await startIn(dir);
    expect(await (await fetch(`${wfm.url}/packages/ok.yaml`)).text()).toBe("fine");
    for (const attempt of ["/packages/%2e%2e/secret.txt", "/packages/..%2fsecret.txt", "/packages/..%5csecret.txt", "/packages/%2E%2E%2Fsecret.txt", "/packages//etc/passwd", "/packages/ok.yaml%00"]) {
      const res = await fetch(wfm.url + attempt);
      expect([400, 404]).toContain(res.status);
      expect(await res.text()).not.toContain("do not serve");
    }
    // Without a client normalising the path first.
    for (const attempt of ["/packages/../secret.txt", "/packages/../../../../etc/passwd", "/packages/./../secret.txt"]) {
      const raw = await rawGet(wfm.port, attempt);
      expect(raw).not.toContain("do not serve");
      expect(raw).not.toContain("root:");
    }
    expect((await fetch(`${wfm.url}/packages/missing.yaml`)).status).toBe(404);
    expect((await fetch(`${wfm.url}/packages/`)).status).toBe(400);
  });

  test("a symlink pointing out of DIR/packages is not followed", async () => {
    writeFile(dir, "secret.txt", "do not serve");
    writeFile(dir, "packages/.keep", "");
    const { symlinkSync } = await import("node:fs");
    symlinkSync(path.join(dir, "secret.txt"), path.join(dir, "packages", "link.txt"));
    wfm = await startIn(dir);
    const res = await fetch(`${wfm.url}/packages/link.txt`);
    expect(res.status).toBe(404);
  });
});

/** A GET written by hand: no Accept header, and the path exactly as given. */
async function rawGet(port: number, target: string): Promise<string> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (data += chunk));
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}
