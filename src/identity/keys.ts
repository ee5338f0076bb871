/**
 * Importing device keys into WebCrypto. WebCrypto reads only PKCS#8 private keys
 * and SPKI public keys, so the other formats an operator may provision (SEC1
 * "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY") are wrapped into PKCS#8 here: the
 * wrapping is a fixed DER envelope around the unchanged key bytes.
 */
import { importParamsFor, type SignatureAlgorithm } from "../http-signatures/algorithms.ts";
import { children, DerError, encoded, expectTag, nullValue, octetString, oid, readNode, readOid, sequence, smallInteger, TAG } from "./der.ts";
import { decodePem } from "./pem.ts";

export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ed25519: "1.3.101.112",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
} as const;

export type RsaSignatureAlgorithm = "rsa-v1_5-sha256" | "rsa-pss-sha256" | "rsa-pss-sha512";

export interface KeyOptions {
  /** RSA keys do not say which padding they are for; default rsa-v1_5-sha256. */
  rsaAlg?: RsaSignatureAlgorithm;
}

/**
 * The signature algorithm for a key's AlgorithmIdentifier (the SEQUENCE holding
 * the key-type OID and, for EC, the curve OID).
 */
export function algorithmForKeyType(algorithmIdentifier: Uint8Array, opts: KeyOptions = {}): SignatureAlgorithm {
  const parts = children(expectTag(readNode(algorithmIdentifier), TAG.SEQUENCE, "AlgorithmIdentifier"));
  const keyType = readOid(expectTag(parts[0], TAG.OID, "key algorithm"));
  if (keyType === OID.ecPublicKey) {
    const curve = parts[1]?.tag === TAG.OID ? readOid(parts[1]) : "";
    if (curve === OID.p256) return "ecdsa-p256-sha256";
    if (curve === OID.p384) return "ecdsa-p384-sha384";
    throw new DerError(`unsupported EC curve ${curve || "(none given)"}; use P-256 or P-384`);
  }
  if (keyType === OID.rsaEncryption) return opts.rsaAlg ?? "rsa-v1_5-sha256";
  if (keyType === OID.ed25519) return "ed25519";
  throw new DerError(`unsupported key type ${keyType}`);
}

function curveOid(alg: SignatureAlgorithm): string {
  return alg === "ecdsa-p384-sha384" ? OID.p384 : OID.p256;
}

/** SEC1 ECPrivateKey → PKCS#8. The curve comes from the key's own [0] parameters. */
function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const fields = children(expectTag(readNode(sec1), TAG.SEQUENCE, "ECPrivateKey"));
  const params = fields.find((f) => f.tag === 0xa0);
  if (params === undefined) throw new DerError("EC PRIVATE KEY does not name its curve");
  const curve = readOid(readNode(params.bytes, params.start));
  const alg = curve === OID.p256 ? "ecdsa-p256-sha256" : curve === OID.p384 ? "ecdsa-p384-sha384" : undefined;
  if (alg === undefined) throw new DerError(`unsupported EC curve ${curve}; use P-256 or P-384`);
  return sequence(smallInteger(0), sequence(oid(OID.ecPublicKey), oid(curveOid(alg))), octetString(sec1));
}

/** PKCS#1 RSAPrivateKey → PKCS#8. */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return sequence(smallInteger(0), sequence(oid(OID.rsaEncryption), nullValue()), octetString(pkcs1));
}

export interface ImportedPrivateKey {
  key: CryptoKey;
  alg: SignatureAlgorithm;
  /** The key as PKCS#8 DER (for writing it back, never for logging). */
  pkcs8: Uint8Array;
}

/**
 * Imports the first private key found in PEM text: "PRIVATE KEY" (PKCS#8),
 * "EC PRIVATE KEY" (SEC1) or "RSA PRIVATE KEY" (PKCS#1). The CryptoKey is not
 * extractable. Encrypted keys are refused with a message saying so.
 */
export async function importPrivateKeyPem(pem: string, opts: KeyOptions = {}): Promise<ImportedPrivateKey> {
  const block = decodePem(pem).find((b) => b.label.endsWith("PRIVATE KEY"));
  if (block === undefined) throw new DerError("no PEM private key block found");
  let pkcs8: Uint8Array;
  switch (block.label) {
    case "PRIVATE KEY":
      pkcs8 = block.der;
      break;
    case "EC PRIVATE KEY":
      pkcs8 = sec1ToPkcs8(block.der);
      break;
    case "RSA PRIVATE KEY":
      pkcs8 = pkcs1ToPkcs8(block.der);
      break;
    case "ENCRYPTED PRIVATE KEY":
      throw new DerError("the private key is encrypted; provision it unencrypted with mode 0600");
    default:
      throw new DerError(`unsupported private key type "${block.label}"`);
  }
  // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING, ... }
  const fields = children(expectTag(readNode(pkcs8), TAG.SEQUENCE, "PrivateKeyInfo"));
  const algId = fields[1];
  if (algId === undefined) throw new DerError("PrivateKeyInfo has no AlgorithmIdentifier");
  const alg = algorithmForKeyType(encoded(algId), opts);
  const key = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as Uint8Array<ArrayBuffer>,
    importParamsFor(alg) as Parameters<typeof crypto.subtle.importKey>[2],
    false,
    ["sign"],
  );
  return { key, alg, pkcs8 };
}

/** Imports a SubjectPublicKeyInfo (DER) for verification. */
export async function importSpki(spki: Uint8Array, opts: KeyOptions = {}): Promise<{ key: CryptoKey; alg: SignatureAlgorithm }> {
  const fields = children(expectTag(readNode(spki), TAG.SEQUENCE, "SubjectPublicKeyInfo"));
  const algId = fields[0];
  if (algId === undefined) throw new DerError("SubjectPublicKeyInfo has no AlgorithmIdentifier");
  const alg = algorithmForKeyType(encoded(algId), opts);
  const key = await crypto.subtle.importKey(
    "spki",
    spki as Uint8Array<ArrayBuffer>,
    importParamsFor(alg) as Parameters<typeof crypto.subtle.importKey>[2],
    true,
    ["verify"],
  );
  return { key, alg };
}
