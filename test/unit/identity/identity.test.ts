import { afterAll, describe, expect, test } from "bun:test";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signBase, signRequest, verifyBase, verifyRequest } from "../../../src/http-signatures/index.ts";
import {
  certificatePem,
  certificateThumbprint,
  createSelfSignedCertificate,
  encodePem,
  loadOrCreateIdentity,
  parseCertificate,
  publicKeyFromCertificate,
} from "../../../src/identity/index.ts";
import {
  TEST_KEY_ECC_P256_PRIVATE,
  TEST_KEY_ECC_P256_PUBLIC,
  TEST_KEY_RSA_PRIVATE,
} from "../http-signatures/rfc9421-fixtures.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "margo-identity-"));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

const identityError = (p: Promise<unknown>) => agentErrorOf(p, "IDENTITY_INVALID");

describe("first boot: generated identity", () => {
  test("writes a 0600 key and a self-signed certificate with CN = device id", async () => {
    const dir = join(tempDir(), "identity");
    const id = await loadOrCreateIdentity({ dir, deviceId: "device-0001" });
    expect(id.generated).toBe(true);
    expect(id.warnings).toEqual([]);
    expect(id.alg).toBe("ecdsa-p256-sha256");
    expect(mode(join(dir, "device-key.pem"))).toBe(0o600);
    expect(mode(join(dir, "device-cert.pem"))).toBe(0o644);
    expect(mode(dir)).toBe(0o700);
    expect(id.key.extractable).toBe(false);
    expect(id.key.type).toBe("private");
    expect(readFileSync(join(dir, "device-cert.pem"), "utf8")).toBe(id.certificatePem);

    // An independent parser (OpenSSL, through node:crypto) accepts what we wrote.
    const x509 = new X509Certificate(id.certificatePem);
    expect(x509.subject).toBe("CN=device-0001");
    expect(x509.issuer).toBe("CN=device-0001");
    expect(x509.verify(x509.publicKey)).toBe(true); // the self-signature is valid
    expect(x509.checkPrivateKey(createPrivateKey(readFileSync(join(dir, "device-key.pem"))))).toBe(true);
    expect(x509.fingerprint256.replaceAll(":", "").toLowerCase()).toBe(id.thumbprint);
    expect(x509.ca).toBe(false);
    expect(Buffer.from(id.certificateDerBase64, "base64")).toEqual(Buffer.from(x509.raw));
  });

  test("the key file is 0600 even with umask 000", async () => {
    const dir = tempDir();
    const old = process.umask(0);
    try {
      await loadOrCreateIdentity({ dir, deviceId: "d" });
    } finally {
      process.umask(old);
    }
    expect(mode(join(dir, "device-key.pem"))).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("the certificate's public key verifies a signature made with the private key", async () => {
    const id = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "device-0002" });
    const { key, alg } = await publicKeyFromCertificate(id.certificatePem);
    expect(alg).toBe("ecdsa-p256-sha256");
    const sig = await signBase(alg, id.key, "hello");
    expect(await verifyBase(alg, key, "hello", sig)).toBe(true);
    expect(await verifyBase(alg, key, "hellO", sig)).toBe(false);
  });

  test("a second load returns the same identity", async () => {
    const dir = tempDir();
    const first = await loadOrCreateIdentity({ dir, deviceId: "device-0003" });
    const second = await loadOrCreateIdentity({ dir, deviceId: "device-0003" });
    expect(second.generated).toBe(false);
    expect(second.thumbprint).toBe(first.thumbprint);
    expect(second.certificatePem).toBe(first.certificatePem);
    const sig = await signBase("ecdsa-p256-sha256", second.key, "x");
    expect(await verifyBase("ecdsa-p256-sha256", first.publicKey, "x", sig)).toBe(true);
  });

  test("signRequest with the identity verifies with publicKeyFromCertificate(certificate)", async () => {
    const id = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "device-0004" });
    const url = "https://wfm.example.com/api/v1/onboarding";
    const body = new TextEncoder().encode(
      JSON.stringify({ apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: id.certificateDerBase64 }),
    );
    const headers = new Headers({ "content-type": "application/json" });
    const out = await signRequest({ method: "POST", url, headers, body }, { keyId: id.thumbprint, alg: id.alg, key: id.key });
    headers.set("content-digest", out["content-digest"]!);
    headers.set("signature-input", out["signature-input"]);
    headers.set("signature", out.signature);

    // The WFM side: before onboarding it only has the certificate from the body.
    const request = new Request(url, { method: "POST", headers, body });
    const sent = JSON.parse(await request.clone().text()) as { certificate: string };
    const result = await verifyRequest(request, async (keyId) => {
      const der = Buffer.from(sent.certificate, "base64");
      if (keyId !== (await certificateThumbprint(der))) return null;
      return publicKeyFromCertificate(sent.certificate);
    }, {});
    expect(result).toMatchObject({ ok: true, keyId: id.thumbprint });
  });
});

describe("existing identity", () => {
  test("a key file readable by others is narrowed to 0600 and reported", async () => {
    const dir = tempDir();
    await loadOrCreateIdentity({ dir, deviceId: "d" });
    chmodSync(join(dir, "device-key.pem"), 0o644);
    const id = await loadOrCreateIdentity({ dir, deviceId: "d" });
    expect(mode(join(dir, "device-key.pem"))).toBe(0o600);
    expect(id.warnings).toEqual([`private key file ${join(dir, "device-key.pem")} had mode 0644; changed to 0600`]);
  });

  test("a provisioned SEC1 'EC PRIVATE KEY' with its certificate loads; a CN other than the device id is a warning", async () => {
    const dir = tempDir();
    const spki = new Uint8Array(createPublicKey(TEST_KEY_ECC_P256_PUBLIC).export({ type: "spki", format: "der" }));
    const pkcs8 = createPrivateKey(TEST_KEY_ECC_P256_PRIVATE).export({ type: "pkcs8", format: "der" });
    const signer = await crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const der = await createSelfSignedCertificate({ privateKey: signer, spki, commonName: "factory-name" });
    writeFileSync(join(dir, "key.pem"), TEST_KEY_ECC_P256_PRIVATE, { mode: 0o600 });
    writeFileSync(join(dir, "cert.pem"), certificatePem(der));

    const id = await loadOrCreateIdentity({ dir, keyFile: "key.pem", certFile: join(dir, "cert.pem"), deviceId: "device-9" });
    expect(id.generated).toBe(false);
    expect(id.alg).toBe("ecdsa-p256-sha256");
    expect(id.thumbprint).toBe(await certificateThumbprint(der));
    expect(id.warnings).toEqual([`certificate ${join(dir, "cert.pem")} names CN=factory-name, not the device id device-9`]);
  });

  test("a provisioned PKCS#1 'RSA PRIVATE KEY' loads as rsa-v1_5-sha256 (or the configured RSA algorithm)", async () => {
    const dir = tempDir();
    // A certificate for the RSA key, issued by an EC key (we only write EC-signed certificates).
    const issuer = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])) as CryptoKeyPair;
    const rsaSpki = new Uint8Array(createPublicKey(createPrivateKey(TEST_KEY_RSA_PRIVATE)).export({ type: "spki", format: "der" }));
    const der = await createSelfSignedCertificate({ privateKey: issuer.privateKey, spki: rsaSpki, commonName: "rsa-device" });
    writeFileSync(join(dir, "device-key.pem"), TEST_KEY_RSA_PRIVATE, { mode: 0o600 });
    writeFileSync(join(dir, "device-cert.pem"), certificatePem(der));

    const v15 = await loadOrCreateIdentity({ dir, deviceId: "rsa-device" });
    expect(v15.alg).toBe("rsa-v1_5-sha256");
    const pss = await loadOrCreateIdentity({ dir, deviceId: "rsa-device", rsaAlg: "rsa-pss-sha256" });
    expect(pss.alg).toBe("rsa-pss-sha256");
    const { key } = await publicKeyFromCertificate(pss.certificatePem, { rsaAlg: "rsa-pss-sha256" });
    expect(await verifyBase("rsa-pss-sha256", key, "m", await signBase("rsa-pss-sha256", pss.key, "m"))).toBe(true);
  });

  test("a key that does not belong to the certificate is refused", async () => {
    const a = tempDir();
    const b = tempDir();
    await loadOrCreateIdentity({ dir: a, deviceId: "a" });
    await loadOrCreateIdentity({ dir: b, deviceId: "b" });
    const err = await identityError(
      loadOrCreateIdentity({ dir: a, keyFile: join(a, "device-key.pem"), certFile: join(b, "device-cert.pem"), deviceId: "a" }),
    );
    expect(err.message).toContain("does not belong to certificate");
  });

  test("missing provisioned files, or a certificate without its key, are errors naming the file", async () => {
    const dir = tempDir();
    const err = await identityError(loadOrCreateIdentity({ dir, keyFile: "nope.pem", certFile: "nope.crt", deviceId: "d" }));
    expect(err.message).toContain(join(dir, "nope.pem"));
    await loadOrCreateIdentity({ dir, deviceId: "d" });
    unlinkSync(join(dir, "device-key.pem"));
    const orphan = await identityError(loadOrCreateIdentity({ dir, deviceId: "d" }));
    expect(orphan.message).toContain("private key");
    expect(existsSync(join(dir, "device-key.pem"))).toBe(false); // nothing was generated behind our back
  });

  test("a key without its certificate (crash between the two writes) gets a new certificate for the same key", async () => {
    const dir = tempDir();
    const first = await loadOrCreateIdentity({ dir, deviceId: "d" });
    unlinkSync(join(dir, "device-cert.pem"));
    const again = await loadOrCreateIdentity({ dir, deviceId: "d" });
    expect(again.warnings[0]).toContain("was missing");
    expect(again.thumbprint).not.toBe(first.thumbprint);
    const sig = await signBase("ecdsa-p256-sha256", first.key, "same key");
    expect(await verifyBase("ecdsa-p256-sha256", again.publicKey, "same key", sig)).toBe(true);
  });

  test("a corrupt key file is an error that does not quote the file's content", async () => {
    const dir = tempDir();
    const secret = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRETSECRET";
    writeFileSync(join(dir, "device-key.pem"), `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
    const issuer = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "x" });
    writeFileSync(join(dir, "device-cert.pem"), issuer.certificatePem);
    const err = await identityError(loadOrCreateIdentity({ dir, deviceId: "x" }));
    expect(err.message).toContain(join(dir, "device-key.pem"));
    expect(err.message).not.toContain("SECRET");
    expect(JSON.stringify(err.toJSON())).not.toContain("SECRET");
  });

  test("an encrypted private key is refused with a message saying so", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "device-key.pem"), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", { mode: 0o600 });
    writeFileSync(join(dir, "device-cert.pem"), (await loadOrCreateIdentity({ dir: tempDir(), deviceId: "x" })).certificatePem);
    const err = await identityError(loadOrCreateIdentity({ dir, deviceId: "x" }));
    expect(err.message).toContain("encrypted");
  });
});

describe("publicKeyFromCertificate and parseCertificate", () => {
  test("accepts PEM, base64 DER and base64 PEM alike", async () => {
    const id = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "forms" });
    const forms = [id.certificatePem, id.certificateDerBase64, Buffer.from(id.certificatePem).toString("base64")];
    const sig = await signBase(id.alg, id.key, "forms");
    for (const form of forms) {
      const { key, alg } = await publicKeyFromCertificate(form);
      expect(await verifyBase(alg, key, "forms", sig)).toBe(true);
    }
  });

  test("reads subject CN and validity", async () => {
    const id = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "device-ü-1" });
    const parsed = parseCertificate(Buffer.from(id.certificateDerBase64, "base64"));
    expect(parsed.subjectCommonName).toBe("device-ü-1");
    expect(parsed.notAfter.toISOString()).toBe("9999-12-31T23:59:59.000Z");
    expect(parsed.notBefore.getTime()).toBeLessThanOrEqual(Date.now());
  });

  test("garbage is rejected", async () => {
    expect(publicKeyFromCertificate("not a certificate")).rejects.toThrow();
    expect(publicKeyFromCertificate(encodePem("CERTIFICATE", Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)))).rejects.toThrow();
  });
});
