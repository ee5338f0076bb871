/**
 * Request authentication as a v1 WFM does it (PROTOCOL.md §2), with the dev
 * WFM's leniency: unless signatures are required, a client that never onboarded
 * may send unsigned requests (an agent with a configured clientId and no
 * identity yet). Once a client has a certificate, every request naming it must
 * be signed by it.
 */
import { parseDictionary, verifyContentDigest, verifyRequest, type SignatureAlgorithm } from "../http-signatures/index.ts";
import type { RsaSignatureAlgorithm } from "../identity/index.ts";
import { keyOf, type ClientRegistry, type ParsedClientCertificate } from "./clients.ts";
import type { DevClient } from "./types.ts";

export type AuthVerdict =
  | { ok: true; client: DevClient | null; signed: boolean }
  | { ok: false; status: 400 | 401 | 403; reason: string };

export interface AuthContext {
  clients: ClientRegistry;
  requireSignatures: boolean;
  /** Unix seconds. */
  nowSeconds: number;
  /** The clientId in the path, if the route has one. */
  pathClientId: string | null;
  /** On POST /api/v1/onboarding: the certificate in the body (not stored yet), which may sign its own request. */
  presentedCertificate?: ParsedClientCertificate;
}

const RSA_ALGS: readonly string[] = ["rsa-v1_5-sha256", "rsa-pss-sha256", "rsa-pss-sha512"];

/** keyid and alg of the first signature in Signature-Input, if readable. */
function signatureParams(header: string): { keyId?: string; alg?: string } {
  try {
    const first = parseDictionary(header).values().next().value;
    if (first === undefined || first.kind !== "inner-list") return {};
    const param = (name: string) => {
      const found = first.params.find(([k]) => k === name)?.[1];
      return found?.type === "string" ? found.value : undefined;
    };
    return { keyId: param("keyid"), alg: param("alg") };
  } catch {
    return {};
  }
}

export async function authenticate(req: Request, ctx: AuthContext): Promise<AuthVerdict> {
  const signatureInput = req.headers.get("signature-input");
  const pathClient = ctx.pathClientId === null ? undefined : ctx.clients.get(ctx.pathClientId);

  if (signatureInput === null && req.headers.get("signature") === null) {
    if (ctx.requireSignatures) return { ok: false, status: 401, reason: "unsigned request: this WFM requires RFC 9421 signatures (Signature-Input, Signature)" };
    if (pathClient?.certificate) {
      return { ok: false, status: 401, reason: `client ${pathClient.clientId} onboarded with a certificate: its requests must be signed` };
    }
    // Unsigned but carrying a Content-Digest: it must still be right.
    const digest = req.headers.get("content-digest");
    if (digest !== null) {
      const verdict = await verifyContentDigest(digest, new Uint8Array(await req.clone().arrayBuffer()));
      if (verdict !== "ok") return { ok: false, status: 400, reason: `Content-Digest ${verdict === "unsupported" ? "uses no supported algorithm" : "does not match the body"}` };
    }
    if (pathClient && !pathClient.approved) return { ok: false, status: 403, reason: `client ${pathClient.clientId} is not approved yet` };
    return { ok: true, client: pathClient ?? null, signed: false };
  }

  const { keyId, alg } = signatureParams(signatureInput ?? "");
  if (keyId === undefined) {
    // Let the verifier name exactly what is malformed.
    const result = await verifyRequest(req, async () => null, { now: ctx.nowSeconds });
    return result.ok ? { ok: false, status: 401, reason: "signature has no keyid" } : result;
  }
  const presented = ctx.presentedCertificate;
  const known = ctx.clients.byKeyId(keyId);
  let certificate: string;
  if (known?.certificate) certificate = known.certificate;
  else if (presented && presented.thumbprint === keyId.toLowerCase()) certificate = presented.base64;
  else return { ok: false, status: 403, reason: `unknown keyid "${keyId}": no onboarded certificate has this clientId or thumbprint` };

  if (known && ctx.pathClientId !== null && known.clientId !== ctx.pathClientId) {
    return { ok: false, status: 403, reason: `keyid "${keyId}" belongs to client ${known.clientId}, not to ${ctx.pathClientId}` };
  }
  const rsaAlg = alg !== undefined && RSA_ALGS.includes(alg) ? (alg as RsaSignatureAlgorithm) : undefined;
  let resolved: { key: CryptoKey; alg: SignatureAlgorithm };
  try {
    resolved = await keyOf(certificate, rsaAlg);
  } catch (err) {
    return { ok: false, status: 403, reason: `the certificate of "${keyId}" cannot be used: ${(err as Error).message}` };
  }
  const result = await verifyRequest(req, async (id) => (id === keyId ? resolved : null), { now: ctx.nowSeconds });
  if (!result.ok) return result;
  if (known && !known.approved && ctx.pathClientId !== null) return { ok: false, status: 403, reason: `client ${known.clientId} is not approved yet` };
  return { ok: true, client: known ?? null, signed: true };
}
