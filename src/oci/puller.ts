/**
 * Pulling one artifact (a manifest and its single package layer) from an OCI Distribution v1.1
 * registry into the blob cache, for any artifact kind (src/oci/media-types.ts).
 *
 * Order of trust: the manifest's bytes are hashed and checked against the digest asked for (or
 * the index entry, or the registry's Docker-Content-Digest) before they are parsed for use; the
 * layer streams into a private temporary file while it is hashed and bounded by its descriptor's
 * size, and is moved into the cache only when digest and size match. Nothing is extracted here:
 * callers extract from the verified cache file (src/oci/compose-archive.ts).
 *
 * Endpoints: the configured mirrors of the registry in order, then the registry itself. A tag
 * that no endpoint can be asked about (all unreachable) falls back to the digest it resolved to
 * last time, if the cache still holds that manifest and layer intact: an offline device
 * re-installs what it had.
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { AgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { pumpBody, readBody } from "./body.ts";
import { BlobCache, sha256 } from "./cache.ts";
import { abortReason, deadline } from "./deadline.ts";
import { type FreeBytes, statfsFreeBytes } from "./disk.ts";
import { type Descriptor, type ImageManifest, checkArtifact, parseManifest, selectFromIndex } from "./manifest.ts";
import { type ArtifactKind, OCI_INDEX, OCI_MANIFEST } from "./media-types.ts";
import { type OciReference, formatReference, manifestReference } from "./reference.ts";
import { type Endpoint, type RegistryAccess, type RegistryFetch, RegistryTransport, type TransportLimits } from "./transport.ts";

export interface PullLimits extends TransportLimits {
  /** Largest manifest (or index) body; the distribution spec has registries accept 4 MiB. */
  maxManifestBytes: number;
  /** Largest package layer. */
  maxBlobBytes: number;
  /** The whole pull, every endpoint included. */
  pullTimeoutMs: number;
  /** A blob download may take requestTimeoutMs + size / minBytesPerSecond: a trickle fails. */
  minBytesPerSecond: number;
  /** Free space is probed again after every this many bytes written. */
  diskProbeBytes: number;
}

export const DEFAULT_PULL_LIMITS: PullLimits = {
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxRedirects: 5,
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 256 * 1024 * 1024,
  pullTimeoutMs: 30 * 60_000,
  minBytesPerSecond: 32 * 1024,
  diskProbeBytes: 4 * 1024 * 1024,
};

export interface PullerDeps {
  fetch: RegistryFetch;
  access: RegistryAccess;
  /** The OCI cache root, e.g. <dataDir>/oci. */
  cacheDir: string;
  /** Free space kept on the cache's file system (packages.reserve). */
  reserveBytes: number;
  limits?: Partial<PullLimits>;
  /** Free bytes on the file system holding a directory; tests inject a low disk. */
  freeBytes?: FreeBytes;
  log?: Logger;
}

export interface PullProgress {
  /** oci://… as asked for. */
  reference: string;
  digest: string;
  /** Bytes of the layer received so far (0 … total). */
  bytes: number;
  total: number;
  /** The endpoint serving it (scheme://host[:port]). */
  endpoint: string;
}

export interface PullOptions {
  signal?: AbortSignal;
  /** Called as the layer arrives (every chunk), and once with bytes === total at the end. */
  onProgress?: (p: PullProgress) => void;
  /** Carried on log lines. */
  deploymentId?: string;
}

export interface PulledArtifact {
  /** The reference with the manifest digest it resolved to. */
  reference: OciReference & { digest: string };
  manifestDigest: string;
  manifest: ImageManifest;
  artifactType: string;
  layer: { digest: string; size: number; mediaType: string; /** The verified blob in the cache. */ path: string };
  /** Manifest annotations overlaid by the layer's. */
  annotations: Record<string, string>;
  /** "registry": fetched (or its layer found in the cache) after asking `endpoint`; "cache": no registry was asked. */
  source: "registry" | "cache";
  endpoint: string | null;
  mirror: boolean;
  /** True when every endpoint was unreachable and the tag's last known digest was used. */
  offline: boolean;
}

const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;
/** While a layer downloads, a progress line is logged at most this often. */
const PROGRESS_LOG_MS = 5_000;

export class OciPuller {
  readonly transport: RegistryTransport;
  readonly cache: BlobCache;
  readonly limits: PullLimits;
  private readonly log: Logger;
  private readonly freeBytes: FreeBytes;

  constructor(private readonly deps: PullerDeps) {
    this.limits = { ...DEFAULT_PULL_LIMITS, ...(deps.limits ?? {}) };
    this.log = deps.log ?? silentLogger;
    this.transport = new RegistryTransport(deps.fetch, deps.access, this.limits, this.log);
    this.cache = new BlobCache(deps.cacheDir);
    this.freeBytes = deps.freeBytes ?? statfsFreeBytes;
  }

  async pull(ref: OciReference, kind: ArtifactKind, opts: PullOptions = {}): Promise<PulledArtifact> {
    await this.cache.init();
    const name = formatReference(ref);
    const started = performance.now();
    const overall = deadline(this.limits.pullTimeoutMs, `${name}: the pull took longer than ${Math.round(this.limits.pullTimeoutMs / 1000)} s`, opts.signal);
    const ctx = { ...opts, signal: overall.signal, name };
    try {
      // A digest names immutable content: when the cache holds it intact, no registry is asked.
      if (ref.digest) {
        const cached = await this.fromCache(ref, ref.digest, kind, false);
        if (cached) return this.done(cached, started, ctx);
      }
      const failures: { ep: Endpoint; err: AgentError }[] = [];
      for (const ep of this.transport.endpointsFor(ref.registry)) {
        try {
          return this.done(await this.pullFrom(ep, ref, kind, ctx), started, ctx);
        } catch (err) {
          if (opts.signal?.aborted) throw abortReason(opts.signal, name);
          if (!(err instanceof AgentError) || err.code === "DISK_SPACE_LOW" || err.code === "INTERNAL") throw err;
          if (overall.signal.aborted) {
            failures.push({ ep, err: abortReason(overall.signal, name) });
            break;
          }
          failures.push({ ep, err });
          this.log.warn({ deploymentId: opts.deploymentId, reference: name, endpoint: this.transport.baseOf(ep).origin, code: err.code, err: err.message }, "registry endpoint failed");
        }
      }
      if (ref.tag && failures.every((f) => f.err.code === "REGISTRY_UNREACHABLE")) {
        const known = await this.cache.lookupTag(ref);
        const cached = known ? await this.fromCache(ref, known, kind, true) : undefined;
        if (cached) {
          this.log.warn({ deploymentId: opts.deploymentId, reference: name, digest: known, code: "REGISTRY_UNREACHABLE" }, "no registry endpoint reachable; using the cached artifact the tag resolved to before");
          return this.done(cached, started, ctx);
        }
      }
      throw this.combine(name, failures);
    } finally {
      overall.clear();
    }
  }

  /** The artifact from the cache alone, everything re-verified; undefined when anything is missing. */
  private async fromCache(ref: OciReference, digest: string, kind: ArtifactKind, offline: boolean): Promise<PulledArtifact | undefined> {
    const bytes = await this.cache.readVerified(digest, this.limits.maxManifestBytes);
    if (!bytes) return undefined;
    const where = `${formatReference(ref)} (cached manifest ${digest})`;
    const parsed = parseManifest(bytes, null, where);
    if (parsed.kind !== "manifest") return undefined;
    const checked = checkArtifact(parsed.manifest, kind, where, ref.tag);
    if (!(await this.cache.hasVerified(checked.layer.digest, checked.layer.size))) return undefined;
    return this.result(ref, digest, parsed.manifest, checked, "cache", null, false, offline);
  }

  private async pullFrom(ep: Endpoint, ref: OciReference, kind: ArtifactKind, ctx: Ctx): Promise<PulledArtifact> {
    const origin = this.transport.baseOf(ep).origin;
    const where = `${ctx.name} from ${origin}`;
    let got = await this.getManifest(ep, ref, manifestReference(ref), ref.digest, where, ctx);
    let manifestBytes = got.bytes;
    let manifestDigest = got.digest;
    let parsed = got.parsed;
    if (parsed.kind === "index") {
      const entry = selectFromIndex(parsed.index, kind, where);
      got = await this.getManifest(ep, ref, entry.digest, entry.digest, `${where} (index entry ${entry.digest})`, ctx);
      if (got.bytes.length !== entry.size) {
        throw new AgentError("DIGEST_MISMATCH", `${where}: the index entry says ${entry.size} bytes, the manifest has ${got.bytes.length}`, { where });
      }
      if (got.parsed.kind !== "manifest") throw new AgentError("ARTIFACT_INVALID", `${where}: an image index inside an image index is not followed`, { where });
      manifestBytes = got.bytes;
      manifestDigest = got.digest;
      parsed = got.parsed;
    }
    if (parsed.kind !== "manifest") throw new AgentError("INTERNAL", `${where}: unexpected manifest kind`);
    const checked = checkArtifact(parsed.manifest, kind, where, ref.tag);
    const layer = checked.layer;
    if (layer.size > this.limits.maxBlobBytes) {
      throw new AgentError("PACKAGE_TOO_LARGE", `${where}: the layer is ${layer.size} bytes, more than the limit of ${this.limits.maxBlobBytes} (packages.maxBytes); nothing downloaded`, { where, size: layer.size, limit: this.limits.maxBlobBytes });
    }
    if (!(await this.cache.hasVerified(layer.digest, layer.size))) await this.getBlob(ep, ref, layer, where, ctx);
    // Written only when new: pulls of what the device already has cost no flash writes.
    if (!(await this.cache.readVerified(manifestDigest, this.limits.maxManifestBytes))) await this.cache.putBytes(manifestDigest, manifestBytes);
    if (ref.tag && (await this.cache.lookupTag(ref)) !== manifestDigest) await this.cache.rememberTag(ref, manifestDigest);
    // The base may have changed to plain http during the requests (a loopback origin without TLS).
    return this.result(ref, manifestDigest, parsed.manifest, checked, "registry", this.transport.baseOf(ep).origin, ep.mirror, false);
  }

  private async getManifest(ep: Endpoint, ref: OciReference, reference: string, expected: string | undefined, where: string, ctx: Ctx) {
    const limit = deadline(this.limits.requestTimeoutMs, `${where}: the manifest did not arrive within ${Math.round(this.limits.requestTimeoutMs / 1000)} s`, ctx.signal);
    try {
      const what = `manifest of ${where}`;
      const res = await this.transport.request(ep, {
        method: "GET",
        path: `/v2/${ref.repository}/manifests/${reference}`,
        headers: { accept: ACCEPT },
        scope: `repository:${ref.repository}:pull`,
        signal: limit.signal,
        what,
      });
      if (!res.ok) throw await this.transport.statusError(res, what);
      const bytes = await readBody(res, {
        maxBytes: this.limits.maxManifestBytes,
        idleMs: this.limits.idleTimeoutMs,
        signal: limit.signal,
        what,
        tooLarge: (got) => new AgentError("PACKAGE_TOO_LARGE", `${what}: the manifest ${got}, more than the limit of ${this.limits.maxManifestBytes} bytes`, { where }),
      });
      const digest = sha256(bytes);
      if (expected !== undefined && digest !== expected) {
        throw new AgentError("DIGEST_MISMATCH", `${what}: the manifest hashes to ${digest}, not the ${expected} asked for; nothing used`, { where, expected, actual: digest });
      }
      const claimed = res.headers.get("docker-content-digest");
      if (claimed && /^sha256:/.test(claimed) && claimed !== digest) {
        throw new AgentError("DIGEST_MISMATCH", `${what}: the manifest hashes to ${digest} but the registry says ${claimed.slice(0, 80)}; nothing used`, { where, expected: claimed, actual: digest });
      }
      return { bytes, digest, parsed: parseManifest(bytes, res.headers.get("content-type"), where) };
    } finally {
      limit.clear();
    }
  }

  /** Streams the layer into tmp/ while hashing; moved into the cache only when size and digest match. */
  private async getBlob(ep: Endpoint, ref: OciReference, layer: Descriptor, where: string, ctx: Ctx): Promise<void> {
    const what = `layer ${layer.digest} of ${where}`;
    await this.checkDisk(layer.size, what);
    const allowedMs = this.limits.requestTimeoutMs + Math.ceil((layer.size * 1000) / this.limits.minBytesPerSecond);
    const limit = deadline(allowedMs, `${what}: the download took longer than ${Math.round(allowedMs / 1000)} s (${layer.size} bytes at the minimum rate of ${this.limits.minBytesPerSecond} bytes/s)`, ctx.signal);
    const tmp = this.cache.tmpPath();
    const fh = await open(tmp, "wx", 0o600);
    let committed = false;
    try {
      const res = await this.transport.request(ep, {
        method: "GET",
        path: `/v2/${ref.repository}/blobs/${layer.digest}`,
        scope: `repository:${ref.repository}:pull`,
        signal: limit.signal,
        what,
      });
      if (!res.ok) throw await this.transport.statusError(res, what);
      const hash = createHash("sha256");
      const endpoint = this.transport.baseOf(ep).origin;
      let received = 0;
      let sinceProbe = 0;
      let lastLog = performance.now();
      await pumpBody(
        res,
        {
          maxBytes: layer.size,
          idleMs: this.limits.idleTimeoutMs,
          signal: limit.signal,
          what,
          tooLarge: (got) => new AgentError("DIGEST_MISMATCH", `${what}: the registry ${got}, its descriptor says ${layer.size} bytes; nothing kept`, { where, digest: layer.digest }),
        },
        async (chunk) => {
          hash.update(chunk);
          await fh.write(chunk);
          received += chunk.byteLength;
          sinceProbe += chunk.byteLength;
          if (sinceProbe >= this.limits.diskProbeBytes) {
            sinceProbe = 0;
            await this.checkDisk(layer.size - received, what);
          }
          ctx.onProgress?.({ reference: ctx.name, digest: layer.digest, bytes: received, total: layer.size, endpoint });
          if (performance.now() - lastLog >= PROGRESS_LOG_MS) {
            lastLog = performance.now();
            this.log.info({ deploymentId: ctx.deploymentId, reference: ctx.name, digest: layer.digest, bytes: received, total: layer.size, endpoint }, "pulling layer");
          }
        },
      );
      if (received !== layer.size) {
        throw new AgentError("DIGEST_MISMATCH", `${what}: the registry sent ${received} bytes, its descriptor says ${layer.size}; nothing kept`, { where, digest: layer.digest });
      }
      const actual = `sha256:${hash.digest("hex")}`;
      if (actual !== layer.digest) {
        throw new AgentError("DIGEST_MISMATCH", `${what}: the layer hashes to ${actual}, not ${layer.digest}; nothing extracted`, { where, expected: layer.digest, actual });
      }
      await fh.sync();
      await fh.close();
      await this.cache.commit(tmp, layer.digest);
      committed = true;
    } finally {
      limit.clear();
      if (!committed) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  /** DISK_SPACE_LOW when writing `bytes` more would leave less than the reserve free. */
  private async checkDisk(bytes: number, what: string): Promise<void> {
    const free = await this.freeBytes(this.cache.root);
    if (free - bytes < this.deps.reserveBytes) {
      throw new AgentError(
        "DISK_SPACE_LOW",
        `${what}: ${bytes} more bytes would leave ${Math.max(0, free - bytes)} of ${free} free on the file system of ${this.cache.root}, below the reserve of ${this.deps.reserveBytes} (packages.reserve); download stopped`,
        { dir: this.cache.root, free, reserve: this.deps.reserveBytes, needed: bytes },
      );
    }
  }

  private result(
    ref: OciReference,
    manifestDigest: string,
    manifest: ImageManifest,
    checked: ReturnType<typeof checkArtifact>,
    source: "registry" | "cache",
    endpoint: string | null,
    mirror: boolean,
    offline: boolean,
  ): PulledArtifact {
    const l = checked.layer;
    return {
      reference: { ...ref, digest: manifestDigest },
      manifestDigest,
      manifest,
      artifactType: checked.artifactType,
      layer: { digest: l.digest, size: l.size, mediaType: l.mediaType, path: this.cache.pathOf(l.digest) },
      annotations: checked.annotations,
      source,
      endpoint,
      mirror,
      offline,
    };
  }

  private done(a: PulledArtifact, started: number, ctx: Ctx): PulledArtifact {
    ctx.onProgress?.({ reference: ctx.name, digest: a.layer.digest, bytes: a.layer.size, total: a.layer.size, endpoint: a.endpoint ?? "cache" });
    this.log.info(
      { deploymentId: ctx.deploymentId, reference: ctx.name, manifestDigest: a.manifestDigest, layerDigest: a.layer.digest, bytes: a.layer.size, source: a.source, endpoint: a.endpoint, mirror: a.mirror, offline: a.offline, ms: Math.round(performance.now() - started) },
      "artifact pulled",
    );
    return a;
  }

  /**
   * One error for every endpoint tried: the first that says something about the artifact (not
   * merely "unreachable") leads, the others are listed after it.
   */
  private combine(name: string, failures: { ep: Endpoint; err: AgentError }[]): AgentError {
    if (failures.length === 0) return new AgentError("REGISTRY_UNREACHABLE", `${name}: no registry endpoint to ask`);
    if (failures.length === 1) return failures[0]!.err;
    const lead = failures.find((f) => f.err.code !== "REGISTRY_UNREACHABLE") ?? failures[failures.length - 1]!;
    const others = failures.filter((f) => f !== lead).map((f) => `${this.transport.baseOf(f.ep).origin}: ${f.err.code} ${f.err.message}`);
    return new AgentError(lead.err.code, `${lead.err.message}; also tried ${others.join("; ")}`, { ...lead.err.details, endpoints: failures.map((f) => this.transport.baseOf(f.ep).origin) }, { cause: lead.err });
  }
}

type Ctx = PullOptions & { signal: AbortSignal; name: string };
