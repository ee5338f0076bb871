/**
 * Reading a tar archive from memory into regular files, with the rules of tar-parse.ts: nothing
 * that could escape the extraction directory or exceed the caller's limits is returned, and
 * errors name the entry (its path as the archive gives it) and the archive.
 */
import type { ArchiveEntry, ArchiveErrorCodes, ArchiveLimits } from "./types.ts";
import { DEFAULT_ARCHIVE_CODES, TarParser } from "./tar-parse.ts";

export { DEFAULT_ARCHIVE_CODES, FRAMING_BYTES_PER_ENTRY, MAX_METADATA_BYTES } from "./tar-parse.ts";

/** The regular files of `tar`, in archive order; their data are views into `tar`. */
export function readTar(
  tar: Uint8Array,
  limits: ArchiveLimits,
  codes: ArchiveErrorCodes = DEFAULT_ARCHIVE_CODES,
  what = "archive",
): ArchiveEntry[] {
  const parser = new TarParser(limits, codes, what);
  const files: ArchiveEntry[] = [];
  let current: string | undefined;
  // One push: each file's data arrives as a single view of `tar` (or not at all when empty).
  for (const event of parser.push(tar)) {
    if (event.kind === "file") {
      current = event.path;
      files.push({ path: event.path, data: new Uint8Array(0) });
    } else if (event.kind === "data" && current !== undefined) {
      files[files.length - 1]!.data = event.bytes;
    } else if (event.kind === "fileEnd") {
      current = undefined;
    }
  }
  parser.end();
  return files;
}
