/**
 * Every body the agent reads from the WFM goes through one of these two
 * readers, so none is ever buffered without a bound: an endless 503 body
 * must not grow the agent's memory.
 *
 * - readBounded: a body the agent needs whole (manifest, artifact, onboarding
 *   answer): refused with WFM_BODY_TOO_LARGE past the limit.
 * - readPrefix: a body the agent only looks at (error answers, acknowledgements):
 *   at most maxBytes are kept, the rest is never read.
 */
import { AgentError } from "../errors/index.ts";

/** What the agent keeps of an error answer: enough for any problem+json, far from a memory risk. */
export const ERROR_BODY_BYTES = 16 * 1024;

/** Reads a response body, refusing (and cancelling the stream) past maxBytes. */
export async function readBounded(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new AgentError("WFM_BODY_TOO_LARGE", `${what}: ${declared} bytes declared, limit is ${maxBytes}`);
  }
  const { bytes, complete } = await readUpTo(res, maxBytes);
  if (!complete) throw new AgentError("WFM_BODY_TOO_LARGE", `${what}: more than ${maxBytes} bytes received, refusing the rest`);
  return bytes;
}

export interface BodyPrefix {
  /** At most maxBytes, decoded leniently (a cut UTF-8 sequence becomes U+FFFD). */
  text: string;
  /** False when the body was longer than maxBytes (or broke off): the rest was not read. */
  complete: boolean;
}

/**
 * The first maxBytes of a body, never more, and never an exception: a body
 * that breaks off or times out gives what arrived. A small body is read to its
 * end, which lets the connection be reused.
 */
export async function readPrefix(res: Response, maxBytes = ERROR_BODY_BYTES): Promise<BodyPrefix> {
  // A 304 (every idle poll) has no body at all.
  if (!res.body) return { text: "", complete: true };
  let result: { bytes: Uint8Array; complete: boolean };
  try {
    result = await readUpTo(res, maxBytes);
  } catch {
    await res.body?.cancel().catch(() => {});
    return { text: "", complete: false };
  }
  return { text: new TextDecoder("utf-8", { fatal: false }).decode(result.bytes), complete: result.complete };
}

/** Reads until the end or until more than maxBytes arrived (then cancels and keeps maxBytes). */
async function readUpTo(res: Response, maxBytes: number): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(0), complete: true };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let complete = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - total));
        total = maxBytes;
        complete = false;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  if (chunks.length === 1 && complete) return { bytes: chunks[0]!, complete };
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return { bytes: out, complete };
}
