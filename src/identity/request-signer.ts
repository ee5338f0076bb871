/**
 * The v1 profile's RequestSigner (docs/protocol.md §2): every request is signed with
 * the device key, covering @method and @target-uri, plus content-digest when
 * there is a body. The keyid is asked for at each request because it changes
 * once: from the certificate thumbprint to the clientId the WFM assigns.
 */
import { createPrivateKey, type KeyObject, sign as nodeSign } from "node:crypto";
import { readFileSync } from "node:fs";
import type { SignatureAlgorithm } from "../http-signatures/algorithms.ts";
import { signRequest } from "../http-signatures/sign.ts";
import type { OutgoingRequest, RequestSigner } from "../protocol/request-signer.ts";
import type { DeviceIdentity } from "./load-or-create.ts";

const ECDSA_HASH: Partial<Record<SignatureAlgorithm, string>> = { "ecdsa-p256-sha256": "sha256", "ecdsa-p384-sha384": "sha384" };

/**
 * A synchronous ECDSA signer over the same key file (node:crypto, in Bun and
 * Deno alike): RFC 9421 wants the raw r‖s form, which is ieee-p1363. Other
 * algorithms keep WebCrypto.
 */
function syncSigner(identity: DeviceIdentity): ((data: Uint8Array) => Uint8Array) | undefined {
  const hash = ECDSA_HASH[identity.alg];
  if (!hash) return undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(identity.keyFile));
  } catch {
    return undefined;
  }
  return (data) => new Uint8Array(nodeSign(hash, data, { key, dsaEncoding: "ieee-p1363" }));
}

export function createRequestSigner(identity: DeviceIdentity, keyId: () => string): RequestSigner {
  const signBytes = syncSigner(identity);
  return {
    async sign(req: OutgoingRequest): Promise<Record<string, string>> {
      // An empty body is no body: a zero-length Content-Digest would be signed for nothing.
      const body = req.body !== undefined && req.body.length > 0 ? req.body : undefined;
      const signed = await signRequest(
        { method: req.method, url: req.url, headers: req.headers, body },
        { keyId: keyId(), alg: identity.alg, key: identity.key, signBytes },
        // Signature-Input parameters exactly created;keyid;alg (docs/protocol.md §2): a conformance
        // verifier rebuilds them in its fixed order and refuses a signature without alg.
        { includeAlg: true },
      );
      const headers: Record<string, string> = {
        "signature-input": signed["signature-input"],
        signature: signed.signature,
      };
      if (signed["content-digest"] !== undefined) headers["content-digest"] = signed["content-digest"];
      return headers;
    },
  };
}

/** The keyid rule of docs/protocol.md §2: the clientId once known, the certificate thumbprint before. */
export function keyIdFor(identity: DeviceIdentity, clientId: () => string | undefined): () => string {
  return () => clientId() ?? identity.thumbprint;
}
