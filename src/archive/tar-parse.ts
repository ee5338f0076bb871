/**
 * The tar reader's rules as a push parser: bytes go in in chunks of any size, events come out,
 * and every check happens when the header that needs it is complete, before any of the entry's
 * bytes are handed on. The in-memory reader (tar-read.ts) and the streaming ones (tar-stream.ts)
 * share it, so an archive is judged the same way whichever reads it.
 *
 * Understood: POSIX ustar (with the prefix field), old GNU and v7 headers, GNU long names ('L'),
 * pax extended headers ('x': `path` and `size`; other keys ignored) and global pax headers ('g':
 * checked for form, then ignored: a global path has no meaning for a set of files).
 *
 * Memory: a parser holds one header, the long-name/pax records (at most MAX_METADATA_BYTES) and
 * one path per entry (to refuse duplicates and file/directory clashes); file data is never kept.
 */
import { AgentError } from "../errors/agent-error.ts";
import type { ArchiveErrorCodes, ArchiveLimits } from "./types.ts";
import { normaliseEntryPath } from "./entry-path.ts";
import { BLOCK, USTAR_MAGIC, fieldBytes, headerChecksums, isZeroBlock, paddedLength, readNumericField, readStringField } from "./tar-header.ts";

/** Most bytes of long-name and pax records the whole archive may carry. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** Bytes of tar framing one entry may cost beyond its data: its header, one metadata header, padding. */
export const FRAMING_BYTES_PER_ENTRY = 4 * BLOCK;

export const DEFAULT_ARCHIVE_CODES: ArchiveErrorCodes = {
  unsafe: "BUNDLE_UNSAFE",
  tooLarge: "BUNDLE_TOO_LARGE",
  invalid: "BUNDLE_INVALID",
};

/**
 * What the parser found, in archive order. A file's bytes follow its `file` event as `data`
 * events (views into the pushed chunks: use them before the next push) and end with `fileEnd`.
 * Paths are normalised: relative, '/'-separated, no '.' or empty segments.
 */
export type TarEvent =
  | { kind: "directory"; path: string }
  | { kind: "file"; path: string; size: number }
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "fileEnd" };

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

/** Where the parser is between two bytes of the stream. */
type State =
  | { at: "header" }
  | { at: "metadata"; type: string; data: Uint8Array; filled: number; shown: string; rawName: string; headerAt: number }
  | { at: "data"; size: number; received: number; isFile: boolean; shown: string; rawName: string }
  | { at: "padding"; remaining: number }
  | { at: "trailer" };

export class TarParser {
  private readonly strict = new TextDecoder("utf-8", { fatal: true });
  private readonly lenient = new TextDecoder("utf-8");
  private state: State = { at: "header" };
  /** Bytes of the tar stream consumed so far; error messages give positions in it. */
  private position = 0;
  private readonly header = new Uint8Array(BLOCK);
  private headerFilled = 0;
  private pending: PendingMetadata = {};
  private entryCount = 0;
  private totalBytes = 0;
  private metadataBytes = 0;
  private readonly files = new Set<string>();
  private readonly directories = new Set<string>();
  /** Every proper prefix of an entry's path, mapped to the first entry that lies under it. */
  private readonly parents = new Map<string, string>();
  private events: TarEvent[] = [];

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly codes: ArchiveErrorCodes = DEFAULT_ARCHIVE_CODES,
    private readonly what = "archive",
  ) {}

  /** Consumes `chunk`; returns the events it completed. Throws an AgentError on the first violation. */
  push(chunk: Uint8Array): TarEvent[] {
    this.events = [];
    let i = 0;
    while (i < chunk.length) {
      const state = this.state;
      if (state.at === "header") {
        const take = Math.min(BLOCK - this.headerFilled, chunk.length - i);
        this.header.set(chunk.subarray(i, i + take), this.headerFilled);
        this.headerFilled += take;
        i += take;
        this.position += take;
        if (this.headerFilled === BLOCK) {
          this.headerFilled = 0;
          this.onHeader(this.position - BLOCK);
        }
      } else if (state.at === "metadata") {
        const take = Math.min(state.data.length - state.filled, chunk.length - i);
        state.data.set(chunk.subarray(i, i + take), state.filled);
        state.filled += take;
        i += take;
        this.position += take;
        if (state.filled === state.data.length) this.onMetadata(state);
      } else if (state.at === "data") {
        const take = Math.min(state.size - state.received, chunk.length - i);
        if (state.isFile && take > 0) this.events.push({ kind: "data", bytes: chunk.subarray(i, i + take) });
        state.received += take;
        i += take;
        this.position += take;
        if (state.received === state.size) this.endData(state);
      } else if (state.at === "padding") {
        const take = Math.min(state.remaining, chunk.length - i);
        state.remaining -= take;
        i += take;
        this.position += take;
        if (state.remaining === 0) this.state = { at: "header" };
      } else {
        // End of archive. What follows must be the second zero block and record padding:
        // entries hidden past the marker would be seen by some extractors and not by others.
        for (; i < chunk.length; i++, this.position++) {
          if (chunk[i] !== 0) this.fail("invalid", `has data after the end-of-archive marker (byte ${this.position})`);
        }
      }
    }
    return this.events;
  }

  /** The stream ended: throws unless it ended after the end-of-archive marker. */
  end(): void {
    const state = this.state;
    if (state.at === "trailer") return;
    if (state.at === "header") {
      if (this.headerFilled === 0) this.fail("invalid", "is truncated: it ends without the end-of-archive marker");
      this.fail("invalid", `is truncated: partial header at byte ${this.position - this.headerFilled}`);
    }
    if (state.at === "padding") this.fail("invalid", "is truncated: it ends without the end-of-archive marker");
    const { shown, rawName } = state;
    const [declared, present] = state.at === "metadata" ? [state.data.length, state.filled] : [state.size, state.received];
    this.fail("invalid", `is truncated: entry ${shown} declares ${declared} bytes but only ${present} remain`, rawName);
  }

  private fail(kind: Failure, message: string, entry?: string): never {
    throw new AgentError(this.codes[kind], `${this.what}: ${message}`, entry === undefined ? { archive: this.what } : { archive: this.what, entry });
  }

  private decodeName(bytes: Uint8Array, at: number): string {
    try {
      return this.strict.decode(bytes);
    } catch {
      return this.fail("invalid", `entry ${JSON.stringify(this.lenient.decode(bytes))} (header at byte ${at}) has a path that is not UTF-8`);
    }
  }

  private onHeader(at: number): void {
    const header = this.header;
    if (isZeroBlock(header)) {
      if (this.pending.path !== undefined || this.pending.size !== undefined) {
        this.fail("invalid", "ends with a long-name or pax header that no entry follows");
      }
      this.state = { at: "trailer" };
      return;
    }
    // The checksum is judged before any other field is trusted, even the name's encoding.
    const stored = readNumericField(header, "checksum");
    const sums = headerChecksums(header);
    if (stored === undefined || (stored !== sums.unsigned && stored !== sums.signed)) {
      const name = this.pending.path ?? readRawPath(header, (bytes) => this.lenient.decode(bytes));
      this.fail("invalid", `entry ${JSON.stringify(name)} (header at byte ${at}) has a bad header checksum`, name);
    }
    const rawName = readRawPath(header, (bytes) => this.decodeName(bytes, at));
    const shown = JSON.stringify(this.pending.path ?? rawName);
    const headerSize = readNumericField(header, "size");
    if (headerSize === undefined) this.fail("invalid", `entry ${shown} has a malformed size field`, rawName);
    const typeByte = header[156] ?? 0;
    const type = typeByte === 0 ? "0" : String.fromCharCode(typeByte);

    if (type === "L" || type === "K" || type === "x" || type === "g") {
      this.metadataBytes += headerSize;
      if (this.metadataBytes > MAX_METADATA_BYTES) {
        this.fail("tooLarge", `long-name and pax headers add up to more than ${MAX_METADATA_BYTES} bytes (at ${shown})`, rawName);
      }
      const state: State = { at: "metadata", type, data: new Uint8Array(headerSize), filled: 0, shown, rawName, headerAt: at };
      this.state = state;
      if (headerSize === 0) this.onMetadata(state);
      return;
    }

    const size = this.pending.size ?? headerSize;
    const path = this.pending.path ?? rawName;
    this.pending = {};
    const quoted = JSON.stringify(path);
    const unsafeType = UNSAFE_TYPES[type];
    if (unsafeType !== undefined) {
      const target = readStringField(header, "linkname", this.lenient);
      const suffix = type === "1" || type === "2" ? ` to ${JSON.stringify(target)}` : "";
      this.fail("unsafe", `entry ${quoted} ${unsafeType}${suffix}`, path);
    }
    // Old writers mark directories with a trailing '/' on a regular-file header.
    const isDirectory = type === "5" || ((type === "0" || type === "7") && path.endsWith("/"));
    if (!isDirectory && type !== "0" && type !== "7") {
      this.fail("unsafe", `entry ${quoted} has unknown entry type '${type}'`, path);
    }
    const verdict = normaliseEntryPath(path);
    if (!verdict.ok) return this.fail("unsafe", `entry ${quoted} ${verdict.reason}`, path);

    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) {
      this.fail("tooLarge", `holds more than ${this.limits.maxEntries} entries (at ${quoted})`, path);
    }
    if (isDirectory) {
      // Directories carry no data, but a nonzero size must still be present in full.
      if (!verdict.isRoot) {
        this.addDirectory(verdict.path);
        this.events.push({ kind: "directory", path: verdict.path });
      }
      this.startData({ at: "data", size, received: 0, isFile: false, shown: quoted, rawName: path });
      return;
    }
    if (verdict.isRoot) this.fail("invalid", `entry ${quoted} is a file without a name`, path);
    if (size > this.limits.maxEntryBytes) {
      this.fail("tooLarge", `entry ${quoted} is ${size} bytes, more than the limit of ${this.limits.maxEntryBytes}`, path);
    }
    this.totalBytes += size;
    if (this.totalBytes > this.limits.maxTotalBytes) {
      this.fail("tooLarge", `entries add up to more than the limit of ${this.limits.maxTotalBytes} bytes (at ${quoted})`, path);
    }
    if (this.files.has(verdict.path)) this.fail("invalid", `entry ${quoted} appears twice`, path);
    this.addFile(verdict.path);
    this.events.push({ kind: "file", path: verdict.path, size });
    this.startData({ at: "data", size, received: 0, isFile: true, shown: quoted, rawName: path });
  }

  private onMetadata(state: Extract<State, { at: "metadata" }>): void {
    const { type, data, shown, rawName } = state;
    if (type === "L") {
      const end = data.indexOf(0);
      this.pending.path = this.decodeName(end === -1 ? data : data.subarray(0, end), state.headerAt);
    } else if (type === "x" || type === "g") {
      const records = parsePax(data, this.strict);
      if (records === undefined) this.fail("invalid", `pax header ${shown} is malformed`, rawName);
      if (type === "x") this.applyPax(records, () => this.fail("invalid", `pax header ${shown} has a malformed size`, rawName));
    }
    // 'K' (GNU long link name) is read and dropped: the link entry it belongs to is refused anyway.
    this.skipPadding(data.length);
  }

  private applyPax(records: Map<string, string>, badSize: () => never): void {
    const path = records.get("path");
    if (path !== undefined) this.pending.path = path;
    const size = records.get("size");
    if (size !== undefined) {
      if (!/^[0-9]{1,16}$/.test(size) || !Number.isSafeInteger(Number(size))) badSize();
      this.pending.size = Number(size);
    }
  }

  private startData(state: Extract<State, { at: "data" }>): void {
    this.state = state;
    if (state.size === 0) this.endData(state);
  }

  private endData(state: Extract<State, { at: "data" }>): void {
    if (state.isFile) this.events.push({ kind: "fileEnd" });
    this.skipPadding(state.size);
  }

  private skipPadding(size: number): void {
    const remaining = paddedLength(size) - size;
    this.state = remaining === 0 ? { at: "header" } : { at: "padding", remaining };
  }

  // A path that is both a file and a directory cannot be extracted faithfully: refuse it whole,
  // before the second of the two is written anywhere.
  private addFile(path: string): void {
    if (this.directories.has(path)) this.fail("invalid", `entry ${JSON.stringify(path)} is both a file and a directory`, path);
    const child = this.parents.get(path);
    if (child !== undefined) this.fail("invalid", `entry ${JSON.stringify(child)} lies under ${JSON.stringify(path)}, which is a file`, child);
    this.checkParentsAreNoFiles(path);
    this.files.add(path);
  }

  private addDirectory(path: string): void {
    if (this.files.has(path)) this.fail("invalid", `entry ${JSON.stringify(path)} is both a file and a directory`, path);
    this.checkParentsAreNoFiles(path);
    this.directories.add(path);
  }

  private checkParentsAreNoFiles(path: string): void {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const parent = path.slice(0, slash);
      if (this.files.has(parent)) this.fail("invalid", `entry ${JSON.stringify(path)} lies under ${JSON.stringify(parent)}, which is a file`, path);
      if (!this.parents.has(parent)) this.parents.set(parent, path);
    }
  }
}

function readRawPath(header: Uint8Array, decodeName: (bytes: Uint8Array) => string): string {
  const name = decodeName(untilNul(fieldBytes(header, "name")));
  const magic = new TextDecoder().decode(fieldBytes(header, "magic"));
  // Only POSIX ustar has a prefix; GNU headers keep access/change times in those bytes.
  if (magic !== USTAR_MAGIC) return name;
  const prefix = decodeName(untilNul(fieldBytes(header, "prefix")));
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
    const lengthText = String.fromCharCode(...data.subarray(pos, Math.min(space, pos + 11)));
    if (space - pos > 10 || !/^[0-9]{1,10}$/.test(lengthText)) return undefined;
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
