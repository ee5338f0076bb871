/**
 * RFC 9530 Content-Digest: the digest of the exact body bytes, as a Structured
 * Field Dictionary (`sha-256=:<base64>:`). We send sha-256 (PROTOCOL.md §2) and
 * accept sha-256 and sha-512; the deprecated algorithms of the RFC's registry
 * (md5, sha, unixsum, ...) are deliberately not accepted.
 */
import { createHash } from "node:crypto";
import { bytesEqual, bytesToBase64 } from "./base64.ts";
import { parseDictionary } from "./structured-fields.ts";

const ACCEPTED: Record<string, "SHA-256" | "SHA-512"> = {
  "sha-256": "SHA-256",
  "sha-512": "SHA-512",
};

// node:crypto (in Bun and Deno alike) hashes on the calling thread; WebCrypto's
// digest hops to a worker thread, which costs more than hashing a small body.
async function digest(hash: "SHA-256" | "SHA-512", body: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(createHash(hash === "SHA-256" ? "sha256" : "sha512").update(body).digest());
}

/** The Content-Digest field value for a body: `sha-256=:<base64>:`. */
export async function contentDigest(body: Uint8Array): Promise<string> {
  return `sha-256=:${bytesToBase64(await digest("SHA-256", body))}:`;
}

export type ContentDigestVerdict = "ok" | "missing" | "mismatch" | "unsupported";

/**
 * Checks a received Content-Digest against the body. Every accepted algorithm
 * present must match (an attacker must not be able to add a matching sha-512
 * beside a wrong sha-256). A field that is not a valid Dictionary, or whose
 * member is not a byte sequence, is a "mismatch": it cannot vouch for the body.
 * "unsupported" means well-formed but naming only algorithms we do not accept.
 */
export async function verifyContentDigest(
  header: string | null,
  body: Uint8Array,
): Promise<ContentDigestVerdict> {
  if (header === null || header.trim() === "") return "missing";
  let dict;
  try {
    dict = parseDictionary(header);
  } catch {
    return "mismatch";
  }
  let checked = 0;
  for (const [name, member] of dict) {
    const hash = ACCEPTED[name];
    if (hash === undefined) continue;
    if (member.kind !== "item" || member.value.type !== "bytes") return "mismatch";
    if (!bytesEqual(member.value.value, await digest(hash, body))) return "mismatch";
    checked++;
  }
  return checked > 0 ? "ok" : "unsupported";
}
