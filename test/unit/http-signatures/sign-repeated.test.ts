/**
 * signRequest builds the signature base of a bodiless request once per second
 * and reuses it while nothing it was made from changed (src/http-signatures/sign.ts):
 * every change of URL, method, keyid, created or components in the same second
 * must still give a signature the verifier accepts for exactly that request.
 */
import { describe, expect, test } from "bun:test";
import { importParamsFor, signRequest, verifyRequest, type KeyResolver } from "../../../src/http-signatures/index.ts";

const NOW = 1_750_000_000;
const BASE = "https://wfm.example.com/api/v1/clients/c-1";

async function pair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(importParamsFor("ecdsa-p256-sha256") as { name: string; namedCurve: string }, false, ["sign", "verify"])) as CryptoKeyPair;
}

async function signedGet(keys: CryptoKeyPair, url: string, opts: { keyId?: string; method?: string; created?: number; components?: string[] } = {}) {
  const headers = new Headers();
  const out = await signRequest(
    { method: opts.method ?? "GET", url, headers },
    { keyId: opts.keyId ?? "c-1", alg: "ecdsa-p256-sha256", key: keys.privateKey },
    { created: opts.created ?? NOW, includeAlg: true, ...(opts.components ? { components: opts.components } : {}) },
  );
  headers.set("signature-input", out["signature-input"]);
  headers.set("signature", out.signature);
  return { req: { method: opts.method ?? "GET", url, headers }, out };
}

const resolver = (keys: CryptoKeyPair, ...ids: string[]): KeyResolver => async (id) => (ids.includes(id) ? { key: keys.publicKey, alg: "ecdsa-p256-sha256" } : null);

describe("the same second, one request after another", () => {
  test("the same request twice: the same Signature-Input, two valid signatures", async () => {
    const keys = await pair();
    const a = await signedGet(keys, `${BASE}/deployments`);
    const b = await signedGet(keys, `${BASE}/deployments`);
    expect(b.out["signature-input"]).toBe(a.out["signature-input"]);
    for (const r of [a, b]) expect((await verifyRequest(r.req, resolver(keys, "c-1"), { now: NOW })).ok).toBe(true);
  });

  test("another URL, method, keyid, created or component list: each signature fits its own request", async () => {
    const keys = await pair();
    await signedGet(keys, `${BASE}/deployments`);
    const variants = [
      await signedGet(keys, `${BASE}/bundles/x`),
      await signedGet(keys, `${BASE}/bundles/x`, { method: "DELETE" }),
      await signedGet(keys, `${BASE}/bundles/x`, { keyId: "thumbprint" }),
      await signedGet(keys, `${BASE}/bundles/x`, { created: NOW + 1 }),
      await signedGet(keys, `${BASE}/bundles/x`, { components: ["@method", "@target-uri", "@path"] }),
    ];
    expect(new Set(variants.map((v) => v.out["signature-input"])).size).toBe(4); // the URL and method are not in Signature-Input
    for (const v of variants) expect(await verifyRequest(v.req, resolver(keys, "c-1", "thumbprint"), { now: NOW + 1 })).toMatchObject({ ok: true });
    // A signature made for one request does not verify another: the reused base was not a stale one.
    const [bundle, del] = variants;
    const swapped = { ...bundle!.req, method: "DELETE", headers: bundle!.req.headers };
    expect((await verifyRequest(swapped, resolver(keys, "c-1"), { now: NOW })).ok).toBe(false);
    expect((await verifyRequest(del!.req, resolver(keys, "c-1"), { now: NOW })).ok).toBe(true);
  });
});
