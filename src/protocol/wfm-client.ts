/**
 * The Margo v1 REST client: desired state, artifacts, status, onboarding.
 * Transport errors and HTTP verdicts become AgentErrors or typed outcomes; the
 * callers decide what to retry.
 */
import { AgentError } from "../errors/index.ts";
import { sha256Digest, verifyDigest } from "./digest.ts";
import { MANIFEST_MEDIA_TYPE, parseManifest, type StateManifest } from "./manifest.ts";
import { readBounded, readPrefix } from "./read-body.ts";
import { type RequestSigner, unsignedRequests } from "./request-signer.ts";
import { resolveWfmUrl } from "./urls.ts";

/**
 * The longest ETag the agent keeps. It is stored and sent back as If-None-Match
 * on every poll; a real one is a quoted digest (~70 bytes), so this leaves room
 * for any WFM while a 60 KB header cannot ride along on every request.
 */
export const MAX_ETAG_BYTES = 512;

/** A 2xx answer to a report is an acknowledgement: read it to the end (connection reuse) but never more than this. */
const ACK_BODY_BYTES = 4096;

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface WfmClientOptions {
  baseUrl: string;
  clientId: () => string | undefined;
  fetch: FetchFn;
  signer?: RequestSigner;
  requestTimeoutMs: number;
  userAgent: string;
  /** Sees the Date header of every answer (clock offset estimation). */
  onServerDate?: (date: string) => void;
}

export type ManifestResult =
  | { kind: "not-modified"; serverDate?: string }
  | { kind: "manifest"; manifest: StateManifest; etag: string; bytes: Uint8Array; serverDate?: string };

export type PostOutcome =
  | { kind: "accepted"; status: number; serverDate?: string }
  | { kind: "failed"; status: number; body: string; contentType: string | null; retryAfter: string | null; serverDate?: string };

export class WfmClient {
  private readonly signer: RequestSigner;
  /** performance.now() of the last answer (any status) from the WFM: shows a long sync is still moving. */
  lastAnswerAtMs: number | undefined;

  constructor(private readonly opts: WfmClientOptions) {
    this.signer = opts.signer ?? unsignedRequests;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** False until onboarding has given this device a clientId. */
  hasClientId(): boolean {
    return Boolean(this.opts.clientId());
  }

  private clientPath(): string {
    const id = this.opts.clientId();
    if (!id) throw new AgentError("IDENTITY_REJECTED", "no clientId yet: the device is not onboarded");
    return `/api/v1/clients/${encodeURIComponent(id)}`;
  }

  /** One signed request; network failures become WFM_UNREACHABLE naming the URL. */
  async request(method: string, url: string, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("user-agent", this.opts.userAgent);
    if (init.body) headers.set("content-type", headers.get("content-type") ?? "application/json");
    const signed = await this.signer.sign({ method, url, headers, body: init.body });
    for (const [k, v] of Object.entries(signed)) headers.set(k, v);
    try {
      const res = await this.opts.fetch(url, {
        method,
        headers,
        body: init.body,
        redirect: "error", // a redirect could leave the WFM origin; refuse it
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
      });
      this.lastAnswerAtMs = performance.now();
      const date = res.headers.get("date");
      if (date) this.opts.onServerDate?.(date);
      return res;
    } catch (err) {
      const e = err as Error;
      const cause = (e.cause as Error | undefined)?.message ?? e.message;
      throw new AgentError("WFM_UNREACHABLE", `${method} ${url}: ${e.name === "TimeoutError" ? `no answer within ${this.opts.requestTimeoutMs} ms` : cause}`, { url });
    }
  }

  async getManifest(etag: string | undefined, maxBytes: number): Promise<ManifestResult> {
    const url = `${this.opts.baseUrl}${this.clientPath()}/deployments`;
    const headers: Record<string, string> = { accept: MANIFEST_MEDIA_TYPE };
    // An oversized ETag kept from before this bound existed is not sent again: the WFM just answers 200.
    if (etag && byteLength(etag) <= MAX_ETAG_BYTES) headers["if-none-match"] = etag;
    const res = await this.request("GET", url, { headers });
    const serverDate = res.headers.get("date") ?? undefined;
    if (res.status === 304) {
      await readPrefix(res, ACK_BODY_BYTES);
      return { kind: "not-modified", serverDate };
    }
    if (res.status === 406) {
      await readPrefix(res, ACK_BODY_BYTES);
      throw new AgentError("MANIFEST_NOT_ACCEPTABLE", `GET ${url}: 406 Not Acceptable: the WFM cannot serve ${MANIFEST_MEDIA_TYPE}`);
    }
    if (res.status === 401 || res.status === 403) {
      const said = await readPrefix(res);
      throw new AgentError("IDENTITY_REJECTED", `GET ${url}: ${res.status}: ${said.text.slice(0, 300)}`, { status: res.status, serverDate });
    }
    if (res.status !== 200) {
      await readPrefix(res, ACK_BODY_BYTES);
      throw new AgentError("WFM_HTTP_ERROR", `GET ${url}: unexpected ${res.status}`, { status: res.status });
    }
    const bytes = await readBounded(res, maxBytes, `GET ${url}`);
    const manifest = parseManifest(bytes, `state manifest from ${url}`);
    const etagHeader = res.headers.get("etag");
    if (etagHeader !== null && byteLength(etagHeader) > MAX_ETAG_BYTES) {
      // A verdict on what the WFM sent (not a transport error): refused like a bad manifest.
      throw new AgentError(
        "MANIFEST_INVALID",
        `state manifest from ${url}: its ETag is ${byteLength(etagHeader)} bytes, more than the ${MAX_ETAG_BYTES} accepted (it would be stored and sent back on every poll); refusing the manifest`,
        { etagBytes: byteLength(etagHeader) },
      );
    }
    // The ETag is the digest of the exact body; without one we use that digest ourselves.
    const etag2 = etagHeader ?? `"${sha256Digest(bytes)}"`;
    return { kind: "manifest", manifest, etag: etag2, bytes, serverDate };
  }

  /** Fetches a content-addressed artifact and verifies its digest before returning it. */
  async getArtifact(relativeUrl: string, digest: string, maxBytes: number, what: string): Promise<Uint8Array> {
    const url = resolveWfmUrl(this.opts.baseUrl, relativeUrl, what);
    const res = await this.request("GET", url);
    if (res.status !== 200) {
      await readPrefix(res, ACK_BODY_BYTES);
      // A 404 on a content-addressed URL is never a deletion: the sync just fails and retries.
      throw new AgentError("WFM_HTTP_ERROR", `${what}: GET ${url}: ${res.status}`, { status: res.status, url });
    }
    const bytes = await readBounded(res, maxBytes, `${what}: GET ${url}`);
    verifyDigest(bytes, digest, `${what} (${url})`);
    return bytes;
  }

  async postStatus(deploymentId: string, body: string): Promise<PostOutcome> {
    const url = `${this.opts.baseUrl}${this.clientPath()}/deployments/${encodeURIComponent(deploymentId)}/status`;
    return this.post("POST", url, body);
  }

  async post(method: "POST" | "PUT", url: string, body: string): Promise<PostOutcome> {
    const res = await this.request(method, url, { body: new TextEncoder().encode(body), headers: { "content-type": "application/json" } });
    const serverDate = res.headers.get("date") ?? undefined;
    if (res.status >= 200 && res.status < 300) {
      await readPrefix(res, ACK_BODY_BYTES);
      return { kind: "accepted", status: res.status, serverDate };
    }
    const said = await readPrefix(res);
    return { kind: "failed", status: res.status, body: said.text, contentType: res.headers.get("content-type"), retryAfter: res.headers.get("retry-after"), serverDate };
  }
}

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;
