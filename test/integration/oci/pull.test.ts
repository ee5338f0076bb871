/**
 * Pulling Margo compose archives from a real registry (docker-registry, distribution 2.8, TLS on
 * loopback), and from a proxy in front of it for what a real registry never does (tampered or
 * oversized blobs, dripping bytes). "Nothing extracted" is checked on the cache directory itself.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { gzipDeterministic, writeTar } from "../../../src/archive/index.ts";
import type { AgentError } from "../../../src/errors/index.ts";
import { fetchComposeComponent } from "../../../src/oci/component.ts";
import { buildComposeArchive } from "../../../src/oci/build.ts";
import { sha256 } from "../../../src/oci/cache.ts";
import { ARTIFACT_KINDS, OCI_INDEX, OCI_MANIFEST } from "../../../src/oci/media-types.ts";
import { putManifest } from "../../../src/oci/push.ts";
import { parseComponentReference } from "../../../src/oci/reference.ts";
import type { RegistryTransport } from "../../../src/oci/transport.ts";
import { BROKEN_ARCHIVES } from "../../unit/oci/broken-archives.ts";
import { type Pki, type RegistryProxy, type RunningRegistry, describeWithRegistry, drip, makePki, startRegistry, startRegistryProxy } from "../../support/registry.ts";
import { COMPOSE, accessFor, appDir, cacheContents, newPuller, pushApp, pushCustom, transportFor, workDir, cleanup } from "./fixture.ts";

describeWithRegistry("OCI pulls from a real registry", () => {
  let pki: Pki;
  let reg: RunningRegistry;
  let proxy: RegistryProxy;
  let push: RegistryTransport;
  const access = () => accessFor(pki, [reg.host, proxy.host]);
  const component = (host: string, repo: string, revision: string, deploymentId = "dep-1") => ({ deploymentId, componentName: "app", repository: `oci://${host}/${repo}`, revision });
  const codeOf = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e) => e)) as AgentError | undefined)?.code ?? "no error";

  beforeAll(async () => {
    pki = await makePki();
    reg = await startRegistry(pki);
    proxy = startRegistryProxy(pki, reg.url);
    push = transportFor(accessFor(pki, [reg.host]));
  });
  afterAll(cleanup);

  test("push then pull: a project with compose.yaml; two builds give one digest, a second push uploads nothing new, deployments share the unpack", async () => {
    const files = { "compose.yaml": COMPOSE, "conf/app.env": "A=1\n" };
    const a = await buildComposeArchive(await appDir("shop", files));
    const b = await buildComposeArchive(await appDir("shop", files));
    expect(b.digest).toBe(a.digest);
    const first = await pushApp(push, reg.host, "org/shop", "1.0.0", files);
    const second = await pushApp(push, reg.host, "org/shop", "1.0.0", files);
    expect(first.layerDigest).toBe(a.digest);
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(second.skipped).toContain(a.digest);

    const puller = await newPuller(access());
    const progress: number[] = [];
    const got = await fetchComposeComponent(puller, component(reg.host, "org/shop", "1.0.0"), { onProgress: (p) => progress.push(p.bytes) });
    expect(got.manifestDigest).toBe(first.manifestDigest);
    expect(got.packageDigest).toBe(a.digest);
    expect(await Bun.file(got.composeFile).text()).toBe(COMPOSE);
    expect(got.composeFile.endsWith("/shop/compose.yaml")).toBe(true);
    expect(got.pulled.annotations["org.margo.component.version"]).toBe("1.0.0");
    expect(progress.at(-1)).toBe(a.bytes.byteLength);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
    const other = await fetchComposeComponent(puller, component(reg.host, "org/shop", "1.0.0", "dep-2"));
    expect(other.dir).toBe(got.dir);
  });

  test("a tag that moved resolves to the new manifest and a new project; the old one stays cached", async () => {
    await pushApp(push, reg.host, "org/moving", "2.0.0", { "compose.yaml": "services:\n  web:\n    image: v1\n" });
    const puller = await newPuller(access());
    const before = await fetchComposeComponent(puller, component(reg.host, "org/moving", "2.0.0"));
    const moved = await pushApp(push, reg.host, "org/moving", "2.0.0", { "compose.yaml": "services:\n  web:\n    image: v2\n" });
    const after = await fetchComposeComponent(puller, component(reg.host, "org/moving", "2.0.0"));
    expect(after.manifestDigest).toBe(moved.manifestDigest);
    expect(after.manifestDigest).not.toBe(before.manifestDigest);
    expect(after.dir).not.toBe(before.dir);
    expect(await Bun.file(after.composeFile).text()).toContain("image: v2");
    expect(await Bun.file(before.composeFile).text()).toContain("image: v1");
  });

  test("a layer whose bytes do not match its digest: DIGEST_MISMATCH, nothing cached, nothing extracted", async () => {
    await pushApp(push, reg.host, "org/tampered", "1.0.0");
    proxy.hooks.onResponse = async (req, res, path) => {
      if (req.method !== "GET" || !path.includes("/blobs/") || res.status !== 200) return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      bytes[bytes.length - 5]! ^= 0xff;
      return new Response(bytes, { status: 200, headers: res.headers });
    };
    try {
      const cacheDir = await workDir("tampered");
      const err = (await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(proxy.host, "org/tampered", "1.0.0")).catch((e) => e)) as AgentError;
      expect(err.code).toBe("DIGEST_MISMATCH");
      expect(err.message).toContain("nothing extracted");
      expect(await cacheContents(cacheDir)).toEqual({ blobs: [], tmp: [], unpacked: [] });
    } finally {
      proxy.hooks.onResponse = undefined;
    }
  });

  test("a registry that sends more than the layer's descriptor says is cut off at that size (DIGEST_MISMATCH)", async () => {
    await pushApp(push, reg.host, "org/longer", "1.0.0");
    proxy.hooks.onResponse = async (req, res, path) => {
      if (req.method !== "GET" || !path.includes("/blobs/") || res.status !== 200) return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const h = new Headers(res.headers);
      h.delete("content-length");
      // A stream without a declared length: only the byte count while reading can stop it.
      const body = new ReadableStream({ start: (c) => { c.enqueue(bytes); c.enqueue(new Uint8Array(1 << 20)); c.close(); } });
      return new Response(body, { status: 200, headers: h });
    };
    try {
      const cacheDir = await workDir("longer");
      const err = (await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(proxy.host, "org/longer", "1.0.0")).catch((e) => e)) as AgentError;
      expect(err.code).toBe("DIGEST_MISMATCH");
      expect(err.message).toContain("sent more than that");
      expect((await cacheContents(cacheDir)).tmp).toEqual([]);
    } finally {
      proxy.hooks.onResponse = undefined;
    }
  });

  test("a manifest that does not hash to the digest asked for is refused before it is used", async () => {
    const pushed = await pushApp(push, reg.host, "org/pinned", "1.0.0");
    const wrong = `sha256:${"0".repeat(64)}`;
    // The registry itself refuses an unknown digest; the proxy serves the real manifest for it.
    proxy.hooks.onResponse = async (req, res, path) => (path.endsWith(`/manifests/${wrong}`) ? fetch(`${reg.url}/v2/org/pinned/manifests/${pushed.manifestDigest}`, { headers: { accept: OCI_MANIFEST }, tls: { ca: pki.caPem } } as RequestInit) : res);
    try {
      const err = (await (await newPuller(access())).pull(parseComponentReference(`oci://${proxy.host}/org/pinned`, wrong), ARTIFACT_KINDS.compose).catch((e) => e)) as AgentError;
      expect(err.code).toBe("DIGEST_MISMATCH");
      expect(err.message).toContain(`not the ${wrong} asked for`);
    } finally {
      proxy.hooks.onResponse = undefined;
    }
  });

  test("wrong artifactType, wrong layer media type, two package layers, docker compose publish's shape: ARTIFACT_INVALID before any blob is fetched", async () => {
    const layer = (await buildComposeArchive(await appDir("x", { "compose.yaml": COMPOSE }))).bytes;
    const cases: [string, Parameters<typeof pushCustom>[4], string][] = [
      ["wrong-type", { layer, artifactType: "application/vnd.example.other+json" }, "artifactType is application/vnd.example.other+json"],
      ["wrong-layer", { layer, layerMediaType: "application/vnd.oci.image.layer.v1.tar+gzip" }, "layer media type application/vnd.oci.image.layer.v1.tar+gzip"],
      ["two-layers", { layer, extraLayers: [{ mediaType: ARTIFACT_KINDS.compose.layerMediaType, bytes: new TextEncoder().encode("second") }] }, "has 2 layers"],
      ["compose-publish", { layer: new TextEncoder().encode("services: {}\n"), artifactType: "application/vnd.docker.compose.project", layerMediaType: "application/vnd.docker.compose.file+yaml" }, "application/vnd.docker.compose.project"],
    ];
    for (const [repo, artifact, words] of cases) {
      await pushCustom(push, reg.host, `bad/${repo}`, "1.0.0", artifact);
      const cacheDir = await workDir(repo);
      const err = (await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(reg.host, `bad/${repo}`, "1.0.0")).catch((e) => e)) as AgentError;
      expect(`${repo}: ${err.code}`).toBe(`${repo}: ARTIFACT_INVALID`);
      expect(err.message).toContain(words);
      expect((await cacheContents(cacheDir)).blobs).toEqual([]);
    }
  });

  test("artifactType given as config.mediaType (no artifactType field) is accepted", async () => {
    const layer = (await buildComposeArchive(await appDir("cfg", { "compose.yaml": COMPOSE }))).bytes;
    await pushCustom(push, reg.host, "org/cfgtype", "1.0.0", { layer, artifactType: null, config: { mediaType: ARTIFACT_KINDS.compose.artifactType, bytes: new TextEncoder().encode('{"name":"cfg"}') } });
    const got = await fetchComposeComponent(await newPuller(access()), component(reg.host, "org/cfgtype", "1.0.0"));
    expect(got.pulled.artifactType).toBe(ARTIFACT_KINDS.compose.artifactType);
  });

  test.each(BROKEN_ARCHIVES)("an archive with %s, pushed as a valid artifact, is refused after the pull and nothing is extracted", async (name, entries, code, words) => {
    const repo = `broken/${name.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
    await pushCustom(push, reg.host, repo, "1.0.0", { layer: gzipDeterministic(writeTar(entries)) });
    const cacheDir = await workDir("broken");
    const err = (await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(reg.host, repo, "1.0.0")).catch((e) => e)) as AgentError;
    expect(err.code as string).toBe(code);
    expect(err.message).toContain(words);
    expect((await cacheContents(cacheDir)).unpacked).toEqual([]);
  });

  test("an image index naming the artifact's manifest is followed", async () => {
    const pushed = await pushApp(push, reg.host, "org/indexed", "1.0.1");
    const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, artifactType: ARTIFACT_KINDS.compose.artifactType, digest: pushed.manifestDigest, size: pushed.manifest.byteLength }] }));
    await putManifest(push, push.origin(reg.host), "org/indexed", "1.0.1", index, OCI_INDEX, { signal: AbortSignal.timeout(10_000), name: "index" });
    const got = await (await newPuller(access())).pull(parseComponentReference(`oci://${reg.host}/org/indexed`, "1.0.1"), ARTIFACT_KINDS.compose);
    expect(got.manifestDigest).toBe(pushed.manifestDigest);
  });

  test("a pinned digest is served from an intact cache without asking the registry; a tag falls back to the cache only when no endpoint answers", async () => {
    const pushed = await pushApp(push, reg.host, "org/offline", "3.1.0");
    const cacheDir = await workDir("offline");
    const online = await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(proxy.host, "org/offline", "3.1.0"));
    expect(online.pulled.source).toBe("registry");

    // A restarted agent (a new puller on the same data directory) with the registry down:
    proxy.requests.length = 0;
    proxy.hooks.onResponse = () => new Response("down", { status: 503 });
    try {
      const restarted = await newPuller(access(), { cacheDir });
      const byDigest = await fetchComposeComponent(restarted, component(proxy.host, "org/offline", pushed.manifestDigest));
      expect(byDigest.pulled.source).toBe("cache");
      expect(proxy.requests).toEqual([]);
      const byTag = await fetchComposeComponent(restarted, component(proxy.host, "org/offline", "3.1.0"));
      expect(byTag.pulled).toMatchObject({ source: "cache", offline: true, manifestDigest: pushed.manifestDigest });
      expect(byTag.composeFile).toBe(online.composeFile);

      // A cached layer altered on disk is not trusted: with no registry, the pull fails.
      await writeFile(online.pulled.layer.path, "tampered");
      expect(await codeOf(fetchComposeComponent(restarted, component(proxy.host, "org/offline", "3.1.0")))).toBe("REGISTRY_UNREACHABLE");
    } finally {
      proxy.hooks.onResponse = undefined;
    }
    // Online again, the layer is fetched anew.
    expect((await fetchComposeComponent(await newPuller(access(), { cacheDir }), component(proxy.host, "org/offline", "3.1.0"))).pulled.source).toBe("registry");
  });

  test("a registry that drips bytes is given up on (REGISTRY_UNREACHABLE, timed out) and nothing is kept", async () => {
    await pushApp(push, reg.host, "org/drip", "1.0.0", { "compose.yaml": COMPOSE, "data.bin": randomBytes(64 * 1024) });
    proxy.hooks.onResponse = async (req, res, path) => {
      if (req.method !== "GET" || !path.includes("/blobs/") || res.status !== 200) return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      return new Response(drip(bytes, 20, 16), { status: 200, headers: res.headers });
    };
    try {
      const cacheDir = await workDir("drip");
      // The answer itself may take a while on a busy machine (the proxy reads the whole blob first): 3 s
      // for it keeps this about the drip (the download's own deadline), not about "no answer".
      const puller = await newPuller(access(), { cacheDir, limits: { requestTimeoutMs: 3000, minBytesPerSecond: 1024 * 1024 } });
      const err = (await fetchComposeComponent(puller, component(proxy.host, "org/drip", "1.0.0")).catch((e) => e)) as AgentError;
      expect(err.code).toBe("REGISTRY_UNREACHABLE");
      expect(err.message).toContain("took longer than");
      expect(await cacheContents(cacheDir)).toEqual({ blobs: [], tmp: [], unpacked: [] });
    } finally {
      proxy.hooks.onResponse = undefined;
    }
  }, 30_000);

  test("a layer larger than the limit is refused from its descriptor, before it is requested; so is an oversized manifest", async () => {
    const pushed = await pushApp(push, reg.host, "org/big", "1.0.0", { "compose.yaml": COMPOSE, "big.bin": randomBytes(300 * 1024) });
    proxy.requests.length = 0;
    const err = (await fetchComposeComponent(await newPuller(access(), { limits: { maxBlobBytes: 100 * 1024 } }), component(proxy.host, "org/big", "1.0.0")).catch((e) => e)) as AgentError;
    expect(err.code).toBe("PACKAGE_TOO_LARGE");
    expect(err.message).toContain(`the layer is ${pushed.layerSize} bytes`);
    expect(proxy.requests.filter((r) => r.path.includes("/blobs/"))).toEqual([]);
    expect(await codeOf(fetchComposeComponent(await newPuller(access(), { limits: { maxManifestBytes: 100 } }), component(reg.host, "org/big", "1.0.0")))).toBe("PACKAGE_TOO_LARGE");
  });

  test("a disk below the reserve before the pull: DISK_SPACE_LOW and no layer requested; falling below during the pull: stopped, nothing kept", async () => {
    await pushApp(push, reg.host, "org/disk", "1.0.0", { "compose.yaml": COMPOSE, "big.bin": randomBytes(3 << 20) });
    const GiB = 1 << 30;
    proxy.requests.length = 0;
    const low = await newPuller(access(), { reserveBytes: GiB, freeBytes: async () => GiB + 1000 });
    const before = (await fetchComposeComponent(low, component(proxy.host, "org/disk", "1.0.0")).catch((e) => e)) as AgentError;
    expect(before.code).toBe("DISK_SPACE_LOW");
    expect(before.message).toContain("packages.reserve");
    expect(proxy.requests.filter((r) => r.path.includes("/blobs/"))).toEqual([]);

    // Plenty at the start, then something else fills the disk while the layer streams in.
    let probes = 0;
    const cacheDir = await workDir("disk");
    const filling = await newPuller(access(), { cacheDir, reserveBytes: GiB, freeBytes: async () => (probes++ === 0 ? 10 * GiB : GiB + 10), limits: { diskProbeBytes: 64 * 1024 } });
    const during = (await fetchComposeComponent(filling, component(proxy.host, "org/disk", "1.0.0")).catch((e) => e)) as AgentError;
    expect(during.code).toBe("DISK_SPACE_LOW");
    expect(during.message).toContain("download stopped");
    expect(await cacheContents(cacheDir)).toEqual({ blobs: [], tmp: [], unpacked: [] });
  });

  test("an unknown tag and an unknown repository are ARTIFACT_NOT_FOUND", async () => {
    const puller = await newPuller(access());
    expect(await codeOf(fetchComposeComponent(puller, component(reg.host, "org/shop", "9.9.9")))).toBe("ARTIFACT_NOT_FOUND");
    expect(await codeOf(fetchComposeComponent(puller, component(reg.host, "org/nothing-here", "1.0.0")))).toBe("ARTIFACT_NOT_FOUND");
    expect(sha256(new Uint8Array())).toStartWith("sha256:e3b0");
  });
});
