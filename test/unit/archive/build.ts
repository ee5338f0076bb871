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
