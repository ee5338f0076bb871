import { createHash } from "node:crypto";
import { AgentError } from "../errors/index.ts";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function assertDigestFormat(digest: string, what: string): void {
  if (!DIGEST.test(digest)) {
    throw new AgentError("DIGEST_UNSUPPORTED", `${what}: digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex>`, { digest });
  }
}

/** Throws DIGEST_MISMATCH unless the exact bytes hash to the expected digest. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  assertDigestFormat(expected, what);
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new AgentError("DIGEST_MISMATCH", `${what}: expected ${expected} but the ${bytes.length} bytes received hash to ${actual}`, {
      expected,
      actual,
    });
  }
}
