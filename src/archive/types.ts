import type { ErrorCode } from "../errors/codes.ts";

/** Bounds applied while reading an archive; every one is checked before the bytes are kept. */
export interface ArchiveLimits {
  /** Most file and directory entries the archive may hold (metadata headers are not counted). */
  maxEntries: number;
  /** Largest size of one regular file, in bytes. */
  maxEntryBytes: number;
  /** Largest sum of all regular file sizes, in bytes. */
  maxTotalBytes: number;
}

/** One regular file read from an archive. `path` is relative, '/'-separated, without a leading './'. */
export interface ArchiveEntry {
  path: string;
  data: Uint8Array;
}

/** The error codes a reader throws; callers reading packages pass the PACKAGE_* ones. */
export interface ArchiveErrorCodes {
  unsafe: ErrorCode;
  tooLarge: ErrorCode;
  invalid: ErrorCode;
}

export interface ReadArchiveOptions {
  codes?: ArchiveErrorCodes;
  /** Names the archive in error messages, e.g. "bundle sha256:ab…" or a package URL. */
  what?: string;
}

/**
 * One header (plus data) exactly as writeTar should put it on the wire. Tests use it to craft
 * hostile archives, so nothing here is checked for safety.
 */
export interface RawTarEntry {
  /** Written to the name field, split into the ustar prefix when longer than 100 bytes. */
  path: string;
  /** One-character typeflag: "0" file, "1" hard link, "2" symlink, "5" directory, "L", "x", … Default "0". */
  type?: string;
  data?: Uint8Array;
  /** Default 0o644, or 0o755 for directories. */
  mode?: number;
  linkname?: string;
  /** The size written in the header; defaults to data.length. Lets tests write a lying header. */
  size?: number;
  /** Header magic: POSIX ustar (default), old GNU ("ustar  \0") or none (v7). */
  format?: "ustar" | "gnu" | "v7";
}

/** A file for writeTarGz. */
export interface TarFile {
  path: string;
  data: Uint8Array;
  mode?: number;
}
