import { afterAll, describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DevCa, parseTrustBundle } from "../../../src/trust/index.ts";
import { x509Facts } from "../../../src/trust/x509-facts.ts";
import { issueCertificate } from "../../../src/trust/x509-issue.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const certs = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p));

describe("development CA (our own DER encoder, checked by OpenSSL's parser)", () => {
  const ca = DevCa.create({ trustDomain: "dev.margo.test" });

  test("root → intermediate → WFM server SVID with the WFM ID, localhost and 127.0.0.1", () => {
    const wfm = ca.issueWfmSvid("wfm-dev");
    const [leaf, intermediate] = certs(wfm.chainPem) as [X509Certificate, X509Certificate];
    const root = ca.anchor;
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(intermediate.ca).toBe(true);
    expect(intermediate.verify(root.publicKey) && intermediate.checkIssued(root)).toBe(true);
    expect(leaf.verify(intermediate.publicKey) && leaf.checkIssued(intermediate)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subjectAltName).toBe("URI:spiffe://dev.margo.test/margo/wfm/wfm-dev, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkPrivateKey(createPrivateKey(wfm.key.reveal()))).toBe(true);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    // SPIFFE X.509-SVID §4: leaf digitalSignature only, serverAuth and clientAuth.
    expect(x509Facts(new Uint8Array(leaf.raw))).toMatchObject({
      isCa: false,
      keyUsage: { digitalSignature: true, keyCertSign: false, cRLSign: false },
      extKeyUsage: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
    });
    expect(x509Facts(new Uint8Array(root.raw))).toMatchObject({ isCa: true, uris: ["spiffe://dev.margo.test"], keyUsage: { keyCertSign: true, cRLSign: true } });
  });

  test("client SVIDs carry the client form; without an intermediate the root signs directly", () => {
    const flat = DevCa.create({ trustDomain: "flat.test", intermediate: false });
    const client = flat.issueClientSvid("w", "device-1");
    const chain = certs(client.chainPem);
    expect(chain).toHaveLength(1);
    expect(chain[0]!.subjectAltName).toBe("URI:spiffe://flat.test/margo/wfm/w/client/device-1");
    expect(chain[0]!.verify(flat.anchor.publicKey)).toBe(true);
    expect(() => flat.issueClientSvid("w", "bad/id")).toThrow(/may hold only/);
  });

  test("openssl verify accepts the chain (an independent implementation)", async () => {
    const openssl = Bun.which("openssl");
    if (openssl === null) {
      console.log("skipped: no openssl on this machine (the X509Certificate checks above still ran)");
      return;
    }
    const dir = tempDir();
    const client = ca.issueClientSvid("wfm-dev", "device-1");
    const [leaf, intermediate] = certs(client.chainPem) as [X509Certificate, X509Certificate];
    writeFileSync(join(dir, "root.pem"), ca.anchorPem);
    writeFileSync(join(dir, "inter.pem"), intermediate.toString());
    writeFileSync(join(dir, "leaf.pem"), leaf.toString());
    const proc = Bun.spawnSync([openssl, "verify", "-purpose", "sslclient", "-CAfile", join(dir, "root.pem"), "-untrusted", join(dir, "inter.pem"), join(dir, "leaf.pem")]);
    expect(proc.stdout.toString().trim()).toBe(`${join(dir, "leaf.pem")}: OK`);
    expect(proc.exitCode).toBe(0);
  });

  test("the SPIFFE bundle has one x509-svid JWK per anchor (no kid, one x5c) and parses back", () => {
    const json = ca.spiffeBundle({ sequence: 3, refreshHintSeconds: 600 });
    expect(json).toMatchObject({ spiffe_sequence: 3, spiffe_refresh_hint: 600 });
    const keys = json.keys as Record<string, unknown>[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", use: "x509-svid" });
    expect(keys[0]).not.toHaveProperty("kid");
    expect(keys[0]!.x5c).toEqual([Buffer.from(ca.anchor.raw).toString("base64")]);
    const bundle = parseTrustBundle(JSON.stringify(json), "test");
    expect(bundle.anchors.map((a) => a.fingerprint256)).toEqual([ca.anchor.fingerprint256]);
    expect(bundle.sequence).toBe(3n);
  });

  test("persisted in a directory: keys 0600, the same CA on the next start, another trust domain refused", async () => {
    const dir = join(tempDir(), "ca");
    const first = await DevCa.loadOrCreate(dir, { trustDomain: "persist.test" });
    expect(statSync(join(dir, "ca-key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "intermediate-key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const again = await DevCa.loadOrCreate(dir, { trustDomain: "persist.test" });
    expect(again.anchor.fingerprint256).toBe(first.anchor.fingerprint256);
    const leaf = certs(again.issueClientSvid("w", "c").chainPem)[1]!;
    expect(leaf.verify(first.anchor.publicKey)).toBe(true);
    await expect(DevCa.loadOrCreate(dir, { trustDomain: "other.test" })).rejects.toThrow(/is for trust domain persist.test, not other.test/);
  });
});

describe("reading SANs from DER, not from a display string", () => {
  const now = Date.now();
  const window = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000) };
  const root = issueCertificate({ commonName: "r", ca: true, ...window });

  test("a URI SAN that spells out a second SAN is one URI, and not a valid SPIFFE ID", () => {
    const crafted = "spiffe://td/margo/wfm/evil, URI:spiffe://td/margo/wfm/w1";
    const leaf = issueCertificate({ commonName: "x", ca: false, uris: [crafted], ...window }, root);
    const facts = x509Facts(leaf.der);
    expect(facts.uris).toEqual([crafted]);
  });

  test("IP and DNS SANs are read by type", () => {
    const leaf = issueCertificate({ commonName: "x", ca: false, uris: ["spiffe://td/a"], dnsNames: ["a.example"], ips: ["10.1.2.3", "fe80::1"], ...window }, root);
    expect(x509Facts(leaf.der)).toMatchObject({ uris: ["spiffe://td/a"], dnsNames: ["a.example"], ips: ["10.1.2.3", "fe80:0:0:0:0:0:0:1"] });
  });
});
