/** Reading a package file from disk in chunks, so no step needs it whole in memory. */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

const CHUNK = 64 * 1024;

/** The bytes of `path`, chunk by chunk (each a fresh buffer the consumer may keep). */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, "r");
  try {
    for (;;) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await file.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/**
 * The bytes of `path` as a web stream (for OpenPGP.js). A reader may stop without cancelling
 * (a signature that fails early), so the caller closes the file with `close()` when done.
 */
export async function openFileStream(path: string): Promise<{ stream: ReadableStream<Uint8Array>; close: () => Promise<void> }> {
  const file = await open(path, "r");
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await file.close().catch(() => {});
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (closed) return controller.close();
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await file.read(buf, 0, CHUNK, null);
      if (bytesRead > 0) return controller.enqueue(buf.subarray(0, bytesRead));
      await close();
      controller.close();
    },
    cancel: close,
  });
  return { stream, close };
}

/** Hex SHA-256 of the file at `path`. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fileChunks(path)) hash.update(chunk);
  return hash.digest("hex");
}
