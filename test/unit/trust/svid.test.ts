import { afterAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePem } from "../../../src/identity/pem.ts";
import { DevCa, loadSvid, svidExpiry, writeSvidFiles, type SvidMaterial } from "../../../src/trust/index.ts";
import { issueCertificate } from "../../../src/trust/x509-issue.ts";
import { captureLog, removeTempDirs, tempDir } from "./helpers.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

afterAll(removeTempDirs);

const ca = DevCa.create({ trustDomain: "factory.example" });
const DAY = 24 * 3600_000;

async function files(svid: SvidMaterial): Promise<{ certFile: string; keyFile: string }> {
  return writeSvidFiles(tempDir(), svid);
}

const refusal = (p: Promise<unknown>) => agentErrorOf(p, "IDENTITY_INVALID");

describe("loading the client SVID", () => {
  test("a client SVID with its intermediate loads: SPIFFE ID, expected WFM, chain in path order", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42"));
    const svid = await loadSvid(f);
    expect(svid.spiffeId.id).toBe("spiffe://factory.example/margo/wfm/wfm-1/client/device-42");
    expect(svid.wfm.id).toBe("spiffe://factory.example/margo/wfm/wfm-1");
    expect(svid.intermediates).toHaveLength(1);
    expect(svid.intermediates[0]!.ca).toBe(true);
    const presented = svid.chainPem.match(/-----BEGIN CERTIFICATE-----/g);
    expect(presented).toHaveLength(2);
    expect(new X509Certificate(svid.chainPem).fingerprint256).toBe(svid.leaf.fingerprint256); // leaf first
    expect(svid.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  test("the key never shows in JSON, string form or a log line", async () => {
    const material = ca.issueClientSvid("wfm-1", "device-42");
    const svid = await loadSvid(await files(material));
    const keyBody = material.key.reveal().split("\n")[1]!;
    const { log, text } = captureLog();
    log.info({ svid, key: svid.key }, "loaded");
    expect(JSON.stringify(svid)).not.toContain(keyBody);
    expect(String(svid.key)).toBe("[redacted]");
    expect(Bun.inspect(svid)).not.toContain(keyBody);
    expect(text()).not.toContain(keyBody);
    expect(text()).toContain("[redacted]");
  });

  test("a key file readable by group or others is refused, naming the file and the fix", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42"));
    chmodSync(f.keyFile, 0o640);
    const err = await refusal(loadSvid(f));
    expect(err.message).toContain(f.keyFile);
    expect(err.message).toMatch(/mode 0640; it must be readable by its owner only \(chmod 600/);
    expect(err.details.file).toBe(f.keyFile);
    chmodSync(f.keyFile, 0o400); // stricter than 0600 is fine
    expect((await loadSvid(f)).spiffeId.clientId).toBe("device-42");
  });

  test("an SVID with two URI SANs is refused at load with a clear message", async () => {
    const f = await files(
      ca.issueClientSvid("wfm-1", "device-42", {
        uris: ["spiffe://factory.example/margo/wfm/wfm-1/client/device-42", "spiffe://factory.example/margo/wfm/wfm-1/client/other"],
      }),
    );
    const err = await refusal(loadSvid(f));
    expect(err.message).toContain(f.certFile);
    expect(err.message).toMatch(/has 2 URI SANs .*; an X\.509-SVID has exactly one/);
  });

  test("an SVID with no URI SAN is refused", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42", { uris: [], dnsNames: ["device-42.local"] }));
    expect((await refusal(loadSvid(f))).message).toMatch(/has no URI SAN/);
  });

  test("a WFM-form SPIFFE ID is refused as the client's identity", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42", { uris: ["spiffe://factory.example/margo/wfm/wfm-1"] }));
    const err = await refusal(loadSvid(f));
    expect(err.message).toContain(f.certFile);
    expect(err.message).toMatch(/is a WFM's ID, not a client's: expected spiffe:\/\/<trust-domain>\/margo\/wfm\/<wfm-id>\/client\/<client-id>/);
  });

  test("a non-Margo SPIFFE ID and a non-SPIFFE URI are refused", async () => {
    const other = await files(ca.issueClientSvid("wfm-1", "d", { uris: ["spiffe://factory.example/ns/prod/sa/web"] }));
    expect((await refusal(loadSvid(other))).message).toMatch(/not of the Margo client form/);
    const https = await files(ca.issueClientSvid("wfm-1", "d", { uris: ["https://factory.example/device"] }));
    expect((await refusal(loadSvid(https))).message).toMatch(/must start with "spiffe:\/\/"/);
  });

  test("a CA certificate as the leaf is refused", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42", { ca: true }));
    expect((await refusal(loadSvid(f))).message).toMatch(/is a CA certificate/);
  });

  test("a key that is not the leaf's is refused, naming the key file", async () => {
    const a = await files(ca.issueClientSvid("wfm-1", "device-42"));
    const b = await files(ca.issueClientSvid("wfm-1", "device-42"));
    const err = await refusal(loadSvid({ certFile: a.certFile, keyFile: b.keyFile }));
    expect(err.message).toBe(
      `private key ${b.keyFile} does not belong to the first certificate in ${a.certFile} (spiffe://factory.example/margo/wfm/wfm-1/client/device-42)`,
    );
  });

  test("an expired SVID, and one not valid yet, are refused with the dates", async () => {
    const now = Date.now();
    const expired = await files(ca.issueClientSvid("wfm-1", "d", { now: now - 10 * DAY, validityMs: DAY }));
    expect((await refusal(loadSvid(expired))).message).toMatch(/expired on \d{4}-/);
    const future = await files(ca.issueClientSvid("wfm-1", "d", { now: now + DAY }));
    expect((await refusal(loadSvid(future))).message).toMatch(/is not valid before .* \(device clock: /);
  });

  test("a half-written certificate file is refused, not half-used", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42"));
    const full = readFileSync(f.certFile, "utf8");
    writeFileSync(f.certFile, full.slice(0, Math.floor(full.length / 3)));
    expect((await refusal(loadSvid(f))).message).toBe(`certificate file ${f.certFile} ends inside a PEM block (still being written?)`);
    // Cut inside the intermediate: the leaf alone would look like a valid, shorter chain.
    writeFileSync(f.certFile, full.slice(0, full.length - 40));
    expect((await refusal(loadSvid(f))).message).toMatch(/ends inside a PEM block/);
    writeFileSync(f.certFile, "");
    expect((await refusal(loadSvid(f))).message).toMatch(/holds no CERTIFICATE block/);
  });

  test("an encrypted key is refused with the reason", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42"));
    writeFileSync(f.keyFile, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n", { mode: 0o600 });
    expect((await refusal(loadSvid(f))).message).toMatch(/is encrypted; provision it unencrypted/);
  });

  test("intermediates in the wrong order are put in path order; a stray certificate is refused", async () => {
    const now = Date.now();
    const window = { notBefore: new Date(now - 60_000), notAfter: new Date(now + DAY) };
    const root = issueCertificate({ commonName: "root", ca: true, ...window });
    const i1 = issueCertificate({ commonName: "i1", ca: true, ...window }, root);
    const i2 = issueCertificate({ commonName: "i2", ca: true, ...window }, i1);
    const leaf = issueCertificate({ commonName: "leaf", ca: false, uris: ["spiffe://td/margo/wfm/w/client/c"], ...window }, i2);
    const dir = tempDir();
    const certFile = join(dir, "svid.pem");
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, leaf.key.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(certFile, [leaf, i1, i2].map((c) => encodePem("CERTIFICATE", c.der)).join(""));
    const svid = await loadSvid({ certFile, keyFile });
    expect(svid.intermediates.map((c) => c.subject)).toEqual(["CN=i2", "CN=i1"]);

    const stray = issueCertificate({ commonName: "stray", ca: true, ...window });
    writeFileSync(certFile, [leaf, i2, i1, stray].map((c) => encodePem("CERTIFICATE", c.der)).join(""));
    expect((await refusal(loadSvid({ certFile, keyFile }))).message).toMatch(/CN=stray .* is not part of the chain/);
  });

  test("a key stored in a world-readable certificate file is refused", async () => {
    const material = ca.issueClientSvid("wfm-1", "device-42");
    const f = await files(material);
    writeFileSync(f.certFile, material.chainPem + material.key.reveal(), { mode: 0o644 });
    chmodSync(f.certFile, 0o644);
    expect((await refusal(loadSvid(f))).message).toMatch(/certificate file holding a private key .* has mode 0644/);
  });

  test("a missing file is named", async () => {
    const f = await files(ca.issueClientSvid("wfm-1", "device-42"));
    const err = await refusal(loadSvid({ certFile: `${f.certFile}.nope`, keyFile: f.keyFile }));
    expect(err.message).toContain(`${f.certFile}.nope`);
    expect(err.message).toContain("ENOENT");
  });
});

describe("expires soon", () => {
  const at = (iso: string) => new Date(iso);

  test("a 90-day SVID warns 7 days ahead, then reports expired", () => {
    const v = { notBefore: at("2030-01-01T00:00:00Z"), notAfter: at("2030-04-01T00:00:00Z") };
    expect(svidExpiry(v, Date.parse("2030-03-24T23:59:59Z")).state).toBe("valid");
    const warn = svidExpiry(v, Date.parse("2030-03-25T00:00:00Z"));
    expect(warn).toMatchObject({ state: "expiring", warnFrom: at("2030-03-25T00:00:00Z"), remainingMs: 7 * DAY });
    expect(svidExpiry(v, Date.parse("2030-04-01T00:00:00Z")).state).toBe("expired");
  });

  test("a short-lived SVID warns only in its last third", () => {
    const v = { notBefore: at("2030-01-01T00:00:00Z"), notAfter: at("2030-01-01T03:00:00Z") };
    expect(svidExpiry(v, Date.parse("2030-01-01T01:59:59Z")).state).toBe("valid");
    expect(svidExpiry(v, Date.parse("2030-01-01T02:00:00Z")).state).toBe("expiring");
  });

  test("the lead time is configurable", () => {
    const v = { notBefore: at("2030-01-01T00:00:00Z"), notAfter: at("2030-04-01T00:00:00Z") };
    expect(svidExpiry(v, Date.parse("2030-03-20T00:00:00Z"), 14 * DAY).state).toBe("expiring");
  });
});
