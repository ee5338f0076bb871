/**
 * Trust discovery over HTTPS (docs/identity-rc3.md, "Discovery"):
 * `GET <MIS>/.well-known/margo` → {trustDomain, trustBundleUri}, then
 * `GET <trustBundleUri>` → the SPIFFE bundle. These connections cannot be
 * authenticated with an SVID (the bundle is what validates SVIDs), so the
 * injected `fetch` must verify the MIS's certificate against the initial
 * trust (system store and/or a configured CA) with normal hostname checks.
 *
 * Guarded: https only, bodies bounded, redirects followed only within the
 * same origin (a redirect elsewhere is refused), a timeout per request.
 */
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { parseTrustBundle, type TrustBundle } from "./bundle.ts";
import { trustDomainProblem } from "./spiffe-id.ts";

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export const DISCOVERY_PATH = "/.well-known/margo";
export const MAX_DISCOVERY_BYTES = 64 * 1024;
export const MAX_BUNDLE_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 3;
const DEFAULT_TIMEOUT_MS = 15_000;

/** The DiscoveryDocument of the trust-bundle API (unknown fields tolerated, as it requires). */
export const DiscoveryDocumentSchema = v.looseObject({
  trustDomain: v.pipe(
    v.string(),
    v.check((td) => trustDomainProblem(td) === undefined, (issue) => trustDomainProblem(String(issue.input)) ?? "invalid trust domain"),
  ),
  trustBundleUri: v.pipe(v.string(), v.url("must be an absolute URL")),
});
export type DiscoveryDocument = v.InferOutput<typeof DiscoveryDocumentSchema>;

const unreachable = (message: string, where: string, cause?: unknown): AgentError =>
  new AgentError("TRUST_BUNDLE_UNREACHABLE", message, { where }, cause === undefined ? undefined : { cause });
const invalid = (message: string, where: string): AgentError => new AgentError("TRUST_BUNDLE_INVALID", message, { where });

/** An https URL, or TRUST_BUNDLE_INVALID naming what gave it. */
export function requireHttps(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`${what} "${text}" is not an absolute URL`, what);
  }
  if (url.protocol !== "https:") throw invalid(`${what} "${text}" must be an https URL`, what);
  if (url.username || url.password) throw invalid(`${what} "${text}" must not carry credentials`, what);
  return url;
}

/**
 * The discovery document URL for a configured MIS base: an origin (no path)
 * gets the well-known path; a URL with a path is taken as the document's own
 * URL (an origin serving several trust domains may publish it elsewhere).
 */
export function discoveryUrl(base: string): URL {
  const url = requireHttps(base, "trust discovery URL");
  if (url.pathname === "/" || url.pathname === "") return new URL(DISCOVERY_PATH, url.origin);
  return url;
}

async function readBounded(res: Response, maxBytes: number, where: string): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw invalid(`${where}: ${declared} bytes declared, the limit is ${maxBytes}`, where);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw invalid(`${where}: more than ${maxBytes} bytes, refusing the rest`, where);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** A problem+json title/detail for the message, when the server sent one (never trusted for anything else). */
async function problemText(res: Response): Promise<string> {
  try {
    const text = await readBounded(res, 8 * 1024, "error body");
    const body = JSON.parse(text) as { title?: unknown; detail?: unknown };
    const parts = [body.title, body.detail].filter((p): p is string => typeof p === "string");
    return parts.length > 0 ? `: ${parts.join(" — ").slice(0, 300)}` : "";
  } catch {
    return "";
  }
}

export type Fetched<T> = { status: "ok"; value: T; etag: string | undefined; url: URL } | { status: "not-modified"; url: URL };

/** GET with same-origin redirects only, a timeout, and If-None-Match. Maps transport failures to TRUST_BUNDLE_UNREACHABLE. */
async function getText(
  fetchFn: FetchFn,
  start: URL,
  what: string,
  opts: { etag?: string; maxBytes: number; timeoutMs: number },
): Promise<{ status: "ok"; text: string; etag: string | undefined; url: URL } | { status: "not-modified"; url: URL }> {
  let url = start;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetchFn(url.href, {
        method: "GET",
        redirect: "manual",
        headers: { accept: "application/json", ...(opts.etag ? { "if-none-match": opts.etag } : {}) },
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      throw unreachable(`${what} ${url.href}: ${(err as Error).message}`, url.href, err);
    }
    if (res.status >= 300 && res.status < 400 && res.status !== 304) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get("location");
      if (location === null) throw unreachable(`${what} ${url.href}: ${res.status} without a Location`, url.href);
      const next = new URL(location, url);
      if (next.origin !== start.origin) {
        throw invalid(`${what} ${url.href}: redirected to another origin (${next.origin}); refused`, url.href);
      }
      if (hop >= MAX_REDIRECTS) throw unreachable(`${what} ${start.href}: more than ${MAX_REDIRECTS} redirects`, start.href);
      url = next;
      continue;
    }
    if (res.status === 304) {
      await res.body?.cancel().catch(() => {});
      return { status: "not-modified", url };
    }
    if (res.status !== 200) throw unreachable(`${what} ${url.href}: HTTP ${res.status}${await problemText(res)}`, url.href);
    const text = await readBounded(res, opts.maxBytes, `${what} ${url.href}`);
    return { status: "ok", text, etag: res.headers.get("etag") ?? undefined, url };
  }
}

export interface DiscoveryOptions {
  etag?: string;
  timeoutMs?: number;
  /** When given, the document must name this trust domain (the agent's own, from its SVID). */
  expectTrustDomain?: string;
}

/** Fetches and validates the discovery document. */
export async function fetchDiscovery(fetchFn: FetchFn, url: URL, opts: DiscoveryOptions = {}): Promise<Fetched<{ trustDomain: string; trustBundleUri: URL }>> {
  const got = await getText(fetchFn, url, "trust discovery", {
    etag: opts.etag,
    maxBytes: MAX_DISCOVERY_BYTES,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  if (got.status === "not-modified") return got;
  const where = got.url.href;
  let json: unknown;
  try {
    json = JSON.parse(got.text);
  } catch (err) {
    throw invalid(`trust discovery ${where}: not JSON (${(err as Error).message})`, where);
  }
  const parsed = v.safeParse(DiscoveryDocumentSchema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join(".") || "(top level)";
    throw invalid(`trust discovery ${where}: ${path}: ${issue.message}`, where);
  }
  const doc = parsed.output;
  if (opts.expectTrustDomain !== undefined && doc.trustDomain !== opts.expectTrustDomain) {
    throw invalid(
      `trust discovery ${where} describes trust domain "${doc.trustDomain}", but this agent's SVID is in "${opts.expectTrustDomain}" (wrong MIS configured?)`,
      where,
    );
  }
  const trustBundleUri = requireHttps(doc.trustBundleUri, `trustBundleUri from ${where}`);
  return { status: "ok", value: { trustDomain: doc.trustDomain, trustBundleUri }, etag: got.etag, url: got.url };
}

/** Fetches and parses the SPIFFE bundle at `uri` (https only). */
export async function fetchBundle(fetchFn: FetchFn, uri: URL, opts: { etag?: string; timeoutMs?: number } = {}): Promise<Fetched<TrustBundle>> {
  requireHttps(uri.href, "trust bundle URI");
  const got = await getText(fetchFn, uri, "trust bundle", {
    etag: opts.etag,
    maxBytes: MAX_BUNDLE_BYTES,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  if (got.status === "not-modified") return got;
  const trimmed = got.text.trimStart();
  // Over HTTP the bundle is a SPIFFE bundle; PEM is for files only.
  if (!trimmed.startsWith("{")) throw invalid(`trust bundle ${got.url.href}: not a SPIFFE bundle (JSON)`, got.url.href);
  return { status: "ok", value: parseTrustBundle(trimmed, `trust bundle ${got.url.href}`), etag: got.etag, url: got.url };
}
