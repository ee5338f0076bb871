/**
 * Reading response bodies with every bound enforced while bytes arrive: a byte limit (a body that
 * declares or sends more is cut off, never buffered whole), an idle limit (no byte for that long:
 * a stalled connection) and the caller's deadline (a registry that drips one byte a second passes
 * the idle limit but not the deadline).
 */
import { concatBytes } from "../util/bytes.ts";
import { AgentError } from "../errors/index.ts";

export interface ReadBounds {
  maxBytes: number;
  /** Longest wait for the next chunk. */
  idleMs: number;
  /** Aborted when the request's or the pull's time is up. */
  signal: AbortSignal;
  /** Names the body in messages: "manifest of oci://…", "blob sha256:… from https://…". */
  what: string;
  /** Error when the body is larger than maxBytes. */
  tooLarge: (got: string) => AgentError;
}

/** Feeds every chunk to `onChunk` (awaited: back-pressure) and returns the byte count. */
export async function pumpBody(res: Response, bounds: ReadBounds, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<number> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (declared > bounds.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw bounds.tooLarge(`declares ${declared} bytes`);
  }
  if (!res.body) return 0;
  const reader = res.body.getReader() as unknown as ChunkReader & { cancel(): Promise<void>; releaseLock(): void };
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await readChunk(reader, bounds);
      if (done) break;
      total += value.byteLength;
      if (total > bounds.maxBytes) throw bounds.tooLarge("sent more than that");
      await onChunk(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  return total;
}

/** The whole body in memory: for manifests, tokens and error bodies, all small by their bounds. */
export async function readBody(res: Response, bounds: ReadBounds): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const total = await pumpBody(res, bounds, (c) => void chunks.push(c));
  return concatBytes(chunks, total);
}

/** Drops a body we do not need, without waiting long for it. */
export async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

type ChunkReader = { read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }> };

async function readChunk(reader: ChunkReader, bounds: ReadBounds): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }> {
  if (bounds.signal.aborted) throw timedOut(bounds);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError("REGISTRY_UNREACHABLE", `${bounds.what}: stalled, no data for ${Math.round(bounds.idleMs / 1000)} s`)), bounds.idleMs);
    onAbort = () => reject(timedOut(bounds));
    bounds.signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([reader.read(), stop]);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (bounds.signal.aborted) throw timedOut(bounds);
    throw new AgentError("REGISTRY_UNREACHABLE", `${bounds.what}: transfer interrupted (${(err as Error).message})`, {}, { cause: err });
  } finally {
    clearTimeout(timer);
    if (onAbort) bounds.signal.removeEventListener("abort", onAbort);
  }
}

function timedOut(bounds: ReadBounds): AgentError {
  const reason = bounds.signal.reason;
  if (reason instanceof AgentError) return reason;
  return new AgentError("REGISTRY_UNREACHABLE", `${bounds.what}: timed out`);
}
