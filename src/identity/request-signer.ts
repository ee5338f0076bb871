/**
 * The v1 profile's RequestSigner (PROTOCOL.md §2): every request is signed with
 * the device key, covering @method and @target-uri, plus content-digest when
 * there is a body. The keyid is asked for at each request because it changes
 * once: from the certificate thumbprint to the clientId the WFM assigns.
 */
import { signRequest } from "../http-signatures/sign.ts";
import type { OutgoingRequest, RequestSigner } from "../protocol/request-signer.ts";
import type { DeviceIdentity } from "./load-or-create.ts";

export function createRequestSigner(identity: DeviceIdentity, keyId: () => string): RequestSigner {
  return {
    async sign(req: OutgoingRequest): Promise<Record<string, string>> {
      // An empty body is no body: a zero-length Content-Digest would be signed for nothing.
      const body = req.body !== undefined && req.body.length > 0 ? req.body : undefined;
      const signed = await signRequest(
        { method: req.method, url: req.url, headers: req.headers, body },
        { keyId: keyId(), alg: identity.alg, key: identity.key },
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

/** The keyid rule of PROTOCOL.md §2: the clientId once known, the certificate thumbprint before. */
export function keyIdFor(identity: DeviceIdentity, clientId: () => string | undefined): () => string {
  return () => clientId() ?? identity.thumbprint;
}
