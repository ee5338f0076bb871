/** Byte helpers shared by the readers of bounded bodies and the tar writer. */

/** The chunks as one array (total: their summed length, when the caller already counted it). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  let length = total ?? 0;
  if (total === undefined) for (const c of chunks) length += c.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
