/**
 * The device identity (docs/protocol.md §1.3): a provisioned key and certificate, or
 * on first boot a generated ECDSA P-256 key with a self-signed certificate whose
 * subject CN is the device id. The private key file is created 0600 from the
 * first byte (open with O_EXCL and the mode, then rename into place), so it is
 * never readable by others even for an instant, and never half-written.
 *
 * Nothing here logs: problems the operator should know about come back in
 * `warnings`, and key material never appears in a message.
 */
import { writeFileAtomic } from "../util/atomic-file.ts";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { AgentError } from "../errors/index.ts";
import { signBase, verifyBase, type SignatureAlgorithm } from "../http-signatures/algorithms.ts";
import {
  certificateBase64,
  certificateDer,
  certificatePem,
  certificateThumbprint,
  createSelfSignedCertificate,
  parseCertificate,
} from "./certificate.ts";
import { importPrivateKeyPem, importSpki, type KeyOptions } from "./keys.ts";
import { encodePem } from "./pem.ts";

export const DEFAULT_KEY_FILE = "device-key.pem";
export const DEFAULT_CERT_FILE = "device-cert.pem";

export interface IdentityOptions extends KeyOptions {
  /** Directory for the generated files (created 0700 when missing). */
  dir: string;
  /** A provisioned key file; relative paths are taken from `dir`. */
  keyFile?: string;
  /** A provisioned certificate file; relative paths are taken from `dir`. */
  certFile?: string;
  /** Subject CN of a generated certificate. */
  deviceId: string;
}

export interface DeviceIdentity {
  /** Private key for signing requests (not extractable). */
  key: CryptoKey;
  /** The certificate's public key, for self-checks and tests. */
  publicKey: CryptoKey;
  alg: SignatureAlgorithm;
  certificatePem: string;
  /** What the onboarding request carries in `certificate`. */
  certificateDerBase64: string;
  /** Lower-case hex SHA-256 of the certificate DER: the keyid until a clientId is assigned. */
  thumbprint: string;
  keyFile: string;
  certFile: string;
  /** True when this call generated the key and certificate. */
  generated: boolean;
  /** Things the operator should hear about (fixed key file mode, CN mismatch, expiry). Never key material. */
  warnings: string[];
}

function invalid(message: string, file: string, cause?: unknown): AgentError {
  return new AgentError("IDENTITY_INVALID", message, { file }, cause === undefined ? undefined : { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw invalid(`cannot stat ${path}: ${(err as Error).message}`, path, err);
  }
}


/** Narrows a key file readable by group or others to 0600, and says so. */
async function tightenKeyMode(path: string, warnings: string[]): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  await chmod(path, 0o600);
  warnings.push(
    `private key file ${path} had mode ${mode.toString(8).padStart(4, "0")}; changed to 0600`,
  );
}

/** Proves that the private key belongs to the certificate by signing and verifying a probe. */
async function assertKeyMatches(
  key: CryptoKey,
  publicKey: CryptoKey,
  alg: SignatureAlgorithm,
  keyFile: string,
  certFile: string,
): Promise<void> {
  const probe = `margo-agent key check ${randomBytes(8).toString("hex")}`;
  const ok = await verifyBase(alg, publicKey, probe, await signBase(alg, key, probe));
  if (!ok) throw invalid(`private key ${keyFile} does not belong to certificate ${certFile}`, keyFile);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw invalid(`cannot read ${path}: ${(err as Error).message}`, path, err);
  }
}

async function loadExisting(
  keyFile: string,
  certFile: string,
  opts: IdentityOptions,
  warnings: string[],
): Promise<DeviceIdentity> {
  await tightenKeyMode(keyFile, warnings);
  let imported;
  try {
    imported = await importPrivateKeyPem(await readText(keyFile), opts);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    // The parser's message names the structure, never the key bytes.
    throw invalid(`private key ${keyFile} cannot be used: ${(err as Error).message}`, keyFile, err);
  }
  let der: Uint8Array;
  let parsed;
  let pub;
  try {
    der = certificateDer(await readText(certFile));
    parsed = parseCertificate(der);
    pub = await importSpki(parsed.spki, opts);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw invalid(`certificate ${certFile} cannot be used: ${(err as Error).message}`, certFile, err);
  }
  if (pub.alg !== imported.alg) {
    throw invalid(`private key ${keyFile} (${imported.alg}) does not belong to certificate ${certFile} (${pub.alg})`, keyFile);
  }
  await assertKeyMatches(imported.key, pub.key, imported.alg, keyFile, certFile);
  if (parsed.subjectCommonName !== opts.deviceId) {
    warnings.push(
      `certificate ${certFile} names CN=${parsed.subjectCommonName ?? "(none)"}, not the device id ${opts.deviceId}`,
    );
  }
  if (parsed.notAfter.getTime() < Date.now()) {
    warnings.push(`certificate ${certFile} expired on ${parsed.notAfter.toISOString()}`);
  }
  return {
    key: imported.key,
    publicKey: pub.key,
    alg: imported.alg,
    certificatePem: certificatePem(der),
    certificateDerBase64: certificateBase64(der),
    thumbprint: await certificateThumbprint(der),
    keyFile,
    certFile,
    generated: false,
    warnings,
  };
}

async function exportedPair(): Promise<{ pkcs8: Uint8Array; spki: Uint8Array; privateKey: CryptoKey }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return {
    pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    spki: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
    privateKey: pair.privateKey,
  };
}

/** The public key (SPKI DER) of an existing P-256 private key, via its JWK form. */
async function spkiOfPrivateKey(pkcs8: Uint8Array): Promise<{ spki: Uint8Array; privateKey: CryptoKey }> {
  const params = { name: "ECDSA", namedCurve: "P-256" };
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8 as Uint8Array<ArrayBuffer>, params, true, ["sign"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, params, true, ["verify"]);
  return { spki: new Uint8Array(await crypto.subtle.exportKey("spki", publicKey)), privateKey };
}

/**
 * Loads the device identity, generating it on first boot. With `keyFile` or
 * `certFile` given the identity is provisioned: both files must exist and nothing
 * is ever generated. Throws AgentError IDENTITY_INVALID naming the file at fault.
 */
export async function loadOrCreateIdentity(opts: IdentityOptions): Promise<DeviceIdentity> {
  const provisioned = opts.keyFile !== undefined || opts.certFile !== undefined;
  const keyFile = resolve(opts.dir, opts.keyFile ?? DEFAULT_KEY_FILE);
  const certFile = resolve(opts.dir, opts.certFile ?? DEFAULT_CERT_FILE);
  const warnings: string[] = [];
  const [hasKey, hasCert] = await Promise.all([exists(keyFile), exists(certFile)]);

  if (hasKey && hasCert) return loadExisting(keyFile, certFile, opts, warnings);
  if (provisioned) {
    const missing = hasKey ? certFile : keyFile;
    throw invalid(`provisioned identity file ${missing} does not exist`, missing);
  }
  if (hasCert && !hasKey) {
    // Never pair a new key with an old certificate behind the operator's back.
    throw invalid(`certificate ${certFile} exists but its private key ${keyFile} is missing`, keyFile);
  }

  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  let pkcs8: Uint8Array;
  let spki: Uint8Array;
  let signingKey: CryptoKey;
  if (hasKey) {
    // A crash between writing the key and the certificate: finish the job with the same key.
    await tightenKeyMode(keyFile, warnings);
    const imported = await importPrivateKeyPem(await readText(keyFile)).catch((err: unknown) => {
      throw invalid(`private key ${keyFile} cannot be used: ${(err as Error).message}`, keyFile, err);
    });
    if (imported.alg !== "ecdsa-p256-sha256") {
      throw invalid(`private key ${keyFile} is ${imported.alg}, but a certificate can only be generated for P-256`, keyFile);
    }
    ({ spki, privateKey: signingKey } = await spkiOfPrivateKey(imported.pkcs8));
    pkcs8 = imported.pkcs8;
    warnings.push(`certificate ${certFile} was missing; generated a new self-signed one for the existing key`);
  } else {
    ({ pkcs8, spki, privateKey: signingKey } = await exportedPair());
    await writeFileAtomic(keyFile, encodePem("PRIVATE KEY", pkcs8), 0o600);
  }
  const der = await createSelfSignedCertificate({ privateKey: signingKey, spki, commonName: opts.deviceId });
  await writeFileAtomic(certFile, certificatePem(der), 0o644);

  const key = await crypto.subtle.importKey("pkcs8", pkcs8 as Uint8Array<ArrayBuffer>, { name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
  ]);
  const pub = await importSpki(spki);
  return {
    key,
    publicKey: pub.key,
    alg: "ecdsa-p256-sha256",
    certificatePem: certificatePem(der),
    certificateDerBase64: certificateBase64(der),
    thumbprint: await certificateThumbprint(der),
    keyFile,
    certFile,
    generated: !hasKey,
    warnings,
  };
}
