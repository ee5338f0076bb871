/**
 * The Margo REST client: desired state, artifacts, status, capabilities,
 * onboarding. The routes and body frames come from the profile
 * (src/protocol/profiles/), authentication from the session's fetch and
 * signer; everything else is the same for every profile. Transport errors and
 * HTTP verdicts become AgentErrors or typed outcomes (error answers read by
 * src/protocol/problem.ts); the callers decide what to retry.
 */
import { AgentError } from "../errors/index.ts";
import { sha256Digest, verifyDigest } from "./digest.ts";
import { MANIFEST_MEDIA_TYPE, parseManifest, type StateManifest } from "./manifest.ts";
import { readProblem, isIdentityProblem, type WfmProblem } from "./problem.ts";
import type { ProfileRoutes, WfmProfile } from "./profiles/types.ts";
import { v1Profile } from "./profiles/v1/index.ts";
import { readBounded, readPrefix } from "./read-body.ts";
import { type RequestSigner, unsignedRequests } from "./request-signer.ts";
import { normaliseBase, resolveWfmUrl, routeUrl } from "./urls.ts";

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
  /** wfm.url: an origin, or an origin and a path prefix (docs/protocol.md, "Profiles"). */
  baseUrl: string;
  /** The profile's routes and frames; v1 when not given (what the client spoke before profiles). */
  profile?: WfmProfile;
  /** v1: the clientId from onboarding (undefined before); rc3 routes need none. */
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
  | {
      kind: "failed";
      status: number;
      body: string;
      contentType: string | null;
      retryAfter: string | null;
      serverDate?: string;
      /** The answer as src/protocol/problem.ts reads it. */
      problem: WfmProblem;
    };

export class WfmClient {
  private readonly signer: RequestSigner;
  readonly profile: WfmProfile;
  /** performance.now() of the last answer (any status) from the WFM: shows a long sync is still moving. */
  lastAnswerAtMs: number | undefined;
  /** The deadline timer of each answer whose body is still being read (see request). */
  private readonly deadlines = new WeakMap<Response, ReturnType<typeof setTimeout>>();
  private lastDate: string | undefined;
  private lastDateAtMs = 0;
  /** The manifest URL, formed once per clientId (it is asked for on every poll). */
  private manifestUrl: { clientId: string | undefined; url: string } | undefined;

  constructor(private readonly opts: WfmClientOptions) {
    this.signer = opts.signer ?? unsignedRequests;
    this.profile = opts.profile ?? v1Profile;
  }

  /** The base URL without trailing slashes (routes are appended to it). */
  get baseUrl(): string {
    return normaliseBase(this.opts.baseUrl);
  }

  /** False while the profile's routes cannot be formed yet (v1 before onboarding gave a clientId). */
  hasClientId(): boolean {
    const clientId = this.opts.clientId();
    // Asked on every poll: the manifest URL formed for this clientId already says yes.
    if (this.manifestUrl && this.manifestUrl.clientId === clientId) return true;
    return this.profile.routes(clientId) !== undefined;
  }

  /** The profile's routes; throws IDENTITY_REJECTED before a v1 device is onboarded. */
  routes(): ProfileRoutes {
    const routes = this.profile.routes(this.opts.clientId());
    if (!routes) throw new AgentError("IDENTITY_REJECTED", "no clientId yet: the device is not onboarded");
    return routes;
  }

  /** A route of the profile as an absolute URL under the base (and its path prefix). */
  url(path: string): string {
    return routeUrl(this.baseUrl, path);
  }

  /**
   * One signed request; network failures become WFM_UNREACHABLE naming the URL.
   * requestTimeoutMs bounds the whole exchange, the body included: its timer is
   * cleared once the caller read the body (done), so that a poll every 100 ms
   * does not leave a timer behind that wakes the process 30 s later (README.md,
   * "Footprint and speed"); a body nobody reads to the end still times out.
   */
  async request(method: string, url: string, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers, "user-agent": this.opts.userAgent };
    if (init.body && headers["content-type"] === undefined) headers["content-type"] = "application/json";
    const signed = await this.signer.sign({ method, url, headers: new Headers(headers), body: init.body });
    for (const k in signed) headers[k] = signed[k]!;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${this.opts.requestTimeoutMs} ms`, "TimeoutError")), this.opts.requestTimeoutMs);
    // Like AbortSignal.timeout: the deadline alone does not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    try {
      const res = await this.opts.fetch(url, {
        method,
        headers,
        body: init.body,
        redirect: "error", // a redirect could leave the WFM origin; refuse it
        signal: deadline.signal,
      });
      this.deadlines.set(res, timer);
      this.lastAnswerAtMs = performance.now();
      const date = res.headers.get("date");
      if (date) this.observeDate(date);
      return res;
    } catch (err) {
      clearTimeout(timer);
      // The rc3 transport refuses with its own codes (WFM_IDENTITY_MISMATCH from the SPIFFE ID check,
      // TRUST_BUNDLE_MISSING before any bundle): keep them, they say what to fix.
      if (err instanceof AgentError) throw new AgentError(err.code, `${method} ${url}: ${err.message}`, { ...err.details, url }, { cause: err });
      const e = err as Error;
      const cause = (e.cause as Error | undefined)?.message ?? e.message;
      throw new AgentError("WFM_UNREACHABLE", `${method} ${url}: ${e.name === "TimeoutError" ? `no answer within ${this.opts.requestTimeoutMs} ms` : cause}`, { url });
    }
  }

  /** The answer's body has been read (or given up on): its request's deadline is moot. */
  done(res: Response): void {
    const timer = this.deadlines.get(res);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.deadlines.delete(res);
  }

  /**
   * Hands the Date header on. The header has one-second resolution, so the same
   * value seen again within a second says nothing new (ClockOffset keeps its
   * estimate within 1.5 s anyway): it is not parsed again on every poll.
   */
  private observeDate(date: string): void {
    const now = performance.now();
    if (date === this.lastDate && now - this.lastDateAtMs < 1000) return;
    this.lastDate = date;
    this.lastDateAtMs = now;
    this.opts.onServerDate?.(date);
  }

  /** An error answer, read once (bounded) and as problem+json where it is one. */
  private async problemOf(res: Response): Promise<WfmProblem> {
    const said = await readPrefix(res);
    this.done(res);
    return readProblem({ status: res.status, contentType: res.headers.get("content-type"), body: said.text, retryAfter: res.headers.get("retry-after") });
  }

  async getManifest(etag: string | undefined, maxBytes: number): Promise<ManifestResult> {
    const clientId = this.opts.clientId();
    let cached = this.manifestUrl;
    if (!cached || cached.clientId !== clientId) cached = this.manifestUrl = { clientId, url: this.url(this.routes().manifest) };
    const url = cached.url;
    // Exactly this media type: the Margo reference WFM answers 406 to anything else (a list, parameters, */*).
    const headers: Record<string, string> = { accept: MANIFEST_MEDIA_TYPE };
    // An oversized ETag kept from before this bound existed is not sent again: the WFM just answers 200.
    if (etag && withinEtagBound(etag)) headers["if-none-match"] = etag;
    const res = await this.request("GET", url, { headers });
    const serverDate = res.headers.get("date") ?? undefined;
    if (res.status === 304) {
      await readPrefix(res, ACK_BODY_BYTES);
      this.done(res);
      return { kind: "not-modified", serverDate };
    }
    if (res.status !== 200) {
      const problem = await this.problemOf(res);
      const details = { status: res.status, serverDate, problemType: problem.type, retryable: problem.retryable, ...(problem.retryAfterMs !== undefined ? { retryAfterMs: problem.retryAfterMs } : {}) };
      if (res.status === 406 || problem.kind === "server-cannot-generate-response") {
        throw new AgentError("MANIFEST_NOT_ACCEPTABLE", `GET ${url}: the WFM cannot serve ${MANIFEST_MEDIA_TYPE} (${problem.summary})`, details);
      }
      if (isIdentityProblem(problem)) throw new AgentError("IDENTITY_REJECTED", `GET ${url}: ${this.profile.identityRefusal(problem)}`, details);
      throw new AgentError("WFM_HTTP_ERROR", `GET ${url}: unexpected ${problem.summary}`, details);
    }
    const bytes = await this.readWhole(res, maxBytes, `GET ${url}`);
    const manifest = parseManifest(bytes, `state manifest from ${url}`);
    const etagHeader = res.headers.get("etag");
    if (etagHeader !== null && !withinEtagBound(etagHeader)) {
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

  /** readBounded, then the request's deadline is cleared (also when the body was refused). */
  private async readWhole(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
    try {
      return await readBounded(res, maxBytes, what);
    } finally {
      this.done(res);
    }
  }

  /** Fetches a content-addressed artifact and verifies its digest before returning it. */
  async getArtifact(relativeUrl: string, digest: string, maxBytes: number, what: string): Promise<Uint8Array> {
    const url = resolveWfmUrl(this.baseUrl, relativeUrl, what);
    const res = await this.request("GET", url);
    if (res.status !== 200) {
      const problem = await this.problemOf(res);
      const details = { status: res.status, url, problemType: problem.type, ...(problem.retryAfterMs !== undefined ? { retryAfterMs: problem.retryAfterMs } : {}) };
      if (isIdentityProblem(problem)) throw new AgentError("IDENTITY_REJECTED", `${what}: GET ${url}: ${this.profile.identityRefusal(problem)}`, details);
      // A 404 on a content-addressed URL (deployment-not-found, invalid-bundle) is never a deletion: the sync just fails and retries.
      throw new AgentError("WFM_HTTP_ERROR", `${what}: GET ${url}: ${problem.summary}`, details);
    }
    const bytes = await this.readWhole(res, maxBytes, `${what}: GET ${url}`);
    verifyDigest(bytes, digest, `${what} (${url})`);
    return bytes;
  }

  async postStatus(deploymentId: string, body: string): Promise<PostOutcome> {
    return this.post("POST", this.url(this.routes().status(deploymentId)), body);
  }

  /** rc3: PUT the capabilities of a device (201 created, 200 updated). */
  async putCapabilities(deviceId: string, body: string): Promise<PostOutcome> {
    return this.post("PUT", this.url(this.routes().capabilities(deviceId)), body);
  }

  /** rc3: DELETE a device's capabilities (204): the device is decommissioned. */
  async deleteCapabilities(deviceId: string): Promise<PostOutcome> {
    return this.send("DELETE", this.url(this.routes().capabilities(deviceId)));
  }

  async post(method: "POST" | "PUT", url: string, body: string): Promise<PostOutcome> {
    return this.send(method, url, body);
  }

  /** One request whose answer is only accepted or not (reports, capabilities, decommissioning). */
  async send(method: "POST" | "PUT" | "DELETE", url: string, body?: string): Promise<PostOutcome> {
    const init = body === undefined ? {} : { body: new TextEncoder().encode(body), headers: { "content-type": "application/json" } };
    const res = await this.request(method, url, init);
    const serverDate = res.headers.get("date") ?? undefined;
    if (res.status >= 200 && res.status < 300) {
      // The conformance mock answers 200 {"acknowledgement":"received"}: any 2xx body is only read to its end.
      await readPrefix(res, ACK_BODY_BYTES);
      this.done(res);
      return { kind: "accepted", status: res.status, serverDate };
    }
    const said = await readPrefix(res);
    this.done(res);
    const contentType = res.headers.get("content-type");
    const retryAfter = res.headers.get("retry-after");
    const problem = readProblem({ status: res.status, contentType, body: said.text, retryAfter });
    return { kind: "failed", status: res.status, body: said.text, contentType, retryAfter, serverDate, problem };
  }
}

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

/** At most MAX_ETAG_BYTES in UTF-8. A UTF-16 code unit is at most 3 bytes: a short ETag (every real one) is not encoded on each poll. */
const withinEtagBound = (etag: string) => etag.length * 3 <= MAX_ETAG_BYTES || byteLength(etag) <= MAX_ETAG_BYTES;
