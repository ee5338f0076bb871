/**
 * rc3 mutual TLS on loopback, both sides real: serveMtls as the WFM, Bun's
 * fetch with clientTlsOptions as the agent. Every refusal here is performed
 * by presenting the offending certificate in a real handshake.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createServer as createTlsServer } from "node:tls";
import { createServer as createHttpServer } from "node:http";
import { AgentError } from "../../../src/errors/index.ts";
import { clientTlsOptions, loadSvid, serveMtls, wfmSpiffeId, writeSvidFiles, type Svid, type SvidMaterial } from "../../../src/trust/index.ts";
import { removeTempDirs, tempDir } from "../../unit/trust/helpers.ts";
import { agentFetch, countingTls, DevCa, rejection, startWfm, TD, type TestWfm } from "./support.ts";

const ca = DevCa.create({ trustDomain: TD });
const rogue = DevCa.create({ trustDomain: TD }); // same trust domain name, other keys: chains to no anchor we hold
let wfm: TestWfm | undefined;

afterEach(async () => {
  await wfm?.server.stop();
  wfm = undefined;
});
afterAll(removeTempDirs);

async function svidOf(material: SvidMaterial): Promise<Svid> {
  return loadSvid(await writeSvidFiles(tempDir(), material));
}

const agent = await svidOf(ca.issueClientSvid("wfm-1", "device-42"));

describe("the WFM side (serveMtls) refuses who is not its client", () => {
  test("a client of this WFM gets through, and the handler learns its SPIFFE ID from the certificate", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const res = await agentFetch(`${wfm.url}/api/v1/deployments`, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      path: "/api/v1/deployments",
      client: "spiffe://factory.example/margo/wfm/wfm-1/client/device-42",
      fingerprint: agent.fingerprint,
      tls: "TLSv1.3",
      body: null,
    });
    expect(wfm.refused).toEqual([]);
  });

  test("no client certificate: the handshake fails, the handler never runs", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const tls = clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] });
    const err = await rejection(fetch(`${wfm.url}/api/v1/deployments`, { tls: { ca: tls.ca, checkServerIdentity: tls.checkServerIdentity } } as RequestInit));
    expect(err.code).toBeOneOf(["EPROTO", "ECONNRESET"]);
    expect(wfm.handled).toBe(0);
    expect(wfm.refused[0]?.reason).toMatch(/PEER_DID_NOT_RETURN_A_CERTIFICATE/);
  });

  test("a client SVID from an untrusted CA (right form, same trust domain name): refused in the handshake", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const impostor = await svidOf(rogue.issueClientSvid("wfm-1", "device-42"));
    const err = await rejection(agentFetch(`${wfm.url}/api/v1/deployments`, clientTlsOptions(impostor, { anchorsPem: [ca.anchorPem] })));
    expect(err.code).toBeOneOf(["EPROTO", "ECONNRESET"]);
    expect(wfm.handled).toBe(0);
    expect(wfm.refused).toHaveLength(1);
  });

  test("another WFM's client SVID, validly issued in the trust domain: 403 not-authorized, the handler never runs", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const foreign = await svidOf(ca.issueClientSvid("wfm-2", "device-42"));
    // The agent of wfm-2 would refuse wfm-1's certificate itself; skip that check to reach the WFM's.
    const tls = { ...clientTlsOptions(foreign, { anchorsPem: [ca.anchorPem] }), checkServerIdentity: () => undefined };
    const res = await agentFetch(`${wfm.url}/api/v1/deployments`, tls);
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("connection")).toBe("close");
    expect(await res.json()).toMatchObject({
      type: "https://docs.margo.org/specification/problem-types#not-authorized",
      status: 403,
      detail: "spiffe://factory.example/margo/wfm/wfm-2/client/device-42 is not a client of spiffe://factory.example/margo/wfm/wfm-1 (trust domain and wfm-id must be this WFM's)",
    });
    expect(wfm.handled).toBe(0);
    expect(wfm.refused[0]).toMatchObject({ spiffeId: "spiffe://factory.example/margo/wfm/wfm-2/client/device-42" });
  });

  test("a WFM SVID presented as a client certificate, and a client certificate with two URI SANs: 403", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    for (const material of [
      ca.issueWfmSvid("wfm-1"),
      ca.issueClientSvid("wfm-1", "a", { uris: ["spiffe://factory.example/margo/wfm/wfm-1/client/a", "spiffe://factory.example/margo/wfm/wfm-1/client/b"] }),
    ]) {
      const res = await agentFetch(`${wfm.url}/x`, { cert: material.chainPem, key: material.key.reveal(), ca: [ca.anchorPem], rejectUnauthorized: true, minVersion: 0x0303, checkServerIdentity: () => undefined });
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    expect(wfm.refused.map((r) => r.reason)).toEqual([
      expect.stringContaining("is a WFM's ID, not a client's"),
      expect.stringContaining("has 2 URI SANs"),
    ]);
    expect(wfm.handled).toBe(0);
  });
});

describe("public paths beside mTLS (the dev WFM's discovery and bundle on its own port)", () => {
  test("without a client certificate only the public paths answer; everything else is 403 and reaches no handler", async () => {
    const svid = ca.issueWfmSvid("wfm-1");
    let handled = 0;
    const refused: string[] = [];
    const server = await serveMtls(
      () => {
        handled++;
        return new Response("private");
      },
      {
        hostname: "127.0.0.1",
        port: 0,
        wfm: wfmSpiffeId(TD, "wfm-1"),
        material: { chainPem: svid.chainPem, key: svid.key, anchorsPem: [ca.anchorPem] },
        anonymous: { paths: ["/.well-known/margo"], handler: () => Response.json({ trustDomain: TD, trustBundleUri: "https://x/b" }) },
        onRefused: (c) => refused.push(c.reason),
      },
    );
    try {
      const anon = { tls: { ca: [ca.anchorPem] } } as RequestInit;
      expect(await (await fetch(`${server.url}/.well-known/margo`, anon)).json()).toMatchObject({ trustDomain: TD });
      expect(refused).toEqual([]);
      const denied = await fetch(`${server.url}/api/v1/deployments`, anon);
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { detail: string }).detail).toMatch(/client certificate not verified/);
      const impostor = await svidOf(rogue.issueClientSvid("wfm-1", "device-42"));
      const untrusted = await agentFetch(`${server.url}/api/v1/deployments`, clientTlsOptions(impostor, { anchorsPem: [ca.anchorPem] }));
      expect(untrusted.status).toBe(403);
      await untrusted.body?.cancel();
      expect(handled).toBe(0);
      const ok = await agentFetch(`${server.url}/api/v1/deployments`, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] }));
      expect(await ok.text()).toBe("private");
      expect(handled).toBe(1);
      expect(refused).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });
});

describe("the WFM rotates its own SVID", () => {
  test("setMaterial: new connections get the new certificate, the agent still accepts it", async () => {
    const before = ca.issueWfmSvid("wfm-1");
    wfm = await startWfm({ svid: before, anchorsPem: [ca.anchorPem] });
    const seen: string[] = [];
    const tls = clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] });
    const check = tls.checkServerIdentity;
    tls.checkServerIdentity = (host, cert) => (seen.push(Buffer.from(cert.raw!).toString("base64")), check(host, cert));
    await (await agentFetch(`${wfm.url}/`, tls)).text();
    const after = ca.issueWfmSvid("wfm-1");
    wfm.server.setMaterial({ chainPem: after.chainPem, key: after.key, anchorsPem: [ca.anchorPem] });
    await (await agentFetch(`${wfm.url}/`, tls)).text();
    expect(seen).toEqual([Buffer.from(before.leaf.raw).toString("base64"), Buffer.from(after.leaf.raw).toString("base64")]);
  });
});

describe("the agent side (clientTlsOptions) refuses a WFM that is not the one its SVID names", () => {
  test("a WFM certificate with another wfm-id is refused with WFM_IDENTITY_MISMATCH, even though its hostname matches", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-2"), anchorsPem: [ca.anchorPem], wfmId: "wfm-2" });
    const err = await rejection(agentFetch(`${wfm.url}/api/v1/deployments`, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] })));
    expect(err).toBeInstanceOf(AgentError);
    expect(err.code).toBe("WFM_IDENTITY_MISMATCH");
    expect(err.message).toBe("the WFM at 127.0.0.1 is not spiffe://factory.example/margo/wfm/wfm-1: its certificate names spiffe://factory.example/margo/wfm/wfm-2");
    expect(wfm.handled).toBe(0);
  });

  test("a WFM certificate that chains to no anchor is refused by the chain check, before the identity check runs", async () => {
    wfm = await startWfm({ svid: rogue.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const { tls, calls } = countingTls(agent, [ca.anchorPem]);
    const err = await rejection(agentFetch(`${wfm.url}/api/v1/deployments`, tls));
    expect(err.code).toBeOneOf(["UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"]);
    expect(calls()).toBe(0); // checkServerIdentity does not replace chain validation against `ca`
    expect(wfm.handled).toBe(0);
  });

  test("the system trust store is not consulted: only the bundle's anchors vouch for a WFM", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1"), anchorsPem: [ca.anchorPem] });
    const otherBundle = DevCa.create({ trustDomain: TD }).anchorPem;
    const err = await rejection(agentFetch(`${wfm.url}/`, clientTlsOptions(agent, { anchorsPem: [otherBundle] })));
    expect(err.code).not.toBe("WFM_IDENTITY_MISMATCH");
    expect(wfm.handled).toBe(0);
  });

  test("the SPIFFE ID decides, not the hostname: a WFM certificate without any DNS or IP name is accepted at 127.0.0.1", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1", { dnsNames: [], ips: [] }), anchorsPem: [ca.anchorPem] });
    const { tls, calls } = countingTls(agent, [ca.anchorPem]);
    const res = await agentFetch(`${wfm.url}/ok`, tls);
    expect(res.status).toBe(200);
    expect(calls()).toBe(1);
  });

  test("a WFM certificate with two URI SANs (the right one among them) or none is refused", async () => {
    for (const uris of [["spiffe://factory.example/margo/wfm/wfm-1", "spiffe://factory.example/margo/wfm/wfm-2"], []]) {
      wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1", { uris }), anchorsPem: [ca.anchorPem] });
      const err = await rejection(agentFetch(`${wfm.url}/`, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] })));
      expect(err.code).toBe("WFM_IDENTITY_MISMATCH");
      expect(err.message).toMatch(uris.length ? /has 2 URI SANs/ : /has no URI SAN/);
      await wfm.server.stop();
      wfm = undefined;
    }
  });

  test("an expired WFM certificate is refused", async () => {
    wfm = await startWfm({ svid: ca.issueWfmSvid("wfm-1", { now: Date.now() - 10 * 86_400_000, validityMs: 86_400_000 }), anchorsPem: [ca.anchorPem] });
    const err = await rejection(agentFetch(`${wfm.url}/`, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] })));
    expect(err.code).toBe("CERT_HAS_EXPIRED");
  });
});

describe("TLS versions: 1.3 by default, 1.2 as fallback, nothing older", () => {
  async function versionCapped(maxVersion: "TLSv1.2" | "TLSv1.1") {
    const svid = ca.issueWfmSvid("wfm-1");
    const http = createHttpServer((req, res) => res.end(String((req.socket as unknown as { getProtocol(): string }).getProtocol())));
    const tls = createTlsServer(
      { cert: svid.chainPem, key: svid.key.reveal(), ca: [ca.anchorPem], requestCert: true, rejectUnauthorized: true, maxVersion, minVersion: "TLSv1" },
      (socket) => http.emit("connection", socket),
    );
    await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
    const port = (tls.address() as { port: number }).port;
    return { url: `https://127.0.0.1:${port}/`, close: () => new Promise<void>((resolve) => tls.close(() => resolve())), tls };
  }

  test("a WFM that only speaks TLS 1.2 is reached; with minTlsVersion 1.3 it is not", async () => {
    const server = await versionCapped("TLSv1.2");
    const sockets: { destroy(): void }[] = [];
    server.tls.on("secureConnection", (s) => sockets.push(s));
    try {
      const res = await agentFetch(server.url, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] }));
      expect(await res.text()).toBe("TLSv1.2");
      const err = await rejection(agentFetch(server.url, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] }, { minTlsVersion: "1.3" })));
      expect(err.code).toBeOneOf(["EPROTO", "ECONNRESET"]);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  test("a WFM capped at TLS 1.1 is refused", async () => {
    const server = await versionCapped("TLSv1.1");
    try {
      const err = await rejection(agentFetch(server.url, clientTlsOptions(agent, { anchorsPem: [ca.anchorPem] })));
      expect(err.code).toBeOneOf(["EPROTO", "ECONNRESET"]);
    } finally {
      await server.close();
    }
  });
});
