/**
 * The Margo compose archive (src/oci/README.md, "Compose archive rules"): a tar.gz with exactly one
 * top-level directory holding `compose.yaml` (the names compose.yml, docker-compose.yaml and
 * docker-compose.yml are not valid there), no links, no absolute paths, no '..', and files that
 * compose.yaml references (env_file, configs) inside that directory.
 *
 * Unpacked archives are cached by layer digest and shared between deployments:
 *   <root>/unpacked/sha256-<hex>/<top>/compose.yaml
 *   <root>/unpacked/sha256-<hex>.json   { top, files: {path: sha256} }, written last: marks it complete
 * A cached copy is used only when every listed file still hashes to what was extracted.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { AgentError } from "../errors/index.ts";
import type { ArchiveErrorCodes } from "../archive/index.ts";
import { type ExtractLimits, extractVerifiedTarGz } from "./archive-io.ts";
import { hashFile } from "./cache.ts";

export const COMPOSE_FILE = "compose.yaml";
/** Names compose itself would pick up, which a Margo archive must not hold beside compose.yaml. */
export const FORBIDDEN_COMPOSE_NAMES = ["compose.yml", "docker-compose.yaml", "docker-compose.yml"];

/** Security rules map to PACKAGE_UNSAFE, size to PACKAGE_TOO_LARGE, everything else to ARTIFACT_INVALID. */
export const COMPOSE_ARCHIVE_CODES: ArchiveErrorCodes = { unsafe: "PACKAGE_UNSAFE", tooLarge: "PACKAGE_TOO_LARGE", invalid: "ARTIFACT_INVALID" };

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 10_000, maxEntryBytes: 256 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 };

export interface ComposePackage {
  /** The project directory: the archive's top-level directory, unpacked. */
  dir: string;
  /** `dir`/compose.yaml */
  composeFile: string;
  /** The top-level directory's name as the archive gives it. */
  top: string;
  layerDigest: string;
}

/**
 * Judges an archive's files against the layout rules; returns the top-level directory's name.
 * `files` are regular files with normalised paths (the tar reader has refused the unsafe ones).
 */
export function checkComposeLayout(files: { path: string; data: Uint8Array }[], what: string): string {
  if (files.length === 0) invalid(what, "the archive holds no files; it must hold one top-level directory with compose.yaml");
  const tops = new Set<string>();
  for (const f of files) {
    const slash = f.path.indexOf("/");
    if (slash === -1) invalid(what, `${JSON.stringify(f.path)} lies at the top level; the archive must hold exactly one top-level directory (with ${COMPOSE_FILE} inside)`);
    tops.add(f.path.slice(0, slash));
  }
  if (tops.size !== 1) invalid(what, `the archive has ${tops.size} top-level directories (${[...tops].slice(0, 5).join(", ")}); exactly one is allowed`);
  const [top] = tops as unknown as [string];
  const byPath = new Map(files.map((f) => [f.path, f.data]));
  for (const name of FORBIDDEN_COMPOSE_NAMES) {
    if (byPath.has(`${top}/${name}`)) invalid(what, `${top}/${name}: the compose file must be named ${COMPOSE_FILE}; ${FORBIDDEN_COMPOSE_NAMES.join(", ")} are not valid in a Margo compose archive`);
  }
  const compose = byPath.get(`${top}/${COMPOSE_FILE}`);
  if (!compose) invalid(what, `${top}/ holds no ${COMPOSE_FILE}`);
  checkComposeReferences(compose, top, new Set(byPath.keys()), what);
  return top;
}

/**
 * env_file and configs (file) entries must be relative paths that stay inside the top-level
 * directory and name files the archive holds (optional env files may be absent). Paths built by
 * interpolation (`${…}`) cannot be judged here and are left to compose and the compose policy.
 */
export function checkComposeReferences(composeBytes: Uint8Array, top: string, paths: Set<string>, what: string): void {
  let doc: unknown;
  try {
    doc = parse(new TextDecoder("utf-8", { fatal: true }).decode(composeBytes));
  } catch (err) {
    invalid(what, `${top}/${COMPOSE_FILE} is not YAML (${(err as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) invalid(what, `${top}/${COMPOSE_FILE} is not a YAML mapping`);
  const d = doc as { services?: unknown; configs?: unknown };
  const refs: { path: string; where: string; required: boolean }[] = [];
  for (const [svc, def] of entries(d.services)) {
    const envFile = (def as { env_file?: unknown } | null)?.env_file;
    const list = Array.isArray(envFile) ? envFile : envFile === undefined ? [] : [envFile];
    for (const item of list) {
      if (typeof item === "string") refs.push({ path: item, where: `services.${svc}.env_file`, required: true });
      else if (item && typeof item === "object" && typeof (item as { path?: unknown }).path === "string") {
        refs.push({ path: (item as { path: string }).path, where: `services.${svc}.env_file`, required: (item as { required?: unknown }).required !== false });
      }
    }
  }
  for (const [name, def] of entries(d.configs)) {
    const file = (def as { file?: unknown } | null)?.file;
    if (typeof file === "string") refs.push({ path: file, where: `configs.${name}.file`, required: true });
  }
  for (const ref of refs) {
    if (ref.path.includes("$")) continue;
    const resolved = resolveInside(ref.path);
    if (resolved === undefined) invalid(what, `${top}/${COMPOSE_FILE}: ${ref.where} ${JSON.stringify(ref.path)} must be a relative path inside the top-level directory`);
    if (ref.required && !paths.has(`${top}/${resolved}`)) invalid(what, `${top}/${COMPOSE_FILE}: ${ref.where} ${JSON.stringify(ref.path)} names a file the archive does not hold`);
  }
}

/** 'a/./b' → 'a/b'; undefined for absolute paths and any path that climbs out. */
export function resolveInside(path: string): string | undefined {
  if (path.startsWith("/") || path.startsWith("~") || path.includes("\\")) return undefined;
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(seg);
  }
  return out.length === 0 ? undefined : out.join("/");
}

/**
 * The unpacked project for a verified layer in the blob cache: reused when the cached copy is
 * intact, else extracted (after the layer is hashed again) into a private directory, judged, and
 * renamed into place.
 */
export async function unpackComposeArchive(
  layer: { digest: string; path: string },
  opts: { cacheDir: string; limits?: ExtractLimits; what?: string },
): Promise<ComposePackage> {
  const hex = layer.digest.slice("sha256:".length);
  const root = join(opts.cacheDir, "unpacked");
  await mkdir(root, { recursive: true, mode: 0o700 });
  const final = join(root, `sha256-${hex}`);
  const markerPath = `${final}.json`;
  const what = opts.what ?? `compose archive ${layer.digest}`;
  const reused = await readIntactMarker(markerPath, final);
  if (reused) return pkg(final, reused.top, layer.digest);

  const tmp = join(root, `.tmp-${hex.slice(0, 12)}-${randomBytes(6).toString("hex")}`);
  try {
    let top = "";
    const files = await extractVerifiedTarGz(layer.path, layer.digest, tmp, {
      limits: opts.limits ?? DEFAULT_EXTRACT_LIMITS,
      what,
      codes: COMPOSE_ARCHIVE_CODES,
      beforeWrite: (entries) => {
        top = checkComposeLayout(entries, what);
      },
    });
    await rm(markerPath, { force: true });
    await rm(final, { recursive: true, force: true });
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another unpack of the same layer won the race; its copy is identical.
      if (!["ENOTEMPTY", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
    const marker = { top, files: Object.fromEntries(files.map((f) => [f.path, f.sha256])) };
    const markerTmp = `${markerPath}.tmp-${randomBytes(6).toString("hex")}`;
    await writeFile(markerTmp, `${JSON.stringify(marker)}\n`, { mode: 0o600 });
    await rename(markerTmp, markerPath);
    return pkg(final, top, layer.digest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readIntactMarker(markerPath: string, dir: string): Promise<{ top: string } | undefined> {
  let marker: { top?: unknown; files?: unknown };
  try {
    marker = JSON.parse(await readFile(markerPath, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof marker.top !== "string" || typeof marker.files !== "object" || marker.files === null) return undefined;
  for (const [path, digest] of Object.entries(marker.files as Record<string, unknown>)) {
    const actual = await hashFile(join(dir, path)).catch(() => undefined);
    if (actual !== digest) return undefined;
  }
  return { top: marker.top };
}

function pkg(final: string, top: string, layerDigest: string): ComposePackage {
  const dir = join(final, top);
  return { dir, composeFile: join(dir, COMPOSE_FILE), top, layerDigest };
}

function entries(x: unknown): [string, unknown][] {
  return x && typeof x === "object" && !Array.isArray(x) ? Object.entries(x as Record<string, unknown>) : [];
}

function invalid(what: string, why: string): never {
  throw new AgentError("ARTIFACT_INVALID", `${what}: ${why}`, { archive: what });
}
