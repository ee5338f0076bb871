/**
 * Just enough ASN.1 DER to write a self-signed X.509 certificate and to read
 * the parts of certificates and private keys we need (definite lengths only,
 * as DER requires). Not a general ASN.1 library, on purpose.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export class DerError extends Error {
  override readonly name = "DerError";
}

// ---------------------------------------------------------------- writing

function lengthBytes(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), lengthBytes(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...items);
/** A context-specific constructed tag, `[n] EXPLICIT`. */
export const explicit = (n: number, content: Uint8Array): Uint8Array => tlv(0xa0 | n, content);
export const nullValue = (): Uint8Array => Uint8Array.of(TAG.NULL, 0);
export const boolean = (value: boolean): Uint8Array => Uint8Array.of(TAG.BOOLEAN, 1, value ? 0xff : 0);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, bytes);
export const utf8String = (text: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(text));
/** A BIT STRING with no unused bits (all we ever need: keys, signatures, flag octets). */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);

/** An unsigned big-endian integer, minimally encoded (a 0x00 is added when the top bit is set). */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return tlv(TAG.INTEGER, needsPad ? concat([Uint8Array.of(0), trimmed]) : trimmed);
}

export const smallInteger = (n: number): Uint8Array => unsignedInteger(Uint8Array.of(n));

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => Number.parseInt(a, 10));
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(bytes));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC with seconds. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ""); // YYYYMMDDHHMMSS
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(TAG.UTC_TIME, new TextEncoder().encode(`${digits.slice(2)}Z`));
  return tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(`${digits}Z`));
}

// ---------------------------------------------------------------- reading

export interface Node {
  tag: number;
  /** Offset of the first content byte within `bytes`. */
  start: number;
  /** Offset just after the last content byte. */
  end: number;
  /** Offset of the tag byte (so bytes.subarray(headerStart, end) is the whole TLV). */
  headerStart: number;
  bytes: Uint8Array;
}

export function readNode(bytes: Uint8Array, offset = 0): Node {
  const tag = bytes[offset];
  if (tag === undefined) throw new DerError("unexpected end of DER data");
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not supported");
  let pos = offset + 1;
  const first = bytes[pos++];
  if (first === undefined) throw new DerError("truncated DER length");
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError("unsupported DER length form");
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = bytes[pos++];
      if (b === undefined) throw new DerError("truncated DER length");
      length = length * 256 + b;
    }
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError("DER value runs past the end of the data");
  return { tag, start: pos, end, headerStart: offset, bytes };
}

/** The full encoding (tag, length and content) of a node. */
export const encoded = (node: Node): Uint8Array => node.bytes.subarray(node.headerStart, node.end);
export const content = (node: Node): Uint8Array => node.bytes.subarray(node.start, node.end);

/** The child nodes of a constructed node (SEQUENCE, SET, [n]). */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let pos = node.start; pos < node.end; ) {
    const child = readNode(node.bytes, pos);
    if (child.end > node.end) throw new DerError("DER child runs past its parent");
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (node === undefined || node.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found ${node ? `0x${node.tag.toString(16)}` : "nothing"}`);
  }
  return node;
}

export function readOid(node: Node): string {
  expectTag(node, TAG.OID, "object identifier");
  const bytes = content(node);
  const arcs: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join(".");
}
