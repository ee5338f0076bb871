/**
 * Streaming gunzip that can be stopped early and never holds much: the compressed input is fed
 * to zlib in small slices, and the output of one slice is handed on (and counted) before the
 * next slice goes in. Deflate expands at most ~1032-fold, so one slice costs at most about
 * SLICE_BYTES × 1032 bytes of memory, whatever the archive claims or contains.
 *
 * Two bounds, both checked as the output is produced: the total output, and the expansion
 * ratio (output / compressed input read so far), which stops a bomb after about
 * RATIO_GRACE_BYTES instead of only at the size bound.
 *
 * Concatenated gzip members are read as one stream, as `gzip -d` does; bytes after the last
 * member that are not a gzip member are an error (see test/unit/archive/gzip-bomb.test.ts).
 */
import { createGunzip } from "node:zlib";

/** Compressed bytes fed to zlib at a time: bounds what one step can inflate to (~4 MiB). */
export const SLICE_BYTES = 4 * 1024;

/** Output below this size is never judged by its ratio: tar headers and padding compress extremely well. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export interface GunzipStreamBounds {
  /** Most decompressed bytes; one more is an error. */
  maxOutputBytes: number;
  /** Largest decompressed/compressed ratio once RATIO_GRACE_BYTES are out; no ratio bound when absent. */
  maxRatio?: number;
}

/** Why a gzip stream was refused; the archive readers turn it into their own error codes. */
export class GunzipRefused extends Error {
  constructor(
    readonly tooLarge: boolean,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** What the streaming readers accept: bytes in memory, a web stream, or any (async) iterable of chunks. */
export type ArchiveInput = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The decompressed chunks of `input`; throws GunzipRefused when it is not gzip or exceeds `bounds`. */
export async function* gunzipStream(input: ArchiveInput, bounds: GunzipStreamBounds): AsyncGenerator<Uint8Array> {
  const zlib = createGunzip({ chunkSize: 64 * 1024 });
  let output: Uint8Array[] = [];
  let failure: Error | undefined;
  let ended = false;
  // Whoever waits on zlib (a write, or the end): woken by the write callback, the end or an error,
  // since after an error the write callback may never come.
  let wake: (() => void) | undefined;
  zlib.on("data", (chunk: Uint8Array) => output.push(chunk));
  zlib.on("error", (err: Error) => {
    failure ??= err;
    wake?.();
  });
  zlib.on("end", () => {
    ended = true;
    wake?.();
  });
  const write = (slice: Uint8Array) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      zlib.write(slice, (err) => {
        if (err) failure ??= err;
        resolve();
      });
    });

  let read = 0; // compressed bytes fed so far
  let produced = 0; // decompressed bytes handed on so far
  let magicSeen = 0;
  const bound = Math.max(0, Math.floor(bounds.maxOutputBytes));

  // Hands on what zlib produced, stopping at the first byte over a bound.
  function* drain(): Generator<Uint8Array> {
    const ready = output;
    output = [];
    for (const chunk of ready) {
      if (produced + chunk.length > bound) {
        if (bound > produced) yield chunk.subarray(0, bound - produced);
        throw new GunzipRefused(true, `decompresses to more than ${bound} bytes`);
      }
      produced += chunk.length;
      if (bounds.maxRatio !== undefined && produced > RATIO_GRACE_BYTES && produced > read * bounds.maxRatio) {
        throw new GunzipRefused(true, `expands more than ${bounds.maxRatio}-fold (${produced} bytes from the first ${read} compressed bytes)`);
      }
      yield chunk;
    }
    if (failure) throw invalid(failure);
  }

  try {
    for await (const chunk of chunksOf(input)) {
      for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
        const slice = chunk.subarray(at, at + SLICE_BYTES);
        for (let k = 0; magicSeen < 2 && k < slice.length; k++, magicSeen++) {
          if (slice[k] !== (magicSeen === 0 ? 0x1f : 0x8b)) throw new GunzipRefused(false, "is not gzip data (no gzip magic bytes)");
        }
        read += slice.length;
        if (!failure) await write(slice);
        yield* drain();
      }
    }
    if (magicSeen < 2) throw new GunzipRefused(false, "is not gzip data (no gzip magic bytes)");
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (ended || failure) resolve();
      else zlib.end();
    });
    yield* drain();
  } finally {
    zlib.destroy();
  }
}

function invalid(err: Error): GunzipRefused {
  return new GunzipRefused(false, `is not valid gzip data (${err.message})`);
}

/** Chunks of any ArchiveInput; stopping the loop early cancels a web stream. */
async function* chunksOf(input: ArchiveInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    yield input;
    return;
  }
  if (typeof (input as ReadableStream<Uint8Array>).getReader === "function") {
    const reader = (input as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  yield* input as AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}
