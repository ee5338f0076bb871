/**
 * Who gets in to an rc3 dev WFM, performed with real handshakes on loopback:
 * a client without a certificate, one from another CA, one of another WFM of
 * the same trust domain, and a retired one are refused with problem+json
 * not-authorized; the discovery document, the SPIFFE bundle and the page are
 * served without client authentication; the WFM's own certificate passes the
 * agent's checks (its SPIFFE ID, not its hostname).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import path from "node:path";
import { DevCa, clientTlsOptions, loadSvid, parseTrustBundle, writeSvidFiles } from "../../../src/trust/index.ts";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { assertValidRc3 } from "../../support/openapi.ts";
import { validateTrustApi } from "../trust/trust-openapi.ts";
import { writeFile } from "./helpers.ts";
import { anonymousFetch, clientWith, MANIFEST_TYPE, rc3Client, rc3Deployment, rc3Env, startRc3, type Rc3Client, type Rc3Env } from "./rc3-helpers.ts";

let env: Rc3Env;
let wfm: StartedDevWfm;
let client: Rc3Client;

beforeAll(async () => {
  env = rc3Env();
  writeFile(env.dir, "a.yaml", rc3Deployment("d1"));
  wfm = await startRc3(env);
  client = await rc3Client(wfm, env, "device-1");
});
afterAll(async () => {
  await wfm.stop();
  env.cleanup();
});

const NOT_AUTHORIZED = "https://docs.margo.org/specification/problem-types#not-authorized";
const manifestPath = "/api/v1/deployments";

async function expectNotAuthorized(res: Response, detail: RegExp): Promise<void> {
  expect(res.status).toBe(403);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { type: string; detail: string };
  assertValidRc3("ProblemDetail", body);
  expect(body.type).toBe(NOT_AUTHORIZED);
  expect(body.detail).toMatch(detail);
}

/** A client SVID from somewhere else, presented with the agent's TLS options (the WFM check skipped where its SPIFFE ID would refuse the dev WFM first). */
async function foreignClient(ca: DevCa, wfmId: string, name: string, skipWfmCheck: boolean): Promise<Rc3Client> {
  const files = await writeSvidFiles(path.join(env.root, "foreign", `${wfmId}-${name}`), ca.issueClientSvid(wfmId, name));
  const svid = await loadSvid(files);
  const tls = clientTlsOptions(svid, { anchorsPem: [wfm.rc3!.anchorPem] });
  return clientWith(wfm, svid, skipWfmCheck ? { ...tls, checkServerIdentity: () => undefined } : tls);
}

describe("refused: the Margo routes need a client SVID of this WFM", () => {
  test("a client of this WFM gets in, over TLS 1.3, and the WFM certificate passes the agent's SPIFFE ID check", async () => {
    const res = await client.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } });
    expect(res.status).toBe(200);
    expect(wfm.rc3!.seen().map((s) => [s.spiffeId, s.tlsVersion])).toEqual([[client.spiffeId, "TLSv1.3"]]);
    expect(wfm.rc3!.spiffeId).toBe("spiffe://margo-dev.local/margo/wfm/dev-wfm");
  });

  test("no client certificate", async () => {
    await expectNotAuthorized(await anonymousFetch(wfm, manifestPath, { headers: { Accept: MANIFEST_TYPE } }), /no client certificate presented/);
    await expectNotAuthorized(await anonymousFetch(wfm, "/api/v1/deployments/d1/status", { method: "POST", body: "{}" }), /no client certificate/);
    expect(wfm.reports()).toEqual([]);
  });

  test("a client SVID from another CA (same trust domain name, right form)", async () => {
    const rogue = await foreignClient(DevCa.create({ trustDomain: "margo-dev.local" }), "dev-wfm", "device-1", false);
    await expectNotAuthorized(await rogue.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } }), /does not chain to this WFM's trust anchors/);
  });

  test("another WFM's client, validly issued by the same CA", async () => {
    const ca = await DevCa.loadOrCreate(path.join(env.stateDir, "ca"), { trustDomain: "margo-dev.local" });
    const foreign = await foreignClient(ca, "other-wfm", "device-1", true);
    const res = await foreign.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } });
    expect(res.headers.get("connection")).toBe("close");
    await expectNotAuthorized(res, /spiffe:\/\/margo-dev.local\/margo\/wfm\/other-wfm\/client\/device-1 is not a client of spiffe:\/\/margo-dev.local\/margo\/wfm\/dev-wfm/);
    expect(wfm.rc3!.refused()[0]).toMatchObject({ spiffeId: "spiffe://margo-dev.local/margo/wfm/other-wfm/client/device-1" });
  });

  test("a retired client gets not-authorized until it is reinstated (through the development API)", async () => {
    const retire = await anonymousFetch(wfm, "/api/dev/clients/device-1/retire", { method: "POST" });
    expect(await retire.json()).toEqual({ spiffeId: client.spiffeId, retired: true });
    await expectNotAuthorized(await client.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } }), /has been retired/);
    await anonymousFetch(wfm, "/api/dev/clients/device-1/reinstate", { method: "POST" });
    expect((await client.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } })).status).toBe(200);
  });
});

describe("served without client authentication, on the same port", () => {
  test("GET /.well-known/margo: the discovery document (trust-bundle OpenAPI), with ETag and 304", async () => {
    const res = await anonymousFetch(wfm, "/.well-known/margo");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { trustDomain: string; trustBundleUri: string };
    expect(validateTrustApi("DiscoveryDocument", doc)).toEqual({ valid: true, errors: "" });
    expect(doc).toEqual({ trustDomain: "margo-dev.local", trustBundleUri: `${wfm.url}/.well-known/spiffe/bundle.json` });
    expect((await anonymousFetch(wfm, "/.well-known/margo", { headers: { "If-None-Match": res.headers.get("etag")! } })).status).toBe(304);
  });

  test("the SPIFFE bundle: sequence, refresh hint, the CA as its one x509-svid anchor, which verifies the WFM", async () => {
    const doc = (await (await anonymousFetch(wfm, "/.well-known/margo")).json()) as { trustBundleUri: string };
    const res = await fetch(doc.trustBundleUri, { tls: { ca: [wfm.rc3!.anchorPem] } } as RequestInit);
    expect(res.status).toBe(200);
    const text = await res.text();
    const json = JSON.parse(text) as { spiffe_sequence: number; spiffe_refresh_hint: number; keys: Array<{ use: string; x5c: string[] }> };
    expect(validateTrustApi("SpiffeBundle", json)).toEqual({ valid: true, errors: "" });
    expect(json.spiffe_sequence).toBe(1);
    expect(json.spiffe_refresh_hint).toBe(300);
    const bundle = parseTrustBundle(text, doc.trustBundleUri);
    expect(bundle.sequence).toBe(1n);
    expect(bundle.anchorsPem).toEqual([wfm.rc3!.anchorPem]);
    // The agent validates the WFM with exactly that bundle.
    const viaBundle = clientWith(wfm, client.svid, clientTlsOptions(client.svid, bundle));
    expect((await viaBundle.fetch(manifestPath, { headers: { Accept: MANIFEST_TYPE } })).status).toBe(200);
    expect((await fetch(doc.trustBundleUri, { headers: { "If-None-Match": res.headers.get("etag")! }, tls: { ca: [wfm.rc3!.anchorPem] } } as RequestInit)).status).toBe(304);
  });

  test("the page lists clients by SPIFFE ID and the refused connections", async () => {
    const res = await anonymousFetch(wfm, "/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Profile <b>rc3</b>");
    expect(html).toContain(`<code>${client.spiffeId}</code>`);
    expect(html).toContain("spiffe://margo-dev.local/margo/wfm/other-wfm/client/device-1");
    expect(html).toContain("does not chain to this WFM&#39;s trust anchors");
    const clients = (await (await anonymousFetch(wfm, "/api/dev/clients")).json()) as Array<{ spiffeId: string; issued: unknown; seen: unknown; retired: boolean }>;
    expect(clients.map((c) => [c.spiffeId, c.issued !== null, c.seen !== null, c.retired])).toEqual([[client.spiffeId, true, true, false]]);
  });
});
