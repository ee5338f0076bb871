import { AgentError } from "../errors/agent-error.ts";
import type { ArchiveEntry, ArchiveLimits, ReadArchiveOptions } from "./types.ts";
import { gunzipBounded } from "./gzip.ts";
import { DEFAULT_ARCHIVE_CODES, FRAMING_BYTES_PER_ENTRY, MAX_METADATA_BYTES } from "./tar-parse.ts";
import { readTar } from "./tar-read.ts";

/** Room for the end-of-archive marker and the record padding tar writers add (10 KiB records). */
const TRAILER_BYTES = 20 * 512;

/**
 * The regular files of a .tar.gz, after refusing unsafe entries and anything over `limits`.
 * Decompression stops at the limits plus tar framing, so a gzip bomb costs at most that much
 * memory. Directory entries are accepted and skipped. The returned data are views into one
 * decompressed buffer.
 */
export function readTarGz(gz: Uint8Array, limits: ArchiveLimits, opts: ReadArchiveOptions = {}): ArchiveEntry[] {
  const codes = opts.codes ?? DEFAULT_ARCHIVE_CODES;
  const what = opts.what ?? "archive";
  const bound = maxTarBytes(limits);
  const result = gunzipBounded(gz, bound);
  if (!result.ok) {
    throw new AgentError(result.tooLarge ? codes.tooLarge : codes.invalid, `${what}: ${result.reason}`, { archive: what });
  }
  return readTar(result.data, limits, codes, what);
}

/** The largest tar stream that can hold an archive within `limits`. */
export function maxTarBytes(limits: ArchiveLimits): number {
  return limits.maxTotalBytes + (limits.maxEntries + 1) * FRAMING_BYTES_PER_ENTRY + MAX_METADATA_BYTES + TRAILER_BYTES;
}
