/**
 * The RFC 9421 §3.3 signature algorithms, mapped onto WebCrypto. WebCrypto's
 * ECDSA already produces and expects the raw r‖s form that RFC 9421 requires
 * (64 bytes for P-256, 96 for P-384), so no DER conversion happens here.
 */

export const SIGNATURE_ALGORITHMS = [
  "ecdsa-p256-sha256",
  "ecdsa-p384-sha384",
  "rsa-v1_5-sha256",
  "rsa-pss-sha256",
  "rsa-pss-sha512",
  "ed25519",
  "hmac-sha256",
] as const;

export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export function isSignatureAlgorithm(value: string): value is SignatureAlgorithm {
  return (SIGNATURE_ALGORITHMS as readonly string[]).includes(value);
}

/** WebCrypto algorithm dictionaries, spelled out because tsconfig has no DOM lib. */
export interface ImportParams {
  name: string;
  namedCurve?: string;
  hash?: string;
}
interface SignParams {
  name: string;
  hash?: string;
  saltLength?: number;
}
type SubtleSignParams = Parameters<typeof crypto.subtle.sign>[0];

interface AlgorithmSpec {
  /** What importKey/generateKey need. */
  importParams: ImportParams;
  /** What sign/verify need. */
  signParams: SignParams;
}

const SPECS: Record<SignatureAlgorithm, AlgorithmSpec> = {
  "ecdsa-p256-sha256": {
    importParams: { name: "ECDSA", namedCurve: "P-256" },
    signParams: { name: "ECDSA", hash: "SHA-256" },
  },
  "ecdsa-p384-sha384": {
    importParams: { name: "ECDSA", namedCurve: "P-384" },
    signParams: { name: "ECDSA", hash: "SHA-384" },
  },
  "rsa-v1_5-sha256": {
    importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    signParams: { name: "RSASSA-PKCS1-v1_5" },
  },
  // RFC 9421 §3.3.1 fixes the salt at the hash length (64 bytes for SHA-512);
  // rsa-pss-sha256 (PROTOCOL.md) follows the same rule with 32 bytes.
  "rsa-pss-sha256": {
    importParams: { name: "RSA-PSS", hash: "SHA-256" },
    signParams: { name: "RSA-PSS", saltLength: 32 },
  },
  "rsa-pss-sha512": {
    importParams: { name: "RSA-PSS", hash: "SHA-512" },
    signParams: { name: "RSA-PSS", saltLength: 64 },
  },
  ed25519: {
    importParams: { name: "Ed25519" },
    signParams: { name: "Ed25519" },
  },
  "hmac-sha256": {
    importParams: { name: "HMAC", hash: "SHA-256" },
    signParams: { name: "HMAC" },
  },
};

/** The algorithm object to pass to crypto.subtle.importKey / generateKey for `alg`. */
export function importParamsFor(alg: SignatureAlgorithm): AlgorithmSpec["importParams"] {
  return SPECS[alg].importParams;
}

function hashName(algorithm: CryptoKey["algorithm"]): string | undefined {
  const hash = (algorithm as { hash?: { name?: string } }).hash;
  return hash?.name;
}

/**
 * True when the key was imported for exactly this algorithm: a P-384 key must not
 * be used as ecdsa-p256-sha256, nor an RSA-PSS/SHA-512 key as rsa-pss-sha256.
 */
export function keyMatchesAlgorithm(key: CryptoKey, alg: SignatureAlgorithm): boolean {
  const want = SPECS[alg].importParams;
  const have = key.algorithm as { name: string; namedCurve?: string };
  if (have.name !== want.name) return false;
  if (want.namedCurve !== undefined && have.namedCurve !== want.namedCurve) return false;
  if (want.hash !== undefined && hashName(key.algorithm) !== want.hash) return false;
  return true;
}

const encoder = new TextEncoder();

/** HTTP_SIGN (RFC 9421 §3.3): signs the signature base string. */
export async function signBase(alg: SignatureAlgorithm, key: CryptoKey, base: string): Promise<Uint8Array> {
  if (!keyMatchesAlgorithm(key, alg)) {
    throw new Error(`the signing key (${describeKey(key)}) cannot be used with ${alg}`);
  }
  return new Uint8Array(await crypto.subtle.sign(SPECS[alg].signParams as SubtleSignParams, key, encoder.encode(base)));
}

/** HTTP_VERIFY (RFC 9421 §3.3): false for a wrong signature, wrong key type or wrong length. */
export async function verifyBase(
  alg: SignatureAlgorithm,
  key: CryptoKey,
  base: string,
  signature: Uint8Array,
): Promise<boolean> {
  if (!keyMatchesAlgorithm(key, alg)) return false;
  try {
    return await crypto.subtle.verify(
      SPECS[alg].signParams as SubtleSignParams,
      key,
      signature as Uint8Array<ArrayBuffer>,
      encoder.encode(base),
    );
  } catch {
    return false;
  }
}

export function describeKey(key: CryptoKey): string {
  const a = key.algorithm as { name: string; namedCurve?: string };
  const hash = hashName(key.algorithm);
  return [a.name, a.namedCurve, hash].filter(Boolean).join("/");
}
