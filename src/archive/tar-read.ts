/**
 * Reading a tar archive from memory into regular files, refusing anything that could escape the
 * extraction directory or exceed the caller's limits. Every check happens before an entry's bytes
 * are kept, and errors name the entry (its path as the archive gives it) and the archive.
 *
 * Understood: POSIX ustar (with the prefix field), old GNU and v7 headers, GNU long names ('L'),
 * pax extended headers ('x': `path` and `size`; other keys ignored) and global pax headers ('g':
 * checked for form, then ignored: a global path has no meaning for a set of files).
 */
import { AgentError } from "../errors/agent-error.ts";
import type { ArchiveEntry, ArchiveErrorCodes, ArchiveLimits } from "./types.ts";
import { normaliseEntryPath } from "./entry-path.ts";
import {
  BLOCK,
  USTAR_MAGIC,
  headerChecksums,
  isZeroBlock,
  paddedLength,
  readNumericField,
  readStringField,
  fieldBytes,
} from "./tar-header.ts";

/** Most bytes of long-name and pax records the whole archive may carry. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** Bytes of tar framing one entry may cost beyond its data: its header, one metadata header, padding. */
export const FRAMING_BYTES_PER_ENTRY = 4 * BLOCK;

export const DEFAULT_ARCHIVE_CODES: ArchiveErrorCodes = {
  unsafe: "BUNDLE_UNSAFE",
  tooLarge: "BUNDLE_TOO_LARGE",
  invalid: "BUNDLE_INVALID",
};

type Failure = keyof ArchiveErrorCodes;

const UNSAFE_TYPES: Record<string, string> = {
  "1": "is a hard link",
  "2": "is a symbolic link",
  "3": "is a character device",
  "4": "is a block device",
  "6": "is a FIFO",
};

interface PendingMetadata {
  path?: string;
  size?: number;
}

export function readTar(
  tar: Uint8Array,
  limits: ArchiveLimits,
  codes: ArchiveErrorCodes = DEFAULT_ARCHIVE_CODES,
  what = "archive",
): ArchiveEntry[] {
  const fail = (kind: Failure, message: string, entry?: string): never => {
    throw new AgentError(codes[kind], `${what}: ${message}`, entry === undefined ? { archive: what } : { archive: what, entry });
  };
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = new TextDecoder("utf-8");
  const decodeName = (bytes: Uint8Array, at: number): string => {
    try {
      return strict.decode(bytes);
    } catch {
      return fail("invalid", `entry ${JSON.stringify(lenient.decode(bytes))} (header at byte ${at}) has a path that is not UTF-8`);
    }
  };

  const files = new Map<string, ArchiveEntry>();
  const directories = new Set<string>();
  let entryCount = 0;
  let totalBytes = 0;
  let metadataBytes = 0;
  let pending: PendingMetadata = {};
  let offset = 0;

  for (;;) {
    if (offset === tar.length) fail("invalid", "is truncated: it ends without the end-of-archive marker");
    if (offset + BLOCK > tar.length) fail("invalid", `is truncated: partial header at byte ${offset}`);
    const header = tar.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) {
      // End of archive. What follows must be the second zero block and record padding: entries
      // hidden past the marker would be seen by some extractors and not by others.
      for (let i = offset + BLOCK; i < tar.length; i++) {
        if (tar[i] !== 0) fail("invalid", `has data after the end-of-archive marker (byte ${i})`);
      }
      if (pending.path !== undefined || pending.size !== undefined) {
        fail("invalid", "ends with a long-name or pax header that no entry follows");
      }
      break;
    }

    // The checksum is judged before any other field is trusted, even the name's encoding.
    const stored = readNumericField(header, "checksum");
    const sums = headerChecksums(header);
    if (stored === undefined || (stored !== sums.unsigned && stored !== sums.signed)) {
      const name = pending.path ?? readRawPath(header, (bytes) => lenient.decode(bytes), offset);
      fail("invalid", `entry ${JSON.stringify(name)} (header at byte ${offset}) has a bad header checksum`, name);
    }
    const rawName = readRawPath(header, decodeName, offset);
    const shown = JSON.stringify(pending.path ?? rawName);
    const headerSize = readNumericField(header, "size");
    if (headerSize === undefined) fail("invalid", `entry ${shown} has a malformed size field`, rawName);
    const typeByte = header[156] ?? 0;
    const type = typeByte === 0 ? "0" : String.fromCharCode(typeByte);
    const dataStart = offset + BLOCK;
    const isMetadata = type === "L" || type === "K" || type === "x" || type === "g";
    const size = !isMetadata && pending.size !== undefined ? pending.size : (headerSize as number);
    const dataEnd = dataStart + size;
    const readData = (): Uint8Array => {
      if (dataEnd > tar.length) {
        fail("invalid", `is truncated: entry ${shown} declares ${size} bytes but only ${Math.max(0, tar.length - dataStart)} remain`, rawName);
      }
      return tar.subarray(dataStart, dataEnd);
    };
    offset = dataStart + paddedLength(size);

    if (isMetadata) {
      metadataBytes += size;
      if (metadataBytes > MAX_METADATA_BYTES) {
        fail("tooLarge", `long-name and pax headers add up to more than ${MAX_METADATA_BYTES} bytes (at ${shown})`, rawName);
      }
      const data = readData();
      if (type === "L") {
        const end = data.indexOf(0);
        pending.path = decodeName(end === -1 ? data : data.subarray(0, end), dataStart - BLOCK);
      } else if (type === "x" || type === "g") {
        const records = parsePax(data, strict);
        if (records === undefined) fail("invalid", `pax header ${shown} is malformed`, rawName);
        if (type === "x") applyPax(records as Map<string, string>, pending, () => fail("invalid", `pax header ${shown} has a malformed size`, rawName));
      }
      // 'K' (GNU long link name) is read and dropped: the link entry it belongs to is refused anyway.
      continue;
    }

    const path = pending.path ?? rawName;
    pending = {};
    const quoted = JSON.stringify(path);
    const unsafeType = UNSAFE_TYPES[type];
    if (unsafeType !== undefined) {
      const target = readStringField(header, "linkname", lenient);
      const suffix = type === "1" || type === "2" ? ` to ${JSON.stringify(target)}` : "";
      fail("unsafe", `entry ${quoted} ${unsafeType}${suffix}`, path);
    }
    // Old writers mark directories with a trailing '/' on a regular-file header.
    const isDirectory = type === "5" || ((type === "0" || type === "7") && path.endsWith("/"));
    if (!isDirectory && type !== "0" && type !== "7") {
      fail("unsafe", `entry ${quoted} has unknown entry type '${type}'`, path);
    }
    const verdict = normaliseEntryPath(path);
    if (!verdict.ok) return fail("unsafe", `entry ${quoted} ${verdict.reason}`, path);

    entryCount += 1;
    if (entryCount > limits.maxEntries) {
      fail("tooLarge", `holds more than ${limits.maxEntries} entries (at ${quoted})`, path);
    }
    if (isDirectory) {
      readData(); // directories carry no data, but a nonzero size must still be present in full
      if (!verdict.isRoot) directories.add(verdict.path);
      continue;
    }
    if (verdict.isRoot) fail("invalid", `entry ${quoted} is a file without a name`, path);
    if (size > limits.maxEntryBytes) {
      fail("tooLarge", `entry ${quoted} is ${size} bytes, more than the limit of ${limits.maxEntryBytes}`, path);
    }
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes) {
      fail("tooLarge", `entries add up to more than the limit of ${limits.maxTotalBytes} bytes (at ${quoted})`, path);
    }
    if (files.has(verdict.path)) fail("invalid", `entry ${quoted} appears twice`, path);
    files.set(verdict.path, { path: verdict.path, data: readData() });
  }

  // A path that is both a file and a directory cannot be extracted faithfully: refuse it whole.
  for (const file of files.keys()) {
    if (directories.has(file)) fail("invalid", `entry ${JSON.stringify(file)} is both a file and a directory`, file);
    for (let slash = file.indexOf("/"); slash !== -1; slash = file.indexOf("/", slash + 1)) {
      const parent = file.slice(0, slash);
      if (files.has(parent)) fail("invalid", `entry ${JSON.stringify(file)} lies under ${JSON.stringify(parent)}, which is a file`, file);
    }
  }
  return [...files.values()];
}

function readRawPath(header: Uint8Array, decodeName: (bytes: Uint8Array, at: number) => string, at: number): string {
  const name = decodeName(untilNul(fieldBytes(header, "name")), at);
  const magic = new TextDecoder().decode(fieldBytes(header, "magic"));
  // Only POSIX ustar has a prefix; GNU headers keep access/change times in those bytes.
  if (magic !== USTAR_MAGIC) return name;
  const prefix = decodeName(untilNul(fieldBytes(header, "prefix")), at);
  return prefix === "" ? name : `${prefix}/${name}`;
}

function untilNul(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** Parses "<len> key=value\n" records; undefined when any record is malformed. */
function parsePax(data: Uint8Array, decoder: TextDecoder): Map<string, string> | undefined {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the record area with NULs.
    if (data[pos] === 0 && data.subarray(pos).every((b) => b === 0)) break;
    let space = pos;
    while (space < data.length && data[space] !== 0x20) space++;
    const lengthText = String.fromCharCode(...data.subarray(pos, space));
    if (!/^[0-9]{1,10}$/.test(lengthText)) return undefined;
    const length = Number.parseInt(lengthText, 10);
    const end = pos + length;
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) return undefined;
    let text: string;
    try {
      text = decoder.decode(data.subarray(space + 1, end - 1));
    } catch {
      return undefined;
    }
    const eq = text.indexOf("=");
    if (eq <= 0) return undefined;
    records.set(text.slice(0, eq), text.slice(eq + 1));
    pos = end;
  }
  return records;
}

function applyPax(records: Map<string, string>, pending: PendingMetadata, badSize: () => never): void {
  const path = records.get("path");
  if (path !== undefined) pending.path = path;
  const size = records.get("size");
  if (size !== undefined) {
    if (!/^[0-9]{1,16}$/.test(size) || !Number.isSafeInteger(Number(size))) badSize();
    pending.size = Number(size);
  }
}
