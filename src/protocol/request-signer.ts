/**
 * How requests get authenticated. The v1 profile signs each request (RFC 9421
 * + RFC 9530); an rc.3 profile would use mTLS and sign nothing. The client only
 * knows this interface.
 */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Headers;
  body?: Uint8Array;
}

export interface RequestSigner {
  /** Headers to add (Content-Digest, Signature-Input, Signature), or none. */
  sign(req: OutgoingRequest): Promise<Record<string, string>>;
}

export const unsignedRequests: RequestSigner = { sign: async () => ({}) };
