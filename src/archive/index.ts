export type { ArchiveEntry, ArchiveErrorCodes, ArchiveLimits, RawTarEntry, ReadArchiveOptions, TarFile } from "./types.ts";
export { readTarGz, maxTarBytes } from "./read-tar-gz.ts";
export { readTar, DEFAULT_ARCHIVE_CODES } from "./tar-read.ts";
export { writeTar, writeTarGz, paxRecords } from "./tar-write.ts";
export { gunzipBounded, gzipDeterministic } from "./gzip.ts";
export { normaliseEntryPath } from "./entry-path.ts";
