import { describe, expect, test } from "bun:test";
import { signRequest } from "../../../src/http-signatures/sign.ts";

/**
 * Issue 12 item 7: a conformance verifier rebuilds @signature-params in the
 * order created;expires;keyid;alg;nonce;tag and refuses a signature whose
 * parameters come in another order. The v1 signer sends created;keyid;alg
 * (test/unit/identity-integration/request-signer.test.ts).
 */
describe("Signature-Input parameter order", () => {
  const key = crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
  const req = { method: "POST", url: "https://wfm.example/api/v1/clients/c-1/deployments/d/status", headers: new Headers(), body: new TextEncoder().encode("{}") };

  test("created;keyid;alg with alg on, and every parameter in the verifier's fixed order", async () => {
    const { privateKey } = await key;
    const signer = { keyId: "c-1", alg: "ecdsa-p256-sha256" as const, key: privateKey };
    const withAlg = await signRequest(req, signer, { created: 1700000000, includeAlg: true });
    expect(withAlg["signature-input"]).toBe('sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid="c-1";alg="ecdsa-p256-sha256"');
    const all = await signRequest(req, signer, { created: 1, expires: 2, includeAlg: true, nonce: "n", tag: "margo" });
    const params = all["signature-input"].slice(all["signature-input"].indexOf(");") + 2).split(";").map((p) => p.split("=")[0]);
    expect(params).toEqual(["created", "expires", "keyid", "alg", "nonce", "tag"]);
  });
});
