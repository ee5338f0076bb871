import { describe, expect, test } from "bun:test";
import { AgentError } from "../../../src/errors/index.ts";
import {
  base64ToBytes,
  importParamsFor,
  parseDictionary,
  signRequest,
  verifyRequest,
  type KeyResolver,
  type SignatureAlgorithm,
  type VerifiableRequest,
} from "../../../src/http-signatures/index.ts";

const NOW = 1_750_000_000;
const URL_ = "https://wfm.example.com/api/v1/clients/c-1/deployments/d-1/status";
const BODY = new TextEncoder().encode('{"apiVersion":"deployment.margo.org/v1alpha1","kind":"DeploymentStatusManifest"}');

async function keyPair(alg: SignatureAlgorithm): Promise<CryptoKeyPair> {
  const params = importParamsFor(alg) as { name: string; namedCurve?: string; hash?: string };
  const gen = params.name.startsWith("RSA")
    ? { ...params, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }
    : params;
  return (await crypto.subtle.generateKey(gen as Parameters<typeof crypto.subtle.generateKey>[0], false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

function resolverFor(keyId: string, key: CryptoKey, alg: SignatureAlgorithm): KeyResolver {
  return async (id) => (id === keyId ? { key, alg } : null);
}

/** A signed POST as the device would send it, as plain parts the tests can tamper with. */
async function signedPost(pair: CryptoKeyPair, alg: SignatureAlgorithm = "ecdsa-p256-sha256"): Promise<VerifiableRequest> {
  const headers = new Headers({ "content-type": "application/json" });
  const out = await signRequest(
    { method: "POST", url: URL_, headers, body: BODY },
    { keyId: "c-1", alg, key: pair.privateKey },
    { created: NOW },
  );
  headers.set("content-digest", out["content-digest"]!);
  headers.set("signature-input", out["signature-input"]);
  headers.set("signature", out.signature);
  return { method: "POST", url: URL_, headers, body: BODY };
}

describe("signRequest", () => {
  test("a body is covered through Content-Digest, in docs/protocol.md's exact form", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const headers = new Headers();
    const out = await signRequest(
      { method: "POST", url: URL_, headers, body: BODY },
      { keyId: "c-1", alg: "ecdsa-p256-sha256", key: pair.privateKey },
      { created: NOW },
    );
    expect(out["signature-input"]).toBe(`sig1=("@method" "@target-uri" "content-digest");created=${NOW};keyid="c-1"`);
    expect(out["content-digest"]).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    expect(out.signature).toMatch(/^sig1=:[A-Za-z0-9+/]+=*:$/);
    // Raw r‖s, not DER: exactly 64 bytes for P-256.
    const sig = parseDictionary(out.signature).get("sig1");
    expect(sig?.kind === "item" && sig.value.type === "bytes" ? sig.value.value.length : 0).toBe(64);
    expect(headers.has("content-digest")).toBe(false); // the caller's headers are untouched
  });

  test("a request without a body covers method and target URI only", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const out = await signRequest(
      { method: "GET", url: "https://wfm.example.com/api/v1/clients/c-1/deployments", headers: new Headers() },
      { keyId: "thumb", alg: "ecdsa-p256-sha256", key: pair.privateKey },
      { created: NOW },
    );
    expect(out["signature-input"]).toBe(`sig1=("@method" "@target-uri");created=${NOW};keyid="thumb"`);
    expect(out["content-digest"]).toBeUndefined();
  });

  test("optional parameters come in the order created, expires, keyid, alg, nonce, tag", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const out = await signRequest(
      { method: "GET", url: URL_, headers: new Headers() },
      { keyId: "k", alg: "ecdsa-p256-sha256", key: pair.privateKey },
      { label: "dev", created: 10, expires: 70, includeAlg: true, nonce: "n-1", tag: "margo" },
    );
    expect(out["signature-input"]).toBe(
      'dev=("@method" "@target-uri");created=10;expires=70;keyid="k";alg="ecdsa-p256-sha256";nonce="n-1";tag="margo"',
    );
  });

  test("a key that does not fit the algorithm, or a missing covered header, is an AgentError", async () => {
    const p384 = await keyPair("ecdsa-p384-sha384");
    const signer = { keyId: "k", alg: "ecdsa-p256-sha256" as const, key: p384.privateKey };
    const req = { method: "GET", url: URL_, headers: new Headers() };
    expect(signRequest(req, signer)).rejects.toBeInstanceOf(AgentError);
    const p256 = await keyPair("ecdsa-p256-sha256");
    const missing = signRequest(req, { ...signer, key: p256.privateKey }, { components: ["@method", "x-missing"] });
    expect(missing).rejects.toThrow(/x-missing/);
  });
});

describe("verifyRequest", () => {
  const algs: SignatureAlgorithm[] = [
    "ecdsa-p256-sha256",
    "ecdsa-p384-sha384",
    "rsa-v1_5-sha256",
    "rsa-pss-sha256",
    "rsa-pss-sha512",
    "ed25519",
  ];
  for (const alg of algs) {
    test(`round trip with ${alg}`, async () => {
      const pair = await keyPair(alg);
      const req = await signedPost(pair, alg);
      expect(await verifyRequest(req, resolverFor("c-1", pair.publicKey, alg), { now: NOW })).toEqual({
        ok: true,
        keyId: "c-1",
        created: NOW,
      });
    }, 20_000);
  }

  test("a real Request object verifies, and its body stays readable", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const parts = await signedPost(pair);
    const request = new Request(URL_, { method: "POST", headers: parts.headers, body: BODY });
    const result = await verifyRequest(request, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
    expect(result.ok).toBe(true);
    expect(new Uint8Array(await request.arrayBuffer())).toEqual(BODY);
  });

  describe("tampering", () => {
    test("changed method → 401", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      const r = await verifyRequest({ ...req, method: "PUT" }, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
      expect(r).toMatchObject({ ok: false, status: 401 });
    });

    test("changed target URI → 401", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      const r = await verifyRequest(
        { ...req, url: URL_.replace("d-1", "d-2") },
        resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"),
        { now: NOW },
      );
      expect(r).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining("does not verify") });
    });

    test("changed body → 400 (Content-Digest no longer matches)", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      const body = new TextEncoder().encode('{"evil":true}');
      const r = await verifyRequest({ ...req, body }, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
      expect(r).toEqual({ ok: false, status: 400, reason: "Content-Digest does not match the body" });
    });

    test("changed body with a recomputed Content-Digest → 401 (the digest is signed)", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      const body = new TextEncoder().encode('{"evil":true}');
      const { contentDigest } = await import("../../../src/http-signatures/index.ts");
      req.headers.set("content-digest", await contentDigest(body));
      const r = await verifyRequest({ ...req, body }, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
      expect(r).toMatchObject({ ok: false, status: 401 });
    });

    test("body without Content-Digest → 400", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      req.headers.delete("content-digest");
      const r = await verifyRequest(req, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
      expect(r).toMatchObject({ ok: false, status: 400, reason: expect.stringContaining("missing Content-Digest") });
    });

    test("signature from another key → 401", async () => {
      const pair = await keyPair("ecdsa-p256-sha256");
      const other = await keyPair("ecdsa-p256-sha256");
      const req = await signedPost(pair);
      const r = await verifyRequest(req, resolverFor("c-1", other.publicKey, "ecdsa-p256-sha256"), { now: NOW });
      expect(r).toMatchObject({ ok: false, status: 401 });
    });
  });

  test("created outside the window → 401 naming the skew, both directions", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const req = await signedPost(pair);
    const resolve = resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256");
    const stale = await verifyRequest(req, resolve, { now: NOW + 301 });
    expect(stale).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining("created is -301 s from server time") });
    const ahead = await verifyRequest(req, resolve, { now: NOW - 400 });
    expect(ahead).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining("created is 400 s from server time") });
    expect((await verifyRequest(req, resolve, { now: NOW + 300 })).ok).toBe(true);
    expect((await verifyRequest(req, resolve, { now: NOW + 500, maxAgeSeconds: 600 })).ok).toBe(true);
  });

  test("expired signature → 401", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const headers = new Headers();
    const out = await signRequest(
      { method: "GET", url: URL_, headers },
      { keyId: "k", alg: "ecdsa-p256-sha256", key: pair.privateKey },
      { created: NOW, expires: NOW + 10 },
    );
    headers.set("signature-input", out["signature-input"]);
    headers.set("signature", out.signature);
    const r = await verifyRequest({ method: "GET", url: URL_, headers }, resolverFor("k", pair.publicKey, "ecdsa-p256-sha256"), {
      now: NOW + 11,
    });
    expect(r).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining("expired") });
  });

  test("missing headers, unknown key, wrong alg parameter, uncovered components → 401", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const resolve = resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256");
    const req = await signedPost(pair);

    const noSig = new Headers(req.headers);
    noSig.delete("signature");
    expect(await verifyRequest({ ...req, headers: noSig }, resolve, { now: NOW })).toMatchObject({
      status: 401,
      reason: "missing signature header",
    });
    const noInput = new Headers(req.headers);
    noInput.delete("signature-input");
    expect(await verifyRequest({ ...req, headers: noInput }, resolve, { now: NOW })).toMatchObject({ status: 401 });
    const garbage = new Headers(req.headers);
    garbage.set("signature-input", "sig1=(unterminated");
    expect(await verifyRequest({ ...req, headers: garbage }, resolve, { now: NOW })).toMatchObject({
      status: 401,
      reason: expect.stringContaining("malformed signature-input"),
    });

    expect(await verifyRequest(req, resolverFor("someone-else", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW })).toEqual({
      ok: false,
      status: 401,
      reason: 'unknown keyid "c-1"',
    });

    const withAlg = new Headers(req.headers);
    withAlg.set("signature-input", `${req.headers.get("signature-input")};alg="rsa-v1_5-sha256"`);
    expect(await verifyRequest({ ...req, headers: withAlg }, resolve, { now: NOW })).toMatchObject({
      status: 401,
      reason: expect.stringContaining('alg="rsa-v1_5-sha256"'),
    });

    expect(
      await verifyRequest(req, resolve, { now: NOW, requiredComponents: ["@method", "@target-uri", "content-type"] }),
    ).toMatchObject({ status: 401, reason: 'signature sig1 does not cover "content-type"' });
  });

  test("a signature byte sequence that is not base64 is a 401, not an exception", async () => {
    const pair = await keyPair("ecdsa-p256-sha256");
    const req = await signedPost(pair);
    req.headers.set("signature", "sig1=:!!!:");
    const r = await verifyRequest(req, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW });
    expect(r).toMatchObject({ ok: false, status: 401 });
    req.headers.set("signature", `sig1=:${"A".repeat(86)}==:`);
    expect(base64ToBytes(`${"A".repeat(86)}==`).length).toBe(64);
    expect(await verifyRequest(req, resolverFor("c-1", pair.publicKey, "ecdsa-p256-sha256"), { now: NOW })).toMatchObject({
      status: 401,
    });
  });
});
