/**
 * Resolving a component's package: download (bounded), verify (pinned digest,
 * optional detached PGP signature), unpack safely into a content-addressed
 * cache, and record which package a deployment's component uses.
 *
 * Layout under dataDir:
 *   packages/sha256-<hex>/           the unpacked package (the compose project directory)
 *   packages/sha256-<hex>.orig       the package bytes as downloaded (re-verified on cache hits)
 *   packages/sha256-<hex>.json       { composeFile } relative to the directory
 *   deployments/<id>/<component>/package.json   which package this component uses
 *
 * Signature convention: when keyLocation is given, the detached, ASCII-armored
 * signature is fetched from `<packageLocation>.asc` (the same URL with ".asc"
 * appended) and must verify against the armored public key at keyLocation.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readTarGz } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";
import { checkComposeText, findComposeEntry, isGzip } from "./compose-entry.ts";
import { checkFreeSpace } from "./disk.ts";
import { download } from "./download.ts";
import { verifyDetachedSignature } from "./signature.ts";

export interface PackageInput {
  deploymentId: string;
  componentName: string;
  packageLocation: string;
  keyLocation?: string;
  /** sha256:<64 hex>: pins the package bytes; also lets a cached copy be used without downloading. */
  expectedDigest?: string;
}

export interface PackageDeps {
  dataDir: string;
  fetch: (url: string) => Promise<Response>;
  limits: { maxPackageBytes: number; maxEntries: number; maxTotalBytes: number };
  allowInsecureHttp: boolean;
  minFreeBytes: number;
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

export async function resolvePackage(input: PackageInput, deps: PackageDeps): Promise<ResolvedPackage> {
  const what = `package of component "${input.componentName}" (${input.packageLocation})`;
  const pinned = input.expectedDigest === undefined ? undefined : pinnedHex(input.expectedDigest, what);
  const packagesDir = join(deps.dataDir, "packages");
  await mkdir(packagesDir, { recursive: true });

  let hex: string;
  // A signature check needs the original bytes: a cache hit without them downloads again.
  const cached = pinned !== undefined && (await readCacheMeta(packagesDir, pinned)) !== null;
  let bytes = cached && input.keyLocation ? await readCachedBytes(packagesDir, pinned) : undefined;
  if (cached && (!input.keyLocation || bytes)) {
    hex = pinned;
  } else {
    await checkFreeSpace(deps.dataDir, deps.minFreeBytes);
    bytes = await download(input.packageLocation, {
      fetch: deps.fetch,
      maxBytes: deps.limits.maxPackageBytes,
      allowInsecureHttp: deps.allowInsecureHttp,
      what: `package of component "${input.componentName}"`,
    });
    hex = sha256Hex(bytes);
    if (pinned && hex !== pinned) {
      throw new AgentError(
        "DIGEST_MISMATCH",
        `${input.packageLocation}: package digest sha256:${hex} does not match the expected ${input.expectedDigest}; nothing applied`,
        { url: input.packageLocation, expected: input.expectedDigest, actual: `sha256:${hex}` },
      );
    }
  }

  if (input.keyLocation) {
    if (!bytes) throw new AgentError("INTERNAL", `${what}: package bytes unavailable for signature check`);
    await verifySignature(input, deps, bytes, what);
  }

  let meta = await readCacheMeta(packagesDir, hex);
  if (!meta) {
    if (!bytes) throw new AgentError("INTERNAL", `${what}: package bytes unavailable for unpacking`);
    meta = await unpackIntoCache(packagesDir, hex, bytes, deps, input.packageLocation);
  }
  const dir = join(packagesDir, `sha256-${hex}`);
  const resolved: ResolvedPackage = { composeFile: join(dir, meta.composeFile), packageDigest: `sha256:${hex}`, dir };
  await writeReference(deps.dataDir, input, resolved);
  return resolved;
}

function pinnedHex(digest: string, what: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new AgentError("DIGEST_UNSUPPORTED", `${what}: expected digest "${digest}" is not sha256:<64 lowercase hex>`);
  return m[1]!;
}

async function verifySignature(input: PackageInput, deps: PackageDeps, bytes: Uint8Array, what: string): Promise<void> {
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
  await verifyDetachedSignature(bytes, text(sig), text(key), what);
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

/** The cached original bytes, re-hashed so a modified cache is never trusted. */
async function readCachedBytes(packagesDir: string, hex: string): Promise<Uint8Array | undefined> {
  try {
    const b = new Uint8Array(await readFile(join(packagesDir, `sha256-${hex}.orig`)));
    return sha256Hex(b) === hex ? b : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Unpacks into a temporary directory and renames it into place, so a reader
 * never sees half a package; the metadata file is written last and marks the
 * entry complete.
 */
async function unpackIntoCache(packagesDir: string, hex: string, bytes: Uint8Array, deps: PackageDeps, url: string): Promise<CacheMeta> {
  const what = `package ${url}`;
  let files: { path: string; data: Uint8Array }[];
  let composeFile: string;
  if (isGzip(bytes)) {
    files = readTarGz(
      bytes,
      { maxEntries: deps.limits.maxEntries, maxEntryBytes: deps.limits.maxTotalBytes, maxTotalBytes: deps.limits.maxTotalBytes },
      { codes: { unsafe: "PACKAGE_UNSAFE", tooLarge: "PACKAGE_TOO_LARGE", invalid: "PACKAGE_INVALID" }, what },
    );
    composeFile = findComposeEntry(files, what);
  } else {
    checkComposeText(bytes, what);
    files = [{ path: "compose.yaml", data: bytes }];
    composeFile = "compose.yaml";
  }
  const final = join(packagesDir, `sha256-${hex}`);
  const tmp = join(packagesDir, `.tmp-${hex.slice(0, 12)}-${randomBytes(6).toString("hex")}`);
  try {
    for (const f of files) {
      const target = join(tmp, f.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.data);
    }
    await mkdir(tmp, { recursive: true });
    await rm(final, { recursive: true, force: true });
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another resolve of the same package won the race: its copy is identical.
      if (!["ENOTEMPTY", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await writeAtomic(join(packagesDir, `sha256-${hex}.orig`), bytes);
  const meta: CacheMeta = { composeFile };
  await writeAtomic(join(packagesDir, `sha256-${hex}.json`), JSON.stringify(meta));
  return meta;
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
