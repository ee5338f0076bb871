import { afterAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { verifyRequest } from "../../../src/http-signatures/index.ts";
import { loadOrCreateIdentity, publicKeyFromCertificate } from "../../../src/identity/index.ts";
import { createRequestSigner, keyIdFor } from "../../../src/identity/request-signer.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

async function identity() {
  return loadOrCreateIdentity({ dir: tempDir(), deviceId: "dev-1" });
}

async function sendAndVerify(signerKeyId: () => string, init: { method: string; body?: string }, expectKeyId: string) {
  const id = await identity();
  const signer = createRequestSigner(id, signerKeyId);
  const url = "https://wfm.example.com/api/v1/clients/c-1/capabilities/dev-1";
  const body = init.body === undefined ? undefined : new TextEncoder().encode(init.body);
  const headers = new Headers({ "content-type": "application/json" });
  const added = await signer.sign({ method: init.method, url, headers, body });
  for (const [k, v] of Object.entries(added)) headers.set(k, v);
  const request = new Request(url, { method: init.method, headers, body });
  const result = await verifyRequest(request, async (keyId) => (keyId === expectKeyId ? publicKeyFromCertificate(id.certificatePem) : null));
  return { added, result, id };
}

describe("request signer (docs/protocol.md §2)", () => {
  test("a body is covered by Content-Digest and the signature verifies with the certificate's key", async () => {
    const { added, result } = await sendAndVerify(() => "client-7", { method: "POST", body: '{"a":1}' }, "client-7");
    expect(result).toMatchObject({ ok: true, keyId: "client-7" });
    expect(added["content-digest"]).toMatch(/^sha-256=:[A-Za-z0-9+/]+=*:$/);
    expect(added["signature-input"]).toMatch(/^sig1=\("@method" "@target-uri" "content-digest"\);created=\d+;keyid="client-7";alg="ecdsa-p256-sha256"$/);
    expect(added.signature).toMatch(/^sig1=:[A-Za-z0-9+/]+=*:$/);
  });

  test("a request without a body covers @method and @target-uri only", async () => {
    const { added, result } = await sendAndVerify(() => "client-7", { method: "GET" }, "client-7");
    expect(result.ok).toBe(true);
    expect(added["content-digest"]).toBeUndefined();
    expect(added["signature-input"]).toStartWith('sig1=("@method" "@target-uri");');
  });

  test("an empty body is signed as no body", async () => {
    const { added, result } = await sendAndVerify(() => "c", { method: "POST", body: "" }, "c");
    expect(result.ok).toBe(true);
    expect(added["content-digest"]).toBeUndefined();
  });

  test("the keyid is the certificate thumbprint until a clientId is known, then the clientId", async () => {
    const id = await identity();
    let clientId: string | undefined;
    const keyId = keyIdFor(id, () => clientId);
    expect(keyId()).toBe(id.thumbprint);
    expect(id.thumbprint).toMatch(/^[0-9a-f]{64}$/);
    clientId = "client-9";
    expect(keyId()).toBe("client-9");
  });

  test("a tampered body fails verification", async () => {
    const id = await identity();
    const signer = createRequestSigner(id, () => "c");
    const url = "https://wfm.example.com/x";
    const headers = new Headers();
    const added = await signer.sign({ method: "PUT", url, headers, body: new TextEncoder().encode("original") });
    for (const [k, v] of Object.entries(added)) headers.set(k, v);
    const result = await verifyRequest(new Request(url, { method: "PUT", headers, body: "changed" }), async () => publicKeyFromCertificate(id.certificatePem));
    expect(result).toMatchObject({ ok: false, status: 400 });
  });

  test("the generated key file is 0600", async () => {
    const id = await identity();
    expect(statSync(id.keyFile).mode & 0o777).toBe(0o600);
  });
});
