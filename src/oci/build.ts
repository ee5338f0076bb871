/**
 * Building a Margo compose archive from an application directory, deterministically: the same
 * files give the same bytes and so the same digest (entries sorted by path, mtime 0, uid/gid 0,
 * modes 0644 or 0755, a fixed gzip header; for one zlib build). The result is read back with the
 * agent's own checks, so what `package build` accepts is what a device accepts.
 *
 * Refused: symbolic links and special files (a device would refuse them), a compose file under
 * another name, env_file/configs outside the directory, and secret files inside it (the Margo
 * spec keeps secrets out of archives). VCS metadata (.git, .hg, .svn) is left out.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parse } from "yaml";
import { AgentError } from "../errors/index.ts";
import { readTarGzChecked, writeDeterministicTarGz } from "./archive-io.ts";
import { sha256 } from "./cache.ts";
import { COMPOSE_ARCHIVE_CODES, COMPOSE_FILE, DEFAULT_EXTRACT_LIMITS, checkComposeLayout, resolveInside } from "./compose-archive.ts";

const SKIPPED = new Set([".git", ".hg", ".svn"]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface BuiltArchive {
  bytes: Uint8Array;
  digest: string;
  /** The top-level directory name inside the archive. */
  top: string;
  /** Paths inside the archive, sorted. */
  files: string[];
  /** Things that do not stop the build but the developer should know. */
  warnings: string[];
}

/** `name` is the top-level directory inside the archive; default: the directory's own name. */
export async function buildComposeArchive(dir: string, opts: { name?: string } = {}): Promise<BuiltArchive> {
  const root = resolve(dir);
  const info = await lstat(root).catch(() => undefined);
  if (!info?.isDirectory()) invalid(dir, "is not a directory");
  const top = opts.name ?? basename(root);
  if (!NAME.test(top)) invalid(dir, `gives the top-level directory name ${JSON.stringify(top)}; use letters, digits, '.', '_' and '-' (or --name)`);
  const warnings: string[] = [];
  const files: { path: string; data: Uint8Array; mode: number }[] = [];
  await walk(root, "", files, warnings);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const paths = new Set(files.map((f) => f.path));
  if (!paths.has(COMPOSE_FILE)) invalid(dir, `holds no ${COMPOSE_FILE} (a Margo compose archive needs exactly that name)`);
  checkSecretsAndBinds(files.find((f) => f.path === COMPOSE_FILE)!.data, paths, dir, warnings);

  const bytes = writeDeterministicTarGz(files.map((f) => ({ ...f, path: `${top}/${f.path}` })));
  // What a device would do with it: the same reader, the same layout rules.
  readTarGzChecked(bytes, {
    limits: DEFAULT_EXTRACT_LIMITS,
    what: `archive of ${dir}`,
    codes: COMPOSE_ARCHIVE_CODES,
    beforeWrite: (entries) => void checkComposeLayout(entries, `archive of ${dir}`),
  });
  return { bytes, digest: sha256(bytes), top, files: files.map((f) => `${top}/${f.path}`), warnings };
}

async function walk(root: string, rel: string, out: { path: string; data: Uint8Array; mode: number }[], warnings: string[]): Promise<void> {
  const names = await readdir(join(root, rel));
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    if (SKIPPED.has(name)) {
      warnings.push(`${path}: left out (version-control metadata)`);
      continue;
    }
    const st = await lstat(join(root, path));
    if (st.isSymbolicLink()) invalid(root, `holds the symbolic link ${path}; a Margo compose archive holds no links (copy the file in)`);
    if (st.isDirectory()) {
      const before = out.length;
      await walk(root, path, out, warnings);
      if (out.length === before) warnings.push(`${path}/: empty directory, not in the archive (archives carry files only)`);
      continue;
    }
    if (!st.isFile()) invalid(root, `holds ${path}, which is not a regular file (device, FIFO or socket)`);
    if (st.mode & 0o7000) warnings.push(`${path}: setuid/setgid/sticky bits dropped`);
    out.push({ path, data: new Uint8Array(await readFile(join(root, path))), mode: st.mode & 0o111 ? 0o755 : 0o644 });
  }
}

/** Secrets' files must stay out of the archive; relative bind-mount sources inside it are runtime paths. */
function checkSecretsAndBinds(compose: Uint8Array, paths: Set<string>, dir: string, warnings: string[]): void {
  let doc: unknown;
  try {
    doc = parse(new TextDecoder().decode(compose));
  } catch (err) {
    invalid(dir, `${COMPOSE_FILE} is not YAML (${(err as Error).message.split("\n")[0]})`);
  }
  const d = (doc ?? {}) as { secrets?: unknown; services?: unknown };
  for (const [name, def] of Object.entries(asMap(d.secrets))) {
    const file = (def as { file?: unknown } | null)?.file;
    if (typeof file !== "string") continue;
    const inside = resolveInside(file);
    if (inside !== undefined && [...paths].some((p) => p === inside || p.startsWith(`${inside}/`))) {
      invalid(dir, `${COMPOSE_FILE}: secrets.${name}.file ${JSON.stringify(file)} is inside the archive; secret files must not be packaged (provision them on the device)`);
    }
  }
  for (const [svc, def] of Object.entries(asMap(d.services))) {
    const volumes = (def as { volumes?: unknown } | null)?.volumes;
    for (const v of Array.isArray(volumes) ? volumes : []) {
      const source = typeof v === "string" ? v.split(":")[0] : (v as { type?: unknown; source?: unknown } | null)?.type === "bind" ? (v as { source?: unknown }).source : undefined;
      if (typeof source !== "string" || !source.startsWith(".")) continue;
      const inside = resolveInside(source);
      if (inside !== undefined && [...paths].some((p) => p === inside || p.startsWith(`${inside}/`))) {
        warnings.push(`services.${svc}.volumes: bind-mount source ${JSON.stringify(source)} is packaged; the Margo spec says bind-mount paths are runtime paths, not archive content`);
      }
    }
  }
}

function asMap(x: unknown): Record<string, unknown> {
  return x && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

function invalid(dir: string, why: string): never {
  throw new AgentError("ARTIFACT_INVALID", `${dir} ${why}`, { dir });
}
