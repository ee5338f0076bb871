/**
 * Certificate chains as TLS presents them: leaf first, then the intermediates
 * in path order (SVIDs page, "chain delivery"). Built on node:crypto's
 * X509Certificate (OpenSSL's parser and signature check), which Bun provides.
 */
import { X509Certificate } from "node:crypto";

/** A certificate's subject for messages: "CN=…" and a short fingerprint, never key material. */
export function describe(cert: X509Certificate): string {
  const subject = cert.subject.replace(/\n/g, ", ") || "(empty subject)";
  return `${subject} [sha256 ${cert.fingerprint256.slice(0, 23)}…]`;
}

/** True when `issuer` signed `cert` (names match and the signature verifies). */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

export const isSelfSigned = (cert: X509Certificate): boolean => issuedBy(cert, cert);

/**
 * Orders `intermediates` into the path leaf → … → last intermediate. Returns
 * the ordered list, or a message saying which certificate does not fit.
 * Intermediates are accepted in any order (TLS 1.3 allows it) but presented in
 * path order, and each must be a CA; one that is not on the path is an error
 * (it would be a stray certificate the operator did not mean to ship).
 */
export function orderChain(leaf: X509Certificate, intermediates: X509Certificate[]): X509Certificate[] | string {
  const remaining = [...intermediates];
  const path: X509Certificate[] = [];
  let current = leaf;
  while (remaining.length > 0) {
    const index = remaining.findIndex((c) => issuedBy(current, c));
    if (index === -1) break;
    const next = remaining.splice(index, 1)[0]!;
    if (!next.ca) return `certificate ${describe(next)} signs the chain but is not a CA certificate`;
    path.push(next);
    current = next;
  }
  if (remaining.length > 0) {
    return `certificate ${describe(remaining[0]!)} is not part of the chain from ${describe(leaf)} (each intermediate must sign the certificate before it)`;
  }
  return path;
}

/**
 * True when the chain (leaf first, intermediates in order) ends at one of
 * `anchors`: its last certificate is an anchor or was signed by one. Used to
 * warn about an SVID that the current trust bundle cannot validate; the TLS
 * stack does the authoritative path validation on every handshake.
 */
export function chainsTo(chain: X509Certificate[], anchors: X509Certificate[]): boolean {
  const last = chain[chain.length - 1];
  if (last === undefined) return false;
  return anchors.some((a) => a.fingerprint256 === last.fingerprint256 || issuedBy(last, a));
}

export function toPem(cert: X509Certificate): string {
  const text = cert.toString();
  return text.endsWith("\n") ? text : `${text}\n`;
}
