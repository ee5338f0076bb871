/**
 * Writing tar archives byte for byte as asked. `writeTar` checks nothing about safety on purpose:
 * tests use it to craft the hostile archives the reader must refuse. Output is deterministic:
 * mtime 0, uid/gid 0, no user/group names, entries in the order given, no record padding.
 */
import { concatBytes } from "../util/bytes.ts";
import type { RawTarEntry, TarFile } from "./types.ts";
import { BLOCK, FIELD, GNU_MAGIC, USTAR_MAGIC, paddedLength, headerChecksums, type FieldName } from "./tar-header.ts";
import { gzipDeterministic } from "./gzip.ts";

const encoder = new TextEncoder();

/** The tar bytes for `entries`, ending with the two zero blocks that mark the end. */
export function writeTar(entries: readonly RawTarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    parts.push(encodeHeader(entry, data.length));
    parts.push(data);
    const padding = paddedLength(data.length) - data.length;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}

/** A deterministic .tar.gz of regular files. Paths too long for ustar get a pax `path` record. */
export function writeTarGz(files: readonly TarFile[]): Uint8Array {
  const entries: RawTarEntry[] = [];
  for (const [index, file] of files.entries()) {
    if (splitUstarPath(encoder.encode(file.path)) === undefined) {
      entries.push({ path: "PaxHeader/entry", type: "x", data: paxRecords({ path: file.path }) });
      // Readers without pax support see this harmless stand-in name instead.
      entries.push({ path: `long-path-${index}`, data: file.data, mode: file.mode });
    } else {
      entries.push({ path: file.path, data: file.data, mode: file.mode });
    }
  }
  return gzipDeterministic(writeTar(entries));
}

/** Encodes pax extended-header records ("<len> key=value\n", len counting itself). */
export function paxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = encoder.encode(body).length;
    let length = bodyLength + 1;
    while (length !== bodyLength + String(length).length) length += 1;
    text += `${length}${body}`;
  }
  return encoder.encode(text);
}

function encodeHeader(entry: RawTarEntry, dataLength: number): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const type = entry.type ?? "0";
  const pathBytes = encoder.encode(entry.path);
  const split = splitUstarPath(pathBytes);
  const format = entry.format ?? "ustar";
  if (split && format === "ustar") {
    putBytes(header, "name", split.name);
    putBytes(header, "prefix", split.prefix);
  } else {
    putBytes(header, "name", pathBytes.subarray(0, FIELD.name[1])); // truncated, as a v7 writer would
  }
  putOctal(header, "mode", entry.mode ?? (type === "5" ? 0o755 : 0o644));
  putOctal(header, "uid", 0);
  putOctal(header, "gid", 0);
  putSize(header, entry.size ?? dataLength);
  putOctal(header, "mtime", 0);
  putBytes(header, "typeflag", encoder.encode(type).subarray(0, 1));
  if (entry.linkname !== undefined) putBytes(header, "linkname", encoder.encode(entry.linkname));
  if (format === "ustar") {
    putBytes(header, "magic", encoder.encode(USTAR_MAGIC));
    putBytes(header, "version", encoder.encode("00"));
  } else if (format === "gnu") {
    putBytes(header, "magic", encoder.encode(GNU_MAGIC));
    putBytes(header, "version", encoder.encode(" \u0000"));
  }
  if (format !== "v7") {
    putOctal(header, "devmajor", 0);
    putOctal(header, "devminor", 0);
  }
  // Checksum: six octal digits, NUL, space (the historic layout every reader accepts).
  const sum = headerChecksums(header).unsigned;
  putBytes(header, "checksum", encoder.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `));
  return header;
}

/** Splits a path into ustar prefix (≤155 bytes) and name (≤100 bytes) at a '/', if possible. */
function splitUstarPath(path: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (path.length <= FIELD.name[1]) return { prefix: new Uint8Array(0), name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (name.length === 0 || name.length > FIELD.name[1]) return undefined;
    if (prefix.length <= FIELD.prefix[1]) return { prefix, name };
  }
  return undefined;
}

function putBytes(header: Uint8Array, field: FieldName, bytes: Uint8Array): void {
  const [offset, length] = FIELD[field];
  if (bytes.length > length) throw new RangeError(`tar field ${field} holds ${length} bytes, got ${bytes.length}`);
  header.set(bytes, offset);
}

function putOctal(header: Uint8Array, field: FieldName, value: number): void {
  const length = FIELD[field][1];
  putBytes(header, field, encoder.encode(`${value.toString(8).padStart(length - 1, "0")}\u0000`));
}

/** Sizes of 8 GiB and more do not fit 11 octal digits: GNU base-256 then. */
function putSize(header: Uint8Array, size: number): void {
  if (size < 8 ** 11) return putOctal(header, "size", size);
  const [offset, length] = FIELD.size;
  let rest = size;
  for (let i = offset + length - 1; i > offset; i--) {
    header[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  header[offset] = 0x80;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => concatBytes(parts);
