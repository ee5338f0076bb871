/**
 * Verifying a signed request (the WFM side of PROTOCOL.md §2), with verdicts
 * already mapped to HTTP statuses: 400 for a missing/wrong Content-Digest on a
 * body, 401 for everything about the signature itself. 403 (untrusted or revoked
 * certificate) is the caller's decision after a successful verification; it is in
 * the type so that callers can return one VerifyResult shape.
 */
import { isSignatureAlgorithm, verifyBase, type SignatureAlgorithm } from "./algorithms.ts";
import { verifyContentDigest } from "./content-digest.ts";
import { createSignatureBase, parseComponentId, SignatureBaseError } from "./signature-base.ts";
import {
  parseDictionary,
  serializeItem,
  StructuredFieldError,
  type Dictionary,
  type InnerList,
} from "./structured-fields.ts";

export type VerifyResult =
  | { ok: true; keyId: string; created: number }
  | { ok: false; status: 400 | 401 | 403; reason: string };

export interface VerifiableRequest {
  method: string;
  /** The absolute URL as the client addressed it (behind a proxy: the public URL). */
  url: string;
  headers: Headers;
  body?: Uint8Array;
}

export type KeyResolver = (keyId: string) => Promise<{ key: CryptoKey; alg: SignatureAlgorithm } | null>;

export interface VerifyOptions {
  /** Unix seconds; default now. */
  now?: number;
  /** Largest allowed |created - now|, in seconds; default 300. */
  maxAgeSeconds?: number;
  /**
   * Components the signature must cover. Default `@method` and `@target-uri`.
   * `content-digest` is required on top of these whenever the request has a body.
   */
  requiredComponents?: string[];
  /** Which signature to check; default the first one in Signature-Input. */
  label?: string;
}

const DEFAULT_REQUIRED = ["@method", "@target-uri"];

function reject(status: 400 | 401, reason: string): VerifyResult {
  return { ok: false, status, reason };
}

async function readRequest(req: Request | VerifiableRequest): Promise<VerifiableRequest> {
  if (req instanceof Request) {
    // Read a clone so that the caller can still consume the body afterwards.
    const body = new Uint8Array(await req.clone().arrayBuffer());
    return { method: req.method, url: req.url, headers: req.headers, body };
  }
  return req;
}

function parseField(headers: Headers, name: string): Dictionary | string {
  const raw = headers.get(name);
  if (raw === null) return `missing ${name} header`;
  try {
    return parseDictionary(raw);
  } catch (err) {
    return `malformed ${name} header: ${(err as StructuredFieldError).message}`;
  }
}

function integerParam(list: InnerList, key: string): number | undefined | "invalid" {
  const found = list.params.find(([k]) => k === key);
  if (found === undefined) return undefined;
  return found[1].type === "integer" ? found[1].value : "invalid";
}

function stringParam(list: InnerList, key: string): string | undefined | "invalid" {
  const found = list.params.find(([k]) => k === key);
  if (found === undefined) return undefined;
  return found[1].type === "string" ? found[1].value : "invalid";
}

export async function verifyRequest(
  input: Request | VerifiableRequest,
  resolveKey: KeyResolver,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const req = await readRequest(input);
  const body = req.body ?? new Uint8Array();
  const hasBody = body.length > 0;

  const inputs = parseField(req.headers, "signature-input");
  if (typeof inputs === "string") return reject(401, inputs);
  const signatures = parseField(req.headers, "signature");
  if (typeof signatures === "string") return reject(401, signatures);

  const label = opts.label ?? inputs.keys().next().value;
  if (label === undefined) return reject(401, "Signature-Input holds no signature");
  const covered = inputs.get(label);
  const sigMember = signatures.get(label);
  if (covered === undefined) return reject(401, `Signature-Input has no signature labelled ${label}`);
  if (covered.kind !== "inner-list") return reject(401, `Signature-Input ${label} is not an inner list`);
  if (sigMember === undefined) return reject(401, `Signature has no value labelled ${label}`);
  if (sigMember.kind !== "item" || sigMember.value.type !== "bytes") {
    return reject(401, `Signature ${label} is not a byte sequence`);
  }
  if (covered.items.some((id) => id.value.type !== "string")) {
    return reject(401, `Signature-Input ${label} lists a component that is not a string`);
  }

  // The body is checked before the signature so that a client learns which part is wrong.
  const digestHeader = req.headers.get("content-digest");
  if (hasBody || digestHeader !== null) {
    const verdict = await verifyContentDigest(digestHeader, body);
    if (verdict !== "ok") {
      const why = {
        missing: "missing Content-Digest header for a request with a body",
        mismatch: "Content-Digest does not match the body",
        unsupported: "Content-Digest uses no supported algorithm (sha-256, sha-512)",
      }[verdict];
      return reject(400, why);
    }
  }

  const coveredKeys = new Set(covered.items.map(serializeItem));
  const required = [...(opts.requiredComponents ?? DEFAULT_REQUIRED)];
  if (hasBody) required.push("content-digest");
  for (const component of required) {
    const key = serializeItem(parseComponentId(component));
    if (!coveredKeys.has(key)) return reject(401, `signature ${label} does not cover ${key}`);
  }

  const created = integerParam(covered, "created");
  if (created === undefined) return reject(401, `signature ${label} has no created parameter`);
  if (created === "invalid") return reject(401, `signature ${label} has a non-integer created parameter`);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const maxAge = opts.maxAgeSeconds ?? 300;
  const skew = created - now;
  if (Math.abs(skew) > maxAge) {
    return reject(
      401,
      `created is ${skew} s from server time (allowed ±${maxAge} s): check the client's clock`,
    );
  }
  const expires = integerParam(covered, "expires");
  if (expires === "invalid") return reject(401, `signature ${label} has a non-integer expires parameter`);
  if (expires !== undefined && now > expires) return reject(401, `signature ${label} expired ${now - expires} s ago`);

  const keyId = stringParam(covered, "keyid");
  if (keyId === undefined) return reject(401, `signature ${label} has no keyid parameter`);
  if (keyId === "invalid") return reject(401, `signature ${label} has a keyid that is not a string`);
  const resolved = await resolveKey(keyId);
  if (resolved === null) return reject(401, `unknown keyid "${keyId}"`);

  const alg = stringParam(covered, "alg");
  if (alg === "invalid") return reject(401, `signature ${label} has an alg that is not a string`);
  if (alg !== undefined && (!isSignatureAlgorithm(alg) || alg !== resolved.alg)) {
    // RFC 9421 §3.2 step 6.4: an explicit alg must agree with the key's algorithm.
    return reject(401, `signature ${label} says alg="${alg}" but key "${keyId}" uses ${resolved.alg}`);
  }

  let base: string;
  try {
    base = createSignatureBase({ method: req.method, url: req.url, headers: req.headers }, covered);
  } catch (err) {
    if (err instanceof SignatureBaseError || err instanceof StructuredFieldError) {
      return reject(401, `cannot rebuild the signature base: ${err.message}`);
    }
    throw err;
  }
  const valid = await verifyBase(resolved.alg, resolved.key, base, sigMember.value.value);
  if (!valid) return reject(401, `signature ${label} does not verify with key "${keyId}" (${resolved.alg})`);
  return { ok: true, keyId, created };
}
