import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/**
 * SHA-256 of a file, computed on first request and kept: the executable may be
 * tens of MiB, and it does not change under a running process (an upgrade
 * replaces the file, and then the process too). Streamed so it costs no RSS.
 */
export function lazyFileDigest(path: string): () => Promise<string | null> {
  let pending: Promise<string | null> | undefined;
  return () =>
    (pending ??= new Promise((resolve) => {
      const hash = createHash("sha256");
      createReadStream(path)
        .on("data", (chunk) => hash.update(chunk))
        .on("end", () => resolve(`sha256:${hash.digest("hex")}`))
        .on("error", () => resolve(null));
    }));
}
