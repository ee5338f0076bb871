/**
 * The one place src/oci uses src/archive. Reading is "verify, then extract into a private
 * directory": the blob is hashed against its digest before the tar reader sees a byte, the
 * reader refuses absolute paths, '..', links and devices, and `beforeWrite` (the kind's layout
 * rules) judges the complete list of paths before any file is written. A streaming extractor can
 * replace the body of `extractVerifiedTarGz` without its callers changing: it would hash while
 * extracting into `destDir` (private, discarded on any error) and call `beforeWrite` at the end.
 *
 * Modes are normalised: files 0644, directories 0755; setuid, setgid and sticky bits never reach
 * the disk (the current reader does not carry modes at all).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readTarGz, writeTarGz } from "../archive/index.ts";
import type { ArchiveErrorCodes } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";

export interface ExtractLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

export interface ExtractedFile {
  /** Relative, '/'-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface ExtractOptions {
  limits: ExtractLimits;
  /** Names the archive in messages. */
  what: string;
  /** Error codes for unsafe entries, too much data, malformed archives. */
  codes: ArchiveErrorCodes;
  /** Throws to refuse the archive; gets every file path (and its bytes for small rule checks). */
  beforeWrite?: (files: { path: string; data: Uint8Array }[]) => void;
}

/** Hashes `blobPath`, refuses it unless it is `digest`, then extracts it into `destDir` (which must be new). */
export async function extractVerifiedTarGz(blobPath: string, digest: string, destDir: string, opts: ExtractOptions): Promise<ExtractedFile[]> {
  const gz = new Uint8Array(await readFile(blobPath));
  const actual = `sha256:${createHash("sha256").update(gz).digest("hex")}`;
  if (actual !== digest) {
    throw new AgentError("DIGEST_MISMATCH", `${opts.what}: the cached layer hashes to ${actual}, not ${digest}; nothing extracted`, { expected: digest, actual });
  }
  const entries = readTarGz(gz, opts.limits, { codes: opts.codes, what: opts.what });
  opts.beforeWrite?.(entries);
  await mkdir(destDir, { recursive: false, mode: 0o755 });
  const out: ExtractedFile[] = [];
  for (const e of entries) {
    const target = join(destDir, e.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, e.data, { mode: 0o644, flag: "wx" });
    out.push({ path: e.path, size: e.data.byteLength, sha256: `sha256:${createHash("sha256").update(e.data).digest("hex")}` });
  }
  return out;
}

/** Reads a tar.gz already in memory with the same checks (for `package build`'s self-check). */
export function readTarGzChecked(gz: Uint8Array, opts: ExtractOptions): { path: string; data: Uint8Array }[] {
  const entries = readTarGz(gz, opts.limits, { codes: opts.codes, what: opts.what });
  opts.beforeWrite?.(entries);
  return entries;
}

/** A deterministic .tar.gz (entries in the order given, mtime 0, uid/gid 0, fixed gzip header). */
export function writeDeterministicTarGz(files: { path: string; data: Uint8Array; mode: number }[]): Uint8Array {
  return writeTarGz(files);
}
