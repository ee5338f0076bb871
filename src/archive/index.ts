/**
 * Reading and writing .tar.gz archives safely. Every reader refuses absolute paths, '..',
 * links, devices and anything over the caller's limits, with the same rules (tar-parse.ts).
 *
 *   readTarGz(bytes, limits, opts)                in memory: all regular files (small archives, tests)
 *   scanTarGz(input, limits, opts, onFile)        streaming: one file in memory at a time (the bundle)
 *   extractTarGz(input, destDir, limits, opts)    streaming: unpacked to a new directory (packages, layers)
 *
 * The streaming readers take bytes, a web ReadableStream or an (async) iterable of chunks, stop
 * at the first violation (cancelling the input), and bound the expansion ratio when asked.
 */
export type { ArchiveEntry, ArchiveErrorCodes, ArchiveLimits, RawTarEntry, ReadArchiveOptions, TarFile } from "./types.ts";
export { readTarGz, maxTarBytes } from "./read-tar-gz.ts";
export { readTar, DEFAULT_ARCHIVE_CODES } from "./tar-read.ts";
export { scanTarGz, extractTarGz, type ArchiveInput, type ExtractedArchive, type ExtractOptions, type StreamLimits } from "./tar-stream.ts";
export { RATIO_GRACE_BYTES } from "./gunzip-stream.ts";
export { writeTar, writeTarGz, paxRecords } from "./tar-write.ts";
export { gunzipBounded, gzipDeterministic } from "./gzip.ts";
export { normaliseEntryPath } from "./entry-path.ts";
