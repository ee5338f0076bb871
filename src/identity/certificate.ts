/**
 * X.509 for the device identity: writing a minimal self-signed certificate
 * (RFC 5280) for a freshly generated P-256 key, and reading any certificate far
 * enough to get its public key, subject CN, validity and SHA-256 thumbprint.
 *
 * Own DER code rather than @peculiar/x509: that library brings its ASN.1 schema
 * packages, tsyringe and reflect-metadata for what is here one fixed certificate
 * layout and a walk over the first seven TBSCertificate fields. Output is
 * checked in the tests by node:crypto's X509Certificate (OpenSSL's parser).
 */
import { base64ToBytes, bytesToBase64, bytesToHex } from "../http-signatures/base64.ts";
import type { SignatureAlgorithm } from "../http-signatures/algorithms.ts";
import {
  bitString,
  boolean,
  children,
  content,
  DerError,
  encoded,
  expectTag,
  explicit,
  octetString,
  oid,
  readNode,
  readOid,
  sequence,
  set,
  smallInteger,
  TAG,
  time,
  tlv,
  unsignedInteger,
  utf8String,
  type Node,
} from "./der.ts";
import { importSpki, OID, type KeyOptions } from "./keys.ts";
import { decodePem, encodePem } from "./pem.ts";

const EXT = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyIdentifier: "2.5.29.14",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** RFC 5280 §4.1.2.5: the notAfter value for "no well-defined expiration date". */
const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function name(commonName: string): Uint8Array {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

/** ECDSA raw r‖s (WebCrypto) → Ecdsa-Sig-Value DER (X.509). */
function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

export interface SelfSignedOptions {
  /** An ECDSA P-256 private key (the only kind we generate). */
  privateKey: CryptoKey;
  /** The matching public key as SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  commonName: string;
  /** Default: five minutes ago, so a WFM whose clock is slightly behind still accepts it. */
  notBefore?: Date;
}

/** A self-signed X.509 v3 end-entity certificate (DER) for a client key. */
export async function createSelfSignedCertificate(opts: SelfSignedOptions): Promise<Uint8Array> {
  if (opts.commonName === "") throw new DerError("the certificate common name (device id) is empty");
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, and always 16 bytes long
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (after the unused-bits octet).
  const keyBits = expectTag(children(readNode(opts.spki))[1], TAG.BIT_STRING, "subjectPublicKey");
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", content(keyBits).subarray(1) as Uint8Array<ArrayBuffer>));
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const subject = name(opts.commonName);
  const notBefore = opts.notBefore ?? new Date(Date.now() - 5 * 60 * 1000);

  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    signatureAlgorithm,
    subject, // issuer = subject: self-signed
    sequence(time(notBefore), time(NO_EXPIRY)),
    subject,
    opts.spki,
    explicit(
      3,
      sequence(
        extension(EXT.basicConstraints, true, sequence()),
        extension(EXT.keyUsage, true, tlv(TAG.BIT_STRING, Uint8Array.of(7, 0x80))), // digitalSignature
        extension(EXT.extKeyUsage, false, sequence(oid(EXT.clientAuth))),
        extension(EXT.subjectKeyIdentifier, false, octetString(keyId)),
      ),
    ),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, opts.privateKey, tbs as Uint8Array<ArrayBuffer>),
  );
  return sequence(tbs, signatureAlgorithm, bitString(ecdsaRawToDer(raw)));
}

export interface ParsedCertificate {
  der: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The first CN of the subject, if any. */
  subjectCommonName: string | undefined;
  notBefore: Date;
  notAfter: Date;
}

function readTime(node: Node): Date {
  const text = new TextDecoder().decode(content(node));
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null || (node.tag !== TAG.UTC_TIME && node.tag !== TAG.GENERALIZED_TIME)) {
    throw new DerError(`unsupported certificate time "${text}"`);
  }
  let year = Number(m[1]);
  if (node.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function commonNameOf(nameNode: Node): string | undefined {
  for (const rdn of children(nameNode)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type && value && readOid(type) === OID.commonName) return new TextDecoder().decode(content(value));
    }
  }
  return undefined;
}

/** Reads the fields we use from a certificate in DER. Throws DerError when it is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = expectTag(readNode(der), TAG.SEQUENCE, "Certificate");
  if (cert.end !== der.length) throw new DerError("trailing bytes after the certificate");
  const tbs = expectTag(children(cert)[0], TAG.SEQUENCE, "TBSCertificate");
  const fields = children(tbs);
  if (fields[0]?.tag === 0xa0) fields.shift(); // explicit version
  const [, , , validity, subject, spki] = fields; // serial, signature, issuer, validity, subject, spki
  const [notBefore, notAfter] = children(expectTag(validity, TAG.SEQUENCE, "Validity"));
  if (notBefore === undefined || notAfter === undefined) throw new DerError("Validity lacks a time");
  return {
    der,
    spki: encoded(expectTag(spki, TAG.SEQUENCE, "SubjectPublicKeyInfo")),
    subjectCommonName: commonNameOf(expectTag(subject, TAG.SEQUENCE, "subject Name")),
    notBefore: readTime(notBefore),
    notAfter: readTime(notAfter),
  };
}

/**
 * A certificate's DER from any of the forms the protocol carries: PEM text,
 * base64 of DER, or base64 of PEM (docs/protocol.md §1: "<base64 PEM or DER>").
 */
export function certificateDer(text: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.includes("-----BEGIN")) {
    const block = decodePem(trimmed).find((b) => b.label === "CERTIFICATE");
    if (block === undefined) throw new DerError("no CERTIFICATE block in the PEM text");
    return block.der;
  }
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(trimmed.replace(/\s+/g, ""));
  } catch {
    throw new DerError("the certificate is neither PEM nor base64");
  }
  if (bytes[0] === 0x30) return bytes;
  // Base64 of PEM text is the one nesting we accept; anything else (including
  // empty input, which decodes to itself) is refused rather than recursed on.
  const inner = new TextDecoder().decode(bytes);
  if (!inner.includes("-----BEGIN")) throw new DerError("the certificate is neither PEM, base64 DER nor base64 PEM");
  return certificateDer(inner);
}

/** Lower-case hex SHA-256 of the certificate DER: the keyid before onboarding. */
export async function certificateThumbprint(der: Uint8Array): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>)));
}

/**
 * The verification key of a certificate given as PEM, base64 DER or base64 PEM.
 * No trust decision is made here (chain, expiry, revocation are the caller's).
 */
export async function publicKeyFromCertificate(
  cert: string,
  opts: KeyOptions = {},
): Promise<{ key: CryptoKey; alg: SignatureAlgorithm }> {
  return importSpki(parseCertificate(certificateDer(cert)).spki, opts);
}

export function certificatePem(der: Uint8Array): string {
  return encodePem("CERTIFICATE", der);
}

export function certificateBase64(der: Uint8Array): string {
  return bytesToBase64(der);
}
