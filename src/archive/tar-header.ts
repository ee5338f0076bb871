/**
 * The 512-byte tar header: field offsets and the encoding of its numeric fields, shared by the
 * reader and the writer. Layout from POSIX ustar; GNU and v7 headers share the first 257 bytes.
 */
export const BLOCK = 512;

export const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type FieldName = keyof typeof FIELD;

export const USTAR_MAGIC = "ustar\u0000";
export const GNU_MAGIC = "ustar ";

/** Rounds a data length up to whole blocks. */
export function paddedLength(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

export function fieldBytes(header: Uint8Array, field: FieldName): Uint8Array {
  const [offset, length] = FIELD[field];
  return header.subarray(offset, offset + length);
}

/** A string field up to its first NUL. */
export function readStringField(header: Uint8Array, field: FieldName, decoder: TextDecoder): string {
  const bytes = fieldBytes(header, field);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * A numeric field: octal digits padded with spaces/NULs, or GNU base-256 (high bit of the first
 * byte set) which tar writers use for sizes of 8 GiB and more. Returns undefined when malformed.
 */
export function readNumericField(header: Uint8Array, field: FieldName): number | undefined {
  const bytes = fieldBytes(header, field);
  const first = bytes[0] ?? 0;
  if (first & 0x80) {
    if (first & 0x40) return undefined; // negative base-256 values are never meaningful here
    let value = first & 0x3f;
    for (const byte of bytes.subarray(1)) value = value * 256 + byte;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  let text = "";
  for (const byte of bytes) {
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  text = text.trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

/**
 * Sum of the header bytes with the checksum field counted as spaces. Historic writers summed
 * signed bytes, so readers compute both and accept either.
 */
export function headerChecksums(header: Uint8Array): { unsigned: number; signed: number } {
  const [offset, length] = FIELD.checksum;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= offset && i < offset + length ? 0x20 : (header[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}
