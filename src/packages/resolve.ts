/**
 * Resolving a component's package: download (bounded), verify (pinned digest,
 * optional detached PGP signature), unpack safely into a content-addressed
 * cache, and record which package a deployment's component uses.
 *
 * Layout under dataDir:
 *   packages/sha256-<hex>/           the unpacked package (the compose project directory)
 *   packages/sha256-<hex>.orig       the package bytes as downloaded (re-verified on cache hits)
 *   packages/sha256-<hex>.json       { composeFile } relative to the directory
 *   packages/.download-*, .tmp-*     a download or unpack in progress (removed when it fails)
 *   deployments/<id>/<component>/package.json   which package this component uses
 *
 * Signature convention: when keyLocation is given, the detached, ASCII-armored
 * signature is fetched from `<packageLocation>.asc` (the same URL with ".asc"
 * appended) and must verify against the armored public key at keyLocation.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { extractTarGz } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";
import { checkComposeText, findComposeEntry, isGzip } from "./compose-entry.ts";
import { checkFreeSpace, type FreeSpaceProbe, SpaceGuard } from "./disk.ts";
import { download, downloadToFile, type PackageFetch } from "./download.ts";
import { fileChunks, openFileStream, sha256File } from "./files.ts";
import { verifyDetachedSignature } from "./signature.ts";

export interface PackageInput {
  deploymentId: string;
  componentName: string;
  packageLocation: string;
  keyLocation?: string;
  /** sha256:<64 hex>: pins the package bytes; also lets a cached copy be used without downloading. */
  expectedDigest?: string;
}

export interface PackageLimits {
  /** Largest package as downloaded (compressed), in bytes. */
  maxPackageBytes: number;
  /** Most entries (files and directories) in a package archive; default DEFAULT_PACKAGE_LIMITS.maxEntries. */
  maxEntries?: number;
  /** Largest sum of file sizes once unpacked; default the larger of DEFAULT_PACKAGE_LIMITS.maxExpandedBytes and maxPackageBytes. */
  maxExpandedBytes?: number;
  /** Largest expansion (unpacked / compressed bytes), judged after the first MiB; default DEFAULT_PACKAGE_LIMITS.maxRatio. */
  maxRatio?: number;
}

/**
 * Package archives hold a compose project (compose file, configuration, small assets). Archives
 * of many similar text files reach ~75-fold; a gzip bomb ~1000-fold.
 */
export const DEFAULT_PACKAGE_LIMITS = { maxEntries: 1000, maxExpandedBytes: 256 * 1024 * 1024, maxRatio: 200 } as const;

/** A package that is not an archive is a compose file; one this large is not. */
export const MAX_COMPOSE_FILE_BYTES = 1024 * 1024;

export interface PackageDeps {
  dataDir: string;
  /** Called with redirect: "manual"; download.ts follows and checks each redirect itself. */
  fetch: PackageFetch;
  limits: PackageLimits;
  allowInsecureHttp: boolean;
  /** Free space kept on the data directory, checked before and while a package is written. */
  minFreeBytes: number;
  /** How free space is measured (statfs); tests may pass their own. */
  freeSpace?: FreeSpaceProbe;
}

export interface ResolvedPackage {
  /** Absolute path of the compose file inside the unpacked package. */
  composeFile: string;
  /** sha256:<hex> of the package bytes. */
  packageDigest: string;
  /** Absolute path of the unpacked package (the compose project directory). */
  dir: string;
}

/** Keys and signatures are small; anything bigger is not one. */
const MAX_KEY_BYTES = 1 << 20;
const DIGEST = /^sha256:([0-9a-f]{64})$/;

/**
 * Every step streams: the download goes to a file while it is hashed, the signature is checked
 * over that file, and the archive is unpacked from it, so memory stays flat whatever the size.
 * Nothing that failed a check reaches the cache.
 */
export async function resolvePackage(input: PackageInput, deps: PackageDeps): Promise<ResolvedPackage> {
  const what = `package of component "${input.componentName}" (${input.packageLocation})`;
  const pinned = input.expectedDigest === undefined ? undefined : pinnedHex(input.expectedDigest, what);
  const packagesDir = join(deps.dataDir, "packages");
  await mkdir(packagesDir, { recursive: true });
  const space = new SpaceGuard(deps.dataDir, deps.minFreeBytes, deps.freeSpace);

  let hex: string;
  /** The package bytes on disk, verified against `hex`. */
  let original: string | undefined;
  let downloaded: string | undefined;
  try {
    // A signature check needs the original bytes: a cache hit without them downloads again.
    const cached = pinned !== undefined && (await readCacheMeta(packagesDir, pinned)) !== null;
    const cachedOriginal = cached && input.keyLocation ? await verifiedOriginal(packagesDir, pinned) : undefined;
    if (cached && (!input.keyLocation || cachedOriginal)) {
      hex = pinned;
      original = cachedOriginal;
    } else {
      await checkFreeSpace(deps.dataDir, deps.minFreeBytes, 0, deps.freeSpace);
      downloaded = join(packagesDir, `.download-${randomBytes(8).toString("hex")}`);
      const got = await downloadToFile(input.packageLocation, downloaded, {
        fetch: deps.fetch,
        maxBytes: deps.limits.maxPackageBytes,
        allowInsecureHttp: deps.allowInsecureHttp,
        what: `package of component "${input.componentName}"`,
        beforeWrite: (bytes, exact) => space.need(bytes, exact),
      });
      hex = got.sha256;
      if (pinned && hex !== pinned) {
        throw new AgentError(
          "DIGEST_MISMATCH",
          `${input.packageLocation}: package digest sha256:${hex} does not match the expected ${input.expectedDigest}; nothing applied`,
          { url: input.packageLocation, expected: input.expectedDigest, actual: `sha256:${hex}` },
        );
      }
      original = downloaded;
    }

    if (input.keyLocation) {
      if (!original) throw new AgentError("INTERNAL", `${what}: package bytes unavailable for signature check`);
      await verifySignature(input, deps, original, what);
    }

    let meta = await readCacheMeta(packagesDir, hex);
    if (!meta) {
      if (!original) throw new AgentError("INTERNAL", `${what}: package bytes unavailable for unpacking`);
      const composeFile = await unpackIntoCache(packagesDir, hex, original, deps, space, input.packageLocation);
      const kept = join(packagesDir, `sha256-${hex}.orig`);
      if (original === downloaded) {
        await rename(downloaded, kept);
        downloaded = undefined;
      }
      meta = { composeFile };
      // Written last: marks the entry complete.
      await writeAtomic(join(packagesDir, `sha256-${hex}.json`), JSON.stringify(meta));
    }
    const dir = join(packagesDir, `sha256-${hex}`);
    const resolved: ResolvedPackage = { composeFile: join(dir, meta.composeFile), packageDigest: `sha256:${hex}`, dir };
    await writeReference(deps.dataDir, input, resolved);
    return resolved;
  } finally {
    if (downloaded) await rm(downloaded, { force: true });
  }
}

function pinnedHex(digest: string, what: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new AgentError("DIGEST_UNSUPPORTED", `${what}: expected digest "${digest}" is not sha256:<64 lowercase hex>`);
  return m[1]!;
}

async function verifySignature(input: PackageInput, deps: PackageDeps, original: string, what: string): Promise<void> {
  const small = (w: string) => ({ fetch: deps.fetch, maxBytes: MAX_KEY_BYTES, allowInsecureHttp: deps.allowInsecureHttp, what: w });
  const key = await download(input.keyLocation!, small(`public key for component "${input.componentName}"`));
  const sigUrl = `${input.packageLocation}.asc`;
  let sig: Uint8Array;
  try {
    sig = await download(sigUrl, small(`signature of component "${input.componentName}"`));
  } catch (err) {
    if (err instanceof AgentError && err.code === "PACKAGE_DOWNLOAD_FAILED") {
      throw new AgentError("PACKAGE_SIGNATURE_INVALID", `${what}: keyLocation is set but the detached signature ${sigUrl} is missing (${err.message})`, { url: sigUrl }, { cause: err });
    }
    throw err;
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const data = await openFileStream(original);
  try {
    await verifyDetachedSignature(data.stream, text(sig), text(key), what);
  } finally {
    await data.close();
  }
}

interface CacheMeta {
  composeFile: string;
}

async function readCacheMeta(packagesDir: string, hex: string): Promise<CacheMeta | null> {
  try {
    const meta = JSON.parse(await readFile(join(packagesDir, `sha256-${hex}.json`), "utf8")) as CacheMeta;
    return typeof meta.composeFile === "string" ? meta : null;
  } catch {
    return null;
  }
}

/** The cached original bytes' path, re-hashed so a modified cache is never trusted. */
async function verifiedOriginal(packagesDir: string, hex: string): Promise<string | undefined> {
  const path = join(packagesDir, `sha256-${hex}.orig`);
  try {
    return (await sha256File(path)) === hex ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Unpacks into a temporary directory and renames it into place, so a reader never sees half a
 * package. Returns the compose file's path relative to the package directory.
 */
async function unpackIntoCache(packagesDir: string, hex: string, original: string, deps: PackageDeps, space: SpaceGuard, url: string): Promise<string> {
  const what = `package ${url}`;
  const final = join(packagesDir, `sha256-${hex}`);
  const tmp = join(packagesDir, `.tmp-${hex.slice(0, 12)}-${randomBytes(6).toString("hex")}`);
  try {
    let composeFile: string;
    if (isGzip(await readHead(original, 2))) {
      const expanded = deps.limits.maxExpandedBytes ?? Math.max(DEFAULT_PACKAGE_LIMITS.maxExpandedBytes, deps.limits.maxPackageBytes);
      const { files } = await extractTarGz(
        fileChunks(original),
        tmp,
        {
          maxEntries: deps.limits.maxEntries ?? DEFAULT_PACKAGE_LIMITS.maxEntries,
          maxEntryBytes: expanded,
          maxTotalBytes: expanded,
          maxRatio: deps.limits.maxRatio ?? DEFAULT_PACKAGE_LIMITS.maxRatio,
        },
        { codes: { unsafe: "PACKAGE_UNSAFE", tooLarge: "PACKAGE_TOO_LARGE", invalid: "PACKAGE_INVALID" }, what, beforeFile: ({ size }) => space.need(size, true) },
      );
      // findComposeEntry looks at paths only; the bytes are on disk.
      composeFile = findComposeEntry(files.map((path) => ({ path, data: new Uint8Array(0) })), what);
    } else {
      const { size } = await stat(original);
      if (size > MAX_COMPOSE_FILE_BYTES) {
        throw new AgentError("PACKAGE_TOO_LARGE", `${what}: not a gzip archive, and ${size} bytes is more than a compose file may have (${MAX_COMPOSE_FILE_BYTES})`, { url, size });
      }
      const bytes = new Uint8Array(await readFile(original));
      checkComposeText(bytes, what);
      await mkdir(tmp);
      await space.need(bytes.length, true);
      await writeFile(join(tmp, "compose.yaml"), bytes);
      composeFile = "compose.yaml";
    }
    await rm(final, { recursive: true, force: true });
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another resolve of the same package won the race: its copy is identical.
      if (!["ENOTEMPTY", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
    return composeFile;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  const file = await open(path, "r");
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await file.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

async function writeReference(dataDir: string, input: PackageInput, resolved: ResolvedPackage): Promise<void> {
  const dir = join(dataDir, "deployments", safeSegment(input.deploymentId), safeSegment(input.componentName));
  await mkdir(dir, { recursive: true });
  const ref = { packageLocation: input.packageLocation, keyLocation: input.keyLocation, ...resolved };
  await writeAtomic(join(dir, "package.json"), `${JSON.stringify(ref, null, 2)}\n`);
}

/** A path segment from an identifier: kept when plainly safe, else replaced by its hash. */
export function safeSegment(id: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) return id;
  return `h-${sha256Hex(new TextEncoder().encode(id)).slice(0, 32)}`;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
