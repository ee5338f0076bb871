/**
 * Signing an outgoing request the way PROTOCOL.md §2 asks:
 * `sig1=("@method" "@target-uri" "content-digest");created=<unix s>;keyid="<id>"`.
 * Returns the header values to add; the caller's Headers are not modified.
 */
import { AgentError } from "../errors/index.ts";
import { bytesToBase64 } from "./base64.ts";
import { signBase, type SignatureAlgorithm } from "./algorithms.ts";
import { contentDigest } from "./content-digest.ts";
import { createSignatureBase, parseComponentId } from "./signature-base.ts";
import { serializeInnerList, type InnerList, type Item, type Parameters } from "./structured-fields.ts";

/**
 * Component identifiers parsed once per text: a device signs the same two or
 * three on every poll, and parsing them is most of what signing costs in
 * JavaScript (README.md, "Footprint and speed"). Frozen: they are shared.
 */
const componentIds = new Map<string, Item>();
function componentId(text: string): Item {
  let id = componentIds.get(text);
  if (id === undefined) {
    const parsed = parseComponentId(text);
    for (const p of parsed.params) Object.freeze(p);
    id = Object.freeze({ ...parsed, value: Object.freeze(parsed.value), params: Object.freeze(parsed.params) as Parameters });
    if (componentIds.size < 64) componentIds.set(text, id);
  }
  return id;
}

export interface SignableRequest {
  method: string;
  /** The absolute URL the request goes to (what `@target-uri` covers). */
  url: string;
  headers: Headers;
  body?: Uint8Array;
}

export interface Signer {
  keyId: string;
  alg: SignatureAlgorithm;
  /** The private key (or HMAC secret), imported for `alg`. */
  key: CryptoKey;
  /**
   * Optional: produce the signature bytes directly (e.g. synchronously with
   * node:crypto). WebCrypto hops to a worker thread per call, which costs more
   * than the signature itself when the device signs one request every 30 s.
   */
  signBytes?: (data: Uint8Array) => Uint8Array;
}

export interface SignOptions {
  /** Signature label; default `sig1`. */
  label?: string;
  /** Unix seconds; default now. */
  created?: number;
  /** Covered components, in order. Default: @method, @target-uri (+ content-digest with a body). */
  components?: string[];
  /** Unix seconds after which the signature should not be accepted. */
  expires?: number;
  /** Add `alg="<alg>"`; off by default because PROTOCOL.md's example has none. */
  includeAlg?: boolean;
  nonce?: string;
  tag?: string;
}

export interface SignatureHeaders {
  "signature-input": string;
  signature: string;
  /** Present when this call computed the Content-Digest (the body is covered). */
  "content-digest"?: string;
}

/** Signature parameters in one fixed order: created, expires, keyid, alg, nonce, tag. */
function signatureParams(signer: Signer, opts: SignOptions): Parameters {
  const params: Parameters = [];
  const created = opts.created ?? Math.floor(Date.now() / 1000);
  params.push(["created", { type: "integer", value: created }]);
  if (opts.expires !== undefined) params.push(["expires", { type: "integer", value: opts.expires }]);
  params.push(["keyid", { type: "string", value: signer.keyId }]);
  if (opts.includeAlg) params.push(["alg", { type: "string", value: signer.alg }]);
  if (opts.nonce !== undefined) params.push(["nonce", { type: "string", value: opts.nonce }]);
  if (opts.tag !== undefined) params.push(["tag", { type: "string", value: opts.tag }]);
  return params;
}

/**
 * Throws AgentError INTERNAL when the request cannot be signed as asked (a
 * covered header is absent, the key does not fit the algorithm): a programming
 * or configuration error on our side, never something to retry.
 */
export async function signRequest(
  req: SignableRequest,
  signer: Signer,
  opts: SignOptions = {},
): Promise<SignatureHeaders> {
  try {
    return await sign(req, signer, opts);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new AgentError("INTERNAL", `cannot sign ${req.method} ${req.url}: ${message}`, {}, { cause: err });
  }
}

/**
 * The last signature base made from derived components alone (no header field,
 * no body), with what it was made from. `created` has one-second resolution, so
 * a device polling every 100 ms asks for the same base ten times a second: it
 * is built once and only the signature itself is computed again.
 */
interface MadeBase {
  label: string;
  method: string;
  url: string;
  components: readonly string[];
  created: number;
  expires?: number;
  keyId: string;
  alg?: string;
  nonce?: string;
  tag?: string;
  base: string;
  signatureInput: string;
}
let lastBase: MadeBase | undefined;

function sameInputs(m: MadeBase, n: Omit<MadeBase, "base" | "signatureInput">): boolean {
  if (m.label !== n.label || m.method !== n.method || m.url !== n.url || m.created !== n.created || m.expires !== n.expires) return false;
  if (m.keyId !== n.keyId || m.alg !== n.alg || m.nonce !== n.nonce || m.tag !== n.tag || m.components.length !== n.components.length) return false;
  for (let i = 0; i < m.components.length; i++) if (m.components[i] !== n.components[i]) return false;
  return true;
}

async function sign(req: SignableRequest, signer: Signer, opts: SignOptions): Promise<SignatureHeaders> {
  const label = opts.label ?? "sig1";
  const components =
    opts.components ??
    (req.body !== undefined ? ["@method", "@target-uri", "content-digest"] : ["@method", "@target-uri"]);
  const created = opts.created ?? Math.floor(Date.now() / 1000);
  let derivedOnly = req.body === undefined;
  for (let i = 0; derivedOnly && i < components.length; i++) derivedOnly = components[i]!.startsWith("@");
  const inputs = derivedOnly
    ? { label, method: req.method, url: req.url, components, created, expires: opts.expires, keyId: signer.keyId, alg: opts.includeAlg ? signer.alg : undefined, nonce: opts.nonce, tag: opts.tag }
    : undefined;

  let base: string;
  let signatureInput: string;
  let digest: string | undefined;
  if (inputs && lastBase && sameInputs(lastBase, inputs)) {
    ({ base, signatureInput } = lastBase);
  } else {
    if (!/^[a-z*][a-z0-9_\-.*]*$/.test(label)) throw new Error(`signature label "${label}" is not a valid dictionary key`);
    const covered: InnerList = {
      kind: "inner-list",
      items: components.map(componentId),
      params: signatureParams(signer, { ...opts, created }),
    };

    // The caller's Headers are only copied when a Content-Digest has to go in.
    let headers = req.headers;
    const coversDigest = covered.items.some((id) => id.value.type === "string" && id.value.value === "content-digest");
    if (coversDigest && req.body !== undefined) {
      // Always recomputed: a stale Content-Digest left in the headers must never be signed.
      digest = await contentDigest(req.body);
      headers = new Headers(req.headers);
      headers.set("content-digest", digest);
    }

    signatureInput = serializeInnerList(covered);
    base = createSignatureBase({ method: req.method, url: req.url, headers }, covered, signatureInput);
    if (inputs) lastBase = { ...inputs, components: [...components], base, signatureInput };
  }
  const signature = signer.signBytes ? signer.signBytes(new TextEncoder().encode(base)) : await signBase(signer.alg, signer.key, base);
  const result: SignatureHeaders = {
    "signature-input": `${label}=${signatureInput}`,
    signature: `${label}=:${bytesToBase64(signature)}:`,
  };
  if (digest !== undefined) result["content-digest"] = digest;
  return result;
}
