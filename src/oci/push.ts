/**
 * Pushing an artifact with the distribution spec's flow: each blob is checked with HEAD, else
 * uploaded with POST /blobs/uploads/ then PUT <Location>?digest=… (monolithic); the manifest last,
 * PUT /manifests/<tag>. Only the origin registry is written to, never a mirror.
 *
 * The manifest follows the image spec's artifact guidance: artifactType set, the empty config
 * descriptor, one layer. The Margo annotations go on the layer (where the Margo spec asks for
 * them) and on the manifest (where registry UIs and `oras` show them).
 */
import { AgentError } from "../errors/index.ts";
import { sha256 } from "./cache.ts";
import { deadline } from "./deadline.ts";
import { ANNOTATION, type ArtifactKind, EMPTY_BYTES, EMPTY_DESCRIPTOR, OCI_MANIFEST } from "./media-types.ts";
import { type OciReference, formatReference } from "./reference.ts";
import type { Endpoint, RegistryTransport } from "./transport.ts";

export interface PushResult {
  reference: string;
  manifestDigest: string;
  manifest: Uint8Array;
  layerDigest: string;
  layerSize: number;
  /** Blobs the registry already had (not uploaded again). */
  skipped: string[];
}

export interface ArtifactAnnotations {
  version: string;
  title?: string;
  description?: string;
  authors?: string;
  /** More annotations (e.g. org.opencontainers.image.source); they cannot override the Margo ones. */
  extra?: Record<string, string>;
}

/** The manifest bytes for a single-layer artifact: deterministic (fixed key order, no timestamps). */
export function artifactManifest(kind: ArtifactKind, layer: { digest: string; size: number }, a: ArtifactAnnotations): Uint8Array {
  const annotations: Record<string, string> = { ...(a.extra ?? {}) };
  if (a.title !== undefined) annotations[ANNOTATION.title] = a.title;
  if (a.description !== undefined) annotations[ANNOTATION.description] = a.description;
  if (a.authors !== undefined) annotations[ANNOTATION.authors] = a.authors;
  annotations[ANNOTATION.version] = a.version;
  annotations[ANNOTATION.componentType] = kind.componentType;
  annotations[ANNOTATION.componentVersion] = a.version;
  const sorted = Object.fromEntries(Object.entries(annotations).sort(([x], [y]) => (x < y ? -1 : 1)));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: kind.artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: kind.layerMediaType, digest: layer.digest, size: layer.size, annotations: sorted }],
    annotations: sorted,
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

export async function pushArtifact(
  transport: RegistryTransport,
  ref: OciReference,
  kind: ArtifactKind,
  layer: Uint8Array,
  annotations: ArtifactAnnotations,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<PushResult> {
  if (!ref.tag || ref.digest) throw new AgentError("ARTIFACT_INVALID", `${formatReference(ref)}: push needs a tag and no digest`);
  const name = formatReference(ref);
  const ep = transport.origin(ref.registry);
  const limit = deadline(opts.timeoutMs ?? 30 * 60_000, `${name}: the push took too long`, opts.signal);
  try {
    const ctx = { transport, ep, repo: ref.repository, signal: limit.signal, name };
    const skipped: string[] = [];
    const layerDigest = sha256(layer);
    for (const [digest, bytes] of [
      [EMPTY_DESCRIPTOR.digest, EMPTY_BYTES],
      [layerDigest, layer],
    ] as const) {
      if (await pushBlob(ctx, digest, bytes)) skipped.push(digest);
    }
    const manifest = artifactManifest(kind, { digest: layerDigest, size: layer.byteLength }, annotations);
    const manifestDigest = await putManifest(transport, ep, ref.repository, ref.tag, manifest, OCI_MANIFEST, { signal: limit.signal, name });
    return { reference: name, manifestDigest, manifest, layerDigest, layerSize: layer.byteLength, skipped };
  } finally {
    limit.clear();
  }
}

export interface PushCtx {
  transport: RegistryTransport;
  ep: Endpoint;
  repo: string;
  signal: AbortSignal;
  name: string;
}

/** PUT /manifests/<tag> with these exact bytes; returns their digest (checked against the registry's). */
export async function putManifest(
  transport: RegistryTransport,
  ep: Endpoint,
  repo: string,
  tag: string,
  manifest: Uint8Array,
  mediaType: string,
  ctx: { signal: AbortSignal; name: string },
): Promise<string> {
  const manifestDigest = sha256(manifest);
  const what = `manifest ${ctx.name}`;
  const res = await transport.request(ep, {
    method: "PUT",
    path: `/v2/${repo}/manifests/${tag}`,
    headers: { "content-type": mediaType },
    body: manifest,
    scope: `repository:${repo}:pull,push`,
    signal: ctx.signal,
    what,
  });
  if (res.status !== 201 && res.status !== 200) throw await transport.statusError(res, `${what}: push refused`);
  await res.body?.cancel().catch(() => {});
  const claimed = res.headers.get("docker-content-digest");
  if (claimed && claimed !== manifestDigest) {
    throw new AgentError("DIGEST_MISMATCH", `${what}: the registry stored it as ${claimed.slice(0, 80)}, we sent ${manifestDigest}`);
  }
  return manifestDigest;
}

/** Uploads one blob unless the registry has it; true when it had. */
export async function pushBlob(ctx: PushCtx, digest: string, bytes: Uint8Array): Promise<boolean> {
  const scope = `repository:${ctx.repo}:pull,push`;
  const what = `blob ${digest} of ${ctx.name}`;
  const head = await ctx.transport.request(ctx.ep, { method: "HEAD", path: `/v2/${ctx.repo}/blobs/${digest}`, scope, signal: ctx.signal, what });
  await head.body?.cancel().catch(() => {});
  if (head.status === 200) return true;
  if (head.status !== 404) throw await ctx.transport.statusError(head, what);
  const start = await ctx.transport.request(ctx.ep, { method: "POST", path: `/v2/${ctx.repo}/blobs/uploads/`, headers: { "content-length": "0" }, scope, signal: ctx.signal, what: `${what}: upload start` });
  if (start.status !== 202) throw await ctx.transport.statusError(start, `${what}: upload start`);
  await start.body?.cancel().catch(() => {});
  const location = start.headers.get("location");
  if (!location) throw new AgentError("REGISTRY_UNREACHABLE", `${what}: the registry gave no upload Location`);
  const url = new URL(location, ctx.transport.baseOf(ctx.ep));
  url.searchParams.set("digest", digest);
  const put = await ctx.transport.request(ctx.ep, {
    method: "PUT",
    path: url.href,
    headers: { "content-type": "application/octet-stream", "content-length": String(bytes.byteLength) },
    body: bytes,
    scope,
    signal: ctx.signal,
    what: `${what}: upload`,
  });
  if (put.status !== 201) throw await ctx.transport.statusError(put, `${what}: upload refused`);
  await put.body?.cancel().catch(() => {});
  return false;
}
