/**
 * Streaming .tar.gz readers: compressed bytes in, decompressed a slice at a time, judged by the
 * tar parser, and handed on entry by entry. Nothing holds the whole archive: memory is a few MiB
 * plus what the caller keeps. Two ways to use it:
 *
 *   scanTarGz(input, limits, opts, onFile)    each regular file in one reused buffer (at most
 *                                             maxEntryBytes), for small-file archives such as
 *                                             the desired-state bundle;
 *   extractTarGz(input, destDir, limits, opts) regular files and directories written under a
 *                                             new directory, for packages and image layers.
 *
 * Both refuse what readTarGz refuses (same parser, same codes and messages) and, in addition,
 * an archive that expands more than `maxRatio`-fold.
 */
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AgentError } from "../errors/agent-error.ts";
import { type ArchiveInput, GunzipRefused, gunzipStream } from "./gunzip-stream.ts";
import { maxTarBytes } from "./read-tar-gz.ts";
import { DEFAULT_ARCHIVE_CODES, type TarEvent, TarParser } from "./tar-parse.ts";
import type { ArchiveLimits, ReadArchiveOptions } from "./types.ts";

export type { ArchiveInput } from "./gunzip-stream.ts";

export interface StreamLimits extends ArchiveLimits {
  /**
   * Largest expansion (decompressed / compressed bytes read so far), judged once 1 MiB is out
   * (RATIO_GRACE_BYTES). Deflate tops out near 1032; ordinary text and tar framing stay far below
   * 100. Absent: only the size limits apply.
   */
  maxRatio?: number;
}

export interface ExtractOptions extends ReadArchiveOptions {
  /**
   * Called before each regular file is created, with its size from the header (the bytes about
   * to be written). Throw to stop: the packages layer checks the disk reserve here.
   */
  beforeFile?: (file: { path: string; size: number }) => Promise<void> | void;
  /** Called after each regular file is written, with running totals. */
  onProgress?: (progress: { files: number; bytes: number }) => void;
}

export interface ExtractedArchive {
  /** Regular files written, relative to destDir, in archive order. */
  files: string[];
  /** Directory entries created (parents of files are created too, but not listed). */
  directories: string[];
  /** Sum of the regular files' sizes. */
  bytes: number;
}

/** Feeds `input` through gunzip and the tar parser, awaiting `handle` for each event in order. */
async function walkTarGz(input: ArchiveInput, limits: StreamLimits, opts: ReadArchiveOptions, handle: (event: TarEvent) => Promise<void> | void): Promise<void> {
  const codes = opts.codes ?? DEFAULT_ARCHIVE_CODES;
  const what = opts.what ?? "archive";
  const parser = new TarParser(limits, codes, what);
  try {
    for await (const chunk of gunzipStream(input, { maxOutputBytes: maxTarBytes(limits), maxRatio: limits.maxRatio })) {
      for (const event of parser.push(chunk)) await handle(event);
    }
  } catch (err) {
    if (err instanceof GunzipRefused) throw new AgentError(err.tooLarge ? codes.tooLarge : codes.invalid, `${what}: ${err.reason}`, { archive: what });
    throw err;
  }
  parser.end();
}

/**
 * Calls `onFile` with each regular file of a .tar.gz, in archive order. `data` is valid only
 * until `onFile` returns (one buffer, reused for every file, so a bomb of many files allocates
 * nothing per file): copy what you keep. Directory entries are checked and skipped.
 */
export async function scanTarGz(
  input: ArchiveInput,
  limits: StreamLimits,
  opts: ReadArchiveOptions,
  onFile: (path: string, data: Uint8Array) => Promise<void> | void,
): Promise<void> {
  let scratch = new Uint8Array(0);
  let current: { path: string; size: number; filled: number } | undefined;
  await walkTarGz(input, limits, opts, async (event) => {
    if (event.kind === "file") {
      // The size is the header's, within maxEntryBytes; the parser refuses a shorter body.
      if (event.size > scratch.length) scratch = new Uint8Array(Math.max(event.size, Math.min(2 * scratch.length, limits.maxEntryBytes)));
      current = { path: event.path, size: event.size, filled: 0 };
    } else if (event.kind === "data" && current) {
      scratch.set(event.bytes, current.filled);
      current.filled += event.bytes.length;
    } else if (event.kind === "fileEnd" && current) {
      const { path, size } = current;
      current = undefined;
      await onFile(path, scratch.subarray(0, size));
    }
  });
}

/**
 * Unpacks a .tar.gz into `destDir`, which must not exist yet (its parent is created as needed).
 * Only regular files and directories are written, each file created exclusively (never through
 * something already there), with the process's default permissions; owners, modes and times in
 * the archive are ignored. On any failure `destDir` is removed again and the error rethrown.
 */
export async function extractTarGz(input: ArchiveInput, destDir: string, limits: StreamLimits, opts: ExtractOptions = {}): Promise<ExtractedArchive> {
  await mkdir(dirname(destDir), { recursive: true });
  await mkdir(destDir); // throws EEXIST: a fresh directory is what makes the paths below safe
  const result: ExtractedArchive = { files: [], directories: [], bytes: 0 };
  let file: FileHandle | undefined;
  try {
    await walkTarGz(input, limits, opts, async (event) => {
      if (event.kind === "directory") {
        await mkdir(join(destDir, event.path), { recursive: true });
        result.directories.push(event.path);
      } else if (event.kind === "file") {
        await opts.beforeFile?.({ path: event.path, size: event.size });
        const target = join(destDir, event.path);
        await mkdir(dirname(target), { recursive: true });
        file = await open(target, "wx");
        result.files.push(event.path);
        result.bytes += event.size;
      } else if (event.kind === "data") {
        for (let at = 0; at < event.bytes.length; ) at += (await file!.write(event.bytes, at)).bytesWritten;
      } else {
        await file!.close();
        file = undefined;
        opts.onProgress?.({ files: result.files.length, bytes: result.bytes });
      }
    });
  } catch (err) {
    await file?.close().catch(() => {});
    await rm(destDir, { recursive: true, force: true });
    throw err;
  }
  return result;
}

