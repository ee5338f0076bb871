/**
 * Loading the agent's X.509-SVID (docs/identity-rc3.md, "The agent's SVID"):
 * `identity.certFile` holds the leaf and its intermediates (PEM),
 * `identity.keyFile` the private key. Both are provisioned by the device's own
 * management; the agent never writes, generates or fixes them.
 *
 * Refused with IDENTITY_INVALID, naming the file: a key file others can read
 * (mode must be 0600 or stricter; we do not chmod a file we do not own), an
 * encrypted or unsupported key, not exactly one URI SAN, a SPIFFE ID that is
 * not of the client form, a leaf that is a CA, a key that is not the leaf's,
 * intermediates that do not chain, a certificate outside its validity period.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { AgentError } from "../errors/index.ts";
import { decodePem } from "../identity/pem.ts";
import { describe, orderChain, toPem } from "./chain.ts";
import { SecretText } from "./secret.ts";
import { expectedWfmId, parseClientId, SpiffeIdError, type MargoClientId, type MargoWfmId } from "./spiffe-id.ts";
import { EKU, leafSvidProblem, x509Facts } from "./x509-facts.ts";

/** A notBefore this far ahead of the device clock is tolerated (a CA whose clock runs slightly fast). */
export const NOT_BEFORE_TOLERANCE_MS = 5 * 60_000;
/** Default lead time of the "expires soon" warning, capped at a third of the SVID's lifetime. */
export const DEFAULT_EXPIRY_WARNING_MS = 7 * 24 * 3600_000;

export interface Svid {
  /** The agent's SPIFFE ID (client form). */
  readonly spiffeId: MargoClientId;
  /** The only WFM identity this SVID lets the agent talk to. */
  readonly wfm: MargoWfmId;
  readonly leaf: X509Certificate;
  /** In path order, leaf excluded. */
  readonly intermediates: readonly X509Certificate[];
  /** What TLS presents: the leaf, then the intermediates, PEM. */
  readonly chainPem: string;
  /** The private key as PKCS#8 PEM. Prints as "[redacted]". */
  readonly key: SecretText;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the leaf DER, hex: tells two SVIDs apart in logs. */
  readonly fingerprint: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function invalid(message: string, file: string, cause?: unknown): AgentError {
  return new AgentError("IDENTITY_INVALID", message, { file }, cause === undefined ? undefined : { cause });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw invalid(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path, err);
  }
}

/** Identifies a file version: a rename, a rewrite or a truncation changes it. */
export async function fileVersion(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    throw invalid(`cannot stat ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path, err);
  }
}

async function readStable(certFile: string, keyFile: string): Promise<{ certText: string; keyText: string }> {
  for (let attempt = 0; ; attempt++) {
    const before = await Promise.all([fileVersion(certFile), fileVersion(keyFile)]);
    const [certText, keyText] = await Promise.all([readText(certFile), readText(keyFile)]);
    const after = await Promise.all([fileVersion(certFile), fileVersion(keyFile)]);
    if ((before[0] === after[0] && before[1] === after[1]) || attempt === 2) return { certText, keyText };
  }
}

/** Mode 0600 or stricter, else refuse: a key readable by others is already compromised, and fixing it is the provisioner's job. */
async function assertPrivateMode(path: string, what: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    throw invalid(`cannot stat ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path, err);
  }
  if ((mode & 0o077) !== 0) {
    throw invalid(
      `${what} ${path} has mode ${mode.toString(8).padStart(4, "0")}; it must be readable by its owner only (chmod 600 ${path})`,
      path,
    );
  }
}

function keyProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec") {
    if (details.namedCurve === "prime256v1" || details.namedCurve === "secp384r1") return undefined;
    return `its EC curve ${details.namedCurve ?? "(unknown)"} is not allowed (P-256 or P-384)`;
  }
  if (type === "ed25519") return undefined;
  if (type === "rsa" || type === "rsa-pss") {
    return (details.modulusLength ?? 0) >= 3072 ? undefined : `its RSA modulus has ${details.modulusLength} bits; at least 3072 are required`;
  }
  return `its key type ${type ?? "(unknown)"} is not allowed (ECDSA P-256/P-384, Ed25519 or RSA ≥ 3072)`;
}

function parseKey(pem: string, keyFile: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw invalid(`private key ${keyFile} is encrypted; provision it unencrypted with mode 0600`, keyFile);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (err) {
    // OpenSSL's message names the structure it failed on, never the key bytes.
    throw invalid(`private key ${keyFile} cannot be read: ${(err as Error).message}`, keyFile, err);
  }
  const problem = keyProblem(key);
  if (problem !== undefined) throw invalid(`private key ${keyFile}: ${problem}`, keyFile);
  return key;
}

function parseCertificates(pem: string, certFile: string): X509Certificate[] {
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch (err) {
    throw invalid(`certificate file ${certFile} is not valid PEM: ${(err as Error).message}`, certFile, err);
  }
  // A block cut off before its END line is silently skipped by the PEM reader; a file still
  // being written would lose its last intermediate that way and look like a shorter, valid chain.
  const begun = pem.match(/-----BEGIN [A-Z0-9 ]+-----/g)?.length ?? 0;
  if (begun !== blocks.length) throw invalid(`certificate file ${certFile} ends inside a PEM block (still being written?)`, certFile);
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (certs.length === 0) throw invalid(`certificate file ${certFile} holds no CERTIFICATE block`, certFile);
  return certs.map((b, i) => {
    try {
      return new X509Certificate(b.der);
    } catch (err) {
      throw invalid(`certificate ${i + 1} in ${certFile} cannot be parsed: ${(err as Error).message}`, certFile, err);
    }
  });
}

export interface LoadSvidOptions {
  certFile: string;
  keyFile: string;
  /** Wall clock in ms (tests); default Date.now. */
  now?: () => number;
}

/**
 * Reads both files until they are stable (an atomic rotation landing between
 * the two reads would otherwise pair an old certificate with a new key),
 * then validates. Throws AgentError IDENTITY_INVALID naming the file at fault.
 */
export async function loadSvid(opts: LoadSvidOptions): Promise<Svid> {
  const { certFile, keyFile } = opts;
  const now = (opts.now ?? Date.now)();
  if (certFile !== keyFile) await assertPrivateMode(keyFile, "private key file");
  const { certText, keyText } = await readStable(certFile, keyFile);

  const certs = parseCertificates(certText, certFile);
  // A key kept in the certificate file is fine only when that file is itself private.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certText)) await assertPrivateMode(certFile, "certificate file holding a private key");
  const key = parseKey(keyText, keyFile);
  const [leaf, ...rest] = certs as [X509Certificate, ...X509Certificate[]];

  let facts;
  try {
    facts = x509Facts(new Uint8Array(leaf.raw));
  } catch (err) {
    throw invalid(`certificate ${certFile}: its extensions cannot be read: ${(err as Error).message}`, certFile, err);
  }
  const leafProblem = leafSvidProblem(facts);
  if (leafProblem !== undefined) throw invalid(`certificate ${certFile} is not a usable X.509-SVID: ${leafProblem}`, certFile);
  let spiffeId: MargoClientId;
  try {
    spiffeId = parseClientId(facts.uris[0]!);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw invalid(`certificate ${certFile}: ${err.message}`, certFile, err);
  }
  if (facts.extKeyUsage !== undefined && !facts.extKeyUsage.includes(EKU.clientAuth)) {
    throw invalid(`certificate ${certFile}: its extendedKeyUsage lacks clientAuth, so no WFM will accept it as a client`, certFile);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw invalid(`private key ${keyFile} does not belong to the first certificate in ${certFile} (${spiffeId.id})`, keyFile);
  }
  const ordered = orderChain(leaf, rest);
  if (typeof ordered === "string") throw invalid(`certificate file ${certFile}: ${ordered}`, certFile);

  for (const cert of [leaf, ...ordered]) {
    const what = cert === leaf ? `certificate ${certFile} (${spiffeId.id})` : `intermediate ${describe(cert)} in ${certFile}`;
    const notBefore = cert.validFromDate.getTime();
    const notAfter = cert.validToDate.getTime();
    if (notAfter <= now) throw invalid(`${what} expired on ${cert.validToDate.toISOString()}`, certFile);
    if (notBefore > now + NOT_BEFORE_TOLERANCE_MS) {
      throw invalid(
        `${what} is not valid before ${cert.validFromDate.toISOString()} (device clock: ${new Date(now).toISOString()})`,
        certFile,
      );
    }
  }

  return {
    spiffeId,
    wfm: expectedWfmId(spiffeId),
    leaf,
    intermediates: ordered,
    chainPem: [leaf, ...ordered].map(toPem).join(""),
    key: new SecretText(key.export({ type: "pkcs8", format: "pem" }).toString()),
    notBefore: leaf.validFromDate,
    notAfter: leaf.validToDate,
    fingerprint: createHash("sha256").update(leaf.raw).digest("hex"),
    certFile,
    keyFile,
  };
}

export type SvidState = "valid" | "expiring" | "expired";

export interface SvidExpiry {
  state: SvidState;
  notAfter: Date;
  /** When the "expires soon" warning starts. */
  warnFrom: Date;
  /** Milliseconds until notAfter (negative once expired). */
  remainingMs: number;
}

/**
 * Whether the SVID expires soon. The warning starts `warnBeforeMs` ahead of
 * notAfter, but never earlier than two thirds into the SVID's life: a
 * short-lived SVID (hours) that is renewed at half-life should not warn for
 * its whole life, yet one past two thirds has missed its renewal.
 */
export function svidExpiry(
  validity: { notBefore: Date; notAfter: Date },
  nowMs: number,
  warnBeforeMs: number = DEFAULT_EXPIRY_WARNING_MS,
): SvidExpiry {
  const start = validity.notBefore.getTime();
  const end = validity.notAfter.getTime();
  const lead = Math.min(warnBeforeMs, Math.max(0, (end - start) / 3));
  const warnFrom = end - lead;
  const state: SvidState = nowMs >= end ? "expired" : nowMs >= warnFrom ? "expiring" : "valid";
  return { state, notAfter: validity.notAfter, warnFrom: new Date(warnFrom), remainingMs: end - nowMs };
}
