/**
 * The content-addressed blob cache under the data directory, shared by every deployment and kept
 * across restarts. Blobs (manifests and layers alike) are stored by digest and re-hashed whenever
 * they are used, so a cache file changed on disk is dropped and fetched again, never trusted.
 *
 *   <root>/blobs/sha256/<hex>   verified blob bytes
 *   <root>/tags/<h>.json        the digest a tag last resolved to (for an offline re-install)
 *   <root>/tmp/                 downloads in progress (same file system: renamed into place)
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { OciReference } from "./reference.ts";

/** A download left in tmp/ longer than this belongs to a process that died: removed. */
const STALE_TMP_MS = 24 * 60 * 60 * 1000;

export class BlobCache {
  readonly blobsDir: string;
  readonly tagsDir: string;
  readonly tmpDir: string;
  private ready: Promise<void> | undefined;

  constructor(readonly root: string) {
    this.blobsDir = join(root, "blobs", "sha256");
    this.tagsDir = join(root, "tags");
    this.tmpDir = join(root, "tmp");
  }

  /** Creates the directories once and clears downloads a crashed process left behind. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
      await mkdir(this.tagsDir, { recursive: true, mode: 0o700 });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
      const now = Date.now();
      for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
        const path = join(this.tmpDir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && now - info.mtimeMs > STALE_TMP_MS) await rm(path, { recursive: true, force: true });
      }
    })();
    return this.ready;
  }

  pathOf(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  /** True when the blob is cached with this size and still hashes to its digest; a bad copy is removed. */
  async hasVerified(digest: string, size: number): Promise<boolean> {
    const path = this.pathOf(digest);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return false;
    if (info.size !== size || (await hashFile(path)) !== digest) {
      await rm(path, { force: true });
      return false;
    }
    return true;
  }

  /** A small blob (a manifest) from the cache, re-verified; undefined when absent or altered. */
  async readVerified(digest: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const path = this.pathOf(digest);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || info.size > maxBytes) return undefined;
    const bytes = new Uint8Array(await readFile(path));
    if (sha256(bytes) !== digest) {
      await rm(path, { force: true });
      return undefined;
    }
    return bytes;
  }

  /** Stores bytes the caller has verified against `digest`. */
  async putBytes(digest: string, bytes: Uint8Array): Promise<void> {
    const tmp = this.tmpPath();
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commit(tmp, digest);
  }

  tmpPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString("hex")}`);
  }

  /** Moves a verified download into place (atomic: a reader sees all of it or nothing). */
  async commit(tmp: string, digest: string): Promise<string> {
    const path = this.pathOf(digest);
    await rename(tmp, path);
    return path;
  }

  async rememberTag(ref: OciReference, digest: string): Promise<void> {
    if (!ref.tag) return;
    const record = { registry: ref.registry, repository: ref.repository, tag: ref.tag, digest, at: new Date().toISOString() };
    const tmp = this.tmpPath();
    await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    await rename(tmp, this.tagPath(ref));
  }

  /** The manifest digest this tag resolved to last time, if the cache remembers it. */
  async lookupTag(ref: OciReference): Promise<string | undefined> {
    if (!ref.tag) return undefined;
    try {
      const record = JSON.parse(await readFile(this.tagPath(ref), "utf8")) as { registry?: unknown; repository?: unknown; tag?: unknown; digest?: unknown };
      const same = record.registry === ref.registry && record.repository === ref.repository && record.tag === ref.tag;
      return same && typeof record.digest === "string" && /^sha256:[0-9a-f]{64}$/.test(record.digest) ? record.digest : undefined;
    } catch {
      return undefined;
    }
  }

  private tagPath(ref: OciReference): string {
    const key = sha256(new TextEncoder().encode(`${ref.registry}/${ref.repository}:${ref.tag}`)).slice("sha256:".length, "sha256:".length + 32);
    return join(this.tagsDir, `${key}.json`);
  }
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`not a sha256 digest: ${digest.slice(0, 80)}`);
  return m[1]!;
}
