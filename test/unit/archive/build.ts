/** Helpers to craft archives for the archive tests. */
import { crc32 as zlibCrc32, constants, deflateRawSync } from "node:zlib";
import { AgentError } from "../../../src/errors/agent-error.ts";
import type { ErrorCode } from "../../../src/errors/codes.ts";
import { gzipDeterministic, writeTar, type RawTarEntry } from "../../../src/archive/index.ts";

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

export const roomy = { maxEntries: 100, maxEntryBytes: 1 << 20, maxTotalBytes: 4 << 20 };

export function tgz(entries: RawTarEntry[]): Uint8Array {
  return gzipDeterministic(writeTar(entries));
}

/** Runs `fn` and returns the AgentError it throws (fails the test on anything else). */
export function agentErrorOf(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentError) return err;
    throw new Error(`expected an AgentError, got ${String(err)}`);
  }
  throw new Error("expected an AgentError, nothing was thrown");
}

export function expectCode(err: AgentError, code: ErrorCode): AgentError {
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

/**
 * A real gzip file whose content is `gib` GiB of zeros, built without ever holding them: one
 * MiB of zeros deflated with a full flush is a self-contained run of deflate blocks, so the
 * stream is that run repeated, then an empty final block. `gzip -t` accepts the result.
 */
export function zeroBomb(gib: number): Uint8Array {
  const mib = new Uint8Array(1 << 20);
  const chunk = deflateRawSync(mib, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const finalBlock = deflateRawSync(new Uint8Array(0));
  const chunks = gib * 1024;
  let crc = 0;
  for (let i = 0; i < chunks; i++) crc = zlibCrc32(mib, crc);
  const out = new Uint8Array(10 + chunk.length * chunks + finalBlock.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  for (let i = 0; i < chunks; i++) out.set(chunk, 10 + i * chunk.length);
  out.set(finalBlock, 10 + chunks * chunk.length);
  const trailer = new DataView(out.buffer, out.length - 8);
  trailer.setUint32(0, crc >>> 0, true);
  trailer.setUint32(4, (gib * 2 ** 30) >>> 0, true);
  return out;
}

/**
 * A real .tar.gz of `entries` followed by one regular file `bigPath` of `mib` MiB of zeros, built
 * without ever holding the zeros: the tar framing is deflated with full flushes around the same
 * repeated run of deflate blocks zeroBomb uses. `tar -tvzf` lists it; `gzip -t` accepts it.
 */
export function tarGzBomb(entries: RawTarEntry[], bigPath: string, mib: number): Uint8Array {
  const size = mib * 2 ** 20;
  const withHeader = writeTar([...entries, { path: bigPath, size }]);
  // writeTar ends with the header of the big file (no data: size is only claimed) and 1024 zero bytes.
  const prefix = withHeader.subarray(0, withHeader.length - 1024);
  const suffix = new Uint8Array(1024); // the end-of-archive marker (the zeros need no padding: whole MiBs)
  const mibZeros = new Uint8Array(1 << 20);
  const flush = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const head = deflateRawSync(prefix, flush);
  const run = deflateRawSync(mibZeros, flush);
  const tail = deflateRawSync(suffix);
  let crc = zlibCrc32(prefix);
  for (let i = 0; i < mib; i++) crc = zlibCrc32(mibZeros, crc);
  crc = zlibCrc32(suffix, crc);
  const out = new Uint8Array(10 + head.length + run.length * mib + tail.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  out.set(head, 10);
  for (let i = 0; i < mib; i++) out.set(run, 10 + head.length + i * run.length);
  out.set(tail, 10 + head.length + mib * run.length);
  const trailer = new DataView(out.buffer, out.length - 8);
  trailer.setUint32(0, crc >>> 0, true);
  trailer.setUint32(4, (prefix.length + size + suffix.length) >>> 0, true);
  return out;
}
