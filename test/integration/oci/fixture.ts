/** Shared pieces of the OCI tests: pushing apps and crafted artifacts, pullers with their own cache, log capture. */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { createLogger } from "../../../src/log.ts";
import type { Logger } from "../../../src/log.ts";
import { buildComposeArchive } from "../../../src/oci/build.ts";
import { sha256 } from "../../../src/oci/cache.ts";
import { type ArtifactKind, ARTIFACT_KINDS, EMPTY_BYTES, EMPTY_DESCRIPTOR, OCI_MANIFEST } from "../../../src/oci/media-types.ts";
import { OciPuller, type PullLimits, type PullerDeps } from "../../../src/oci/puller.ts";
import { type PushResult, pushArtifact, pushBlob, putManifest } from "../../../src/oci/push.ts";
import { parseOciUrl } from "../../../src/oci/reference.ts";
import { type RegistryAccess, RegistryTransport } from "../../../src/oci/transport.ts";
import { type Pki, stopAllRegistries } from "../../support/registry.ts";

export const COMPOSE = "services:\n  web:\n    image: busybox\n";
export const TEST_LIMITS: Partial<PullLimits> = { requestTimeoutMs: 10_000, idleTimeoutMs: 10_000 };

const dirs: string[] = [];
export async function workDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `margo-oci-${name}-`));
  dirs.push(dir);
  return dir;
}

/** afterAll: stops the registries and servers, removes every work directory. */
export async function cleanup(): Promise<void> {
  await stopAllRegistries();
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
}

/** Access trusting the test CA for exactly these hosts; anonymous unless credentials are given. */
export function accessFor(pki: Pki, hosts: string[], over: Partial<RegistryAccess> = {}): RegistryAccess {
  return { allowInsecureHttp: false, mirrors: {}, cas: Object.fromEntries(hosts.map((h) => [h, pki.caPem])), credentials: () => undefined, ...over };
}

export function transportFor(access: RegistryAccess): RegistryTransport {
  return new RegistryTransport(bunPlatform.fetch, access, { requestTimeoutMs: 10_000, idleTimeoutMs: 10_000, maxRedirects: 5 });
}

export async function newPuller(access: RegistryAccess, over: Partial<PullerDeps> = {}): Promise<OciPuller> {
  return new OciPuller({ fetch: bunPlatform.fetch, access, cacheDir: over.cacheDir ?? (await workDir("cache")), reserveBytes: 0, ...over, limits: { ...TEST_LIMITS, ...(over.limits ?? {}) } });
}

/** An application directory with these files. */
export async function appDir(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = join(await workDir("app"), name);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  return dir;
}

/** Builds and pushes a compose app (as `package push` does). */
export async function pushApp(transport: RegistryTransport, host: string, repo: string, tag: string, files: Record<string, string | Uint8Array> = { "compose.yaml": COMPOSE }): Promise<PushResult> {
  const built = await buildComposeArchive(await appDir(repo.split("/").pop()!, files));
  return pushArtifact(transport, parseOciUrl(`oci://${host}/${repo}:${tag}`), ARTIFACT_KINDS.compose, built.bytes, { version: tag, title: "app" });
}

export interface CustomArtifact {
  layer: Uint8Array;
  layerMediaType?: string;
  artifactType?: string | null;
  config?: { mediaType: string; bytes: Uint8Array };
  /** More layers beside the package layer. */
  extraLayers?: { mediaType: string; bytes: Uint8Array }[];
  annotations?: Record<string, string>;
}

/** Pushes a hand-made manifest (wrong types, several layers, hostile archives). Returns the manifest digest. */
export async function pushCustom(transport: RegistryTransport, host: string, repo: string, tag: string, a: CustomArtifact, kind: ArtifactKind = ARTIFACT_KINDS.compose): Promise<{ manifestDigest: string; layerDigest: string; manifest: Uint8Array }> {
  const ep = transport.origin(host);
  const ctx = { transport, ep, repo, signal: AbortSignal.timeout(30_000), name: `${host}/${repo}:${tag}` };
  const config = a.config ?? { mediaType: EMPTY_DESCRIPTOR.mediaType, bytes: EMPTY_BYTES };
  const blobs = [config.bytes, a.layer, ...(a.extraLayers ?? []).map((l) => l.bytes)];
  for (const b of blobs) await pushBlob(ctx, sha256(b), b);
  const layers = [{ mediaType: a.layerMediaType ?? kind.layerMediaType, bytes: a.layer }, ...(a.extraLayers ?? [])].map((l) => ({ mediaType: l.mediaType, digest: sha256(l.bytes), size: l.bytes.byteLength }));
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: sha256(config.bytes), size: config.bytes.byteLength },
    layers,
    annotations: a.annotations ?? { "org.margo.component.type": "compose", "org.margo.component.version": tag },
  };
  if (a.artifactType !== null) manifest.artifactType = a.artifactType ?? kind.artifactType;
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const manifestDigest = await putManifest(transport, ep, repo, tag, bytes, OCI_MANIFEST, ctx);
  return { manifestDigest, layerDigest: sha256(a.layer), manifest: bytes };
}

/** What the cache holds: verified blobs, downloads in progress, unpacked projects. */
export async function cacheContents(cacheDir: string): Promise<{ blobs: string[]; tmp: string[]; unpacked: string[] }> {
  const ls = (p: string) => readdir(join(cacheDir, p)).catch(() => [] as string[]);
  return { blobs: await ls("blobs/sha256"), tmp: await ls("tmp"), unpacked: (await ls("unpacked")).filter((n) => !n.endsWith(".json")) };
}

/** A real pino logger whose JSON lines are kept (to check what reaches the logs). */
export function capturedLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger("debug", stream), lines };
}
