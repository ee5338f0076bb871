/**
 * gzip in and out, with the two properties the archive code needs: decompression that never
 * produces more than a caller-given number of bytes (zlib's maxOutputLength stops inflating at
 * the bound; Bun honours it, see test/unit/archive/gzip.test.ts), and compression whose bytes
 * depend only on the input (fixed header: no name, mtime 0, OS "unknown").
 *
 * Concatenated gzip members are read as one stream, as `gzip -d` does; the bound covers all of
 * them together. Bytes after the last member that are not a gzip member are an error in Bun.
 */
import { constants as bufferConstants } from "node:buffer";
import { deflateRawSync, gunzipSync } from "node:zlib";

export type GunzipResult =
  | { ok: true; data: Uint8Array }
  | { ok: false; tooLarge: boolean; reason: string };

/** Decompresses `gz`, failing once the output would exceed `maxOutputBytes`. */
export function gunzipBounded(gz: Uint8Array, maxOutputBytes: number): GunzipResult {
  if (gz.length < 2 || gz[0] !== 0x1f || gz[1] !== 0x8b) {
    return { ok: false, tooLarge: false, reason: "is not gzip data (no gzip magic bytes)" };
  }
  const bound = Math.max(1, Math.min(Math.floor(maxOutputBytes), bufferConstants.MAX_LENGTH));
  try {
    const out = gunzipSync(gz, { maxOutputLength: bound });
    return { ok: true, data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") {
      return { ok: false, tooLarge: true, reason: `decompresses to more than ${bound} bytes` };
    }
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, tooLarge: false, reason: `is not valid gzip data (${detail})` };
  }
}

/** gzip with a fixed header, so equal input gives equal bytes (for a given zlib build). */
export function gzipDeterministic(data: Uint8Array): Uint8Array {
  const deflated = deflateRawSync(data, { level: 9 });
  const out = new Uint8Array(10 + deflated.length + 8);
  // magic, CM=deflate, FLG=0, MTIME=0, XFL=2 (max compression), OS=255 (unknown)
  out.set([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff], 0);
  out.set(deflated, 10);
  const trailer = new DataView(out.buffer, 10 + deflated.length, 8);
  trailer.setUint32(0, crc32(data), true);
  trailer.setUint32(4, data.length >>> 0, true); // ISIZE is the length modulo 2^32
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), computed here because zlib.crc32 is missing from older runtimes. */
export function crc32(data: Uint8Array, previous = 0): number {
  const table = (crcTable ??= makeCrcTable());
  let crc = ~previous >>> 0;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return ~crc >>> 0;
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
