/**
 * HTTP to OCI registries: endpoints (mirrors in order, then the origin), authentication (anonymous,
 * Basic from the auth file, the distribution spec's Bearer token challenge), redirects followed by
 * hand with every hop under the URL policy, and status codes mapped to stable error codes.
 *
 * Credentials and tokens never leave this file except in an Authorization header towards the
 * registry's own origin or its token realm. Every text a server sends that could end up in an error
 * message is scrubbed of them first (a hostile registry could echo our header back).
 */
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { AgentError } from "../errors/index.ts";
import type { CredentialLookup, Credentials } from "./auth-file.ts";
import { readBody, discardBody } from "./body.ts";
import { type Challenge, parseChallenge } from "./challenge.ts";
import { abortReason, deadline } from "./deadline.ts";
import { checkRegistryUrl, hostKey, isLoopbackHost } from "./url-policy.ts";

/** fetch with an optional extra CA (PEM): the shape of Platform.fetch. */
export type RegistryFetch = (url: string, init: RequestInit, tls?: { ca?: string }) => Promise<Response>;

export interface RegistryAccess {
  /** Plain http to loopback registries (and mirrors, realms, redirect hops on loopback). */
  allowInsecureHttp: boolean;
  /** registry host[:port] → mirror base URLs (scheme://host[:port]), tried in order before the origin. */
  mirrors: Record<string, readonly string[]>;
  /** host[:port] (or "*" for all) → extra CA certificates (PEM) trusted for that host, beside the system store. */
  cas: Record<string, string>;
  credentials: CredentialLookup;
}

export interface TransportLimits {
  /** Until response headers arrive, and for small bodies (manifests, tokens). */
  requestTimeoutMs: number;
  /** Longest gap between two chunks of a body. */
  idleTimeoutMs: number;
  /** Redirect hops followed per request. */
  maxRedirects: number;
}

export interface Endpoint {
  /** scheme://host[:port] */
  base: URL;
  /** host[:port]: keys credentials and CAs. */
  key: string;
  mirror: boolean;
  /** A loopback origin with insecure http allowed: https first, then plain http. */
  httpFallback: boolean;
}

export interface RegistryRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH";
  /** Path and query on the endpoint (`/v2/…`), or an absolute URL (an upload Location). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** `repository:<name>:pull` (or `pull,push`): what a token must grant. */
  scope: string;
  /** The caller's overall deadline (the pull's). */
  signal: AbortSignal;
  /** Names the request in messages. */
  what: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_TOKEN_BYTES = 64 * 1024;
const MAX_ERROR_BYTES = 8 * 1024;
/** Tokens are renewed this long before they expire; the spec's default lifetime is 60 s. */
const TOKEN_MARGIN_MS = 10_000;

export class RegistryTransport {
  private readonly tokens = new Map<string, { header: string; expiresAt: number }>();
  private readonly basicHosts = new Set<string>();
  private readonly plainHttp = new Set<string>();
  private readonly secrets = new Set<string>();

  constructor(
    private readonly fetchFn: RegistryFetch,
    readonly access: RegistryAccess,
    readonly limits: TransportLimits,
    private readonly log: Logger = silentLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The mirrors configured for `registry`, in order, then the registry itself. */
  endpointsFor(registry: string): Endpoint[] {
    const out: Endpoint[] = [];
    for (const raw of this.access.mirrors[registry] ?? []) {
      const base = new URL(raw);
      out.push({ base: new URL(base.origin), key: hostKey(base), mirror: true, httpFallback: false });
    }
    const origin = new URL(`https://${registry === "docker.io" ? "registry-1.docker.io" : registry}`);
    out.push({ base: origin, key: registry, mirror: false, httpFallback: this.access.allowInsecureHttp && isLoopbackHost(origin.hostname) });
    return out;
  }

  /** The registry itself, without its mirrors (pushes go there). */
  origin(registry: string): Endpoint {
    const all = this.endpointsFor(registry);
    return all[all.length - 1]!;
  }

  /** The base URL a request to `ep` uses now (plain http once a loopback origin proved to speak it). */
  baseOf(ep: Endpoint): URL {
    if (ep.httpFallback && this.plainHttp.has(ep.key)) return new URL(`http://${ep.base.host}`);
    return ep.base;
  }

  /**
   * Sends `req`, answering one authentication challenge, following redirects (GET/HEAD). Returns
   * any response but 401 (then REGISTRY_UNAUTHORIZED); the caller maps other statuses with
   * `statusError`. Network failures and timeouts throw REGISTRY_UNREACHABLE.
   */
  async request(ep: Endpoint, req: RegistryRequest): Promise<Response> {
    let auth = this.cachedAuthorization(ep, req.scope);
    for (let attempt = 0; ; attempt++) {
      const res = await this.sendWithFallback(ep, req, auth);
      if (res.status !== 401) return res;
      const challenge = parseChallenge(res.headers.get("www-authenticate"));
      await discardBody(res);
      if (attempt > 0 || !challenge) {
        throw new AgentError(
          "REGISTRY_UNAUTHORIZED",
          `${req.what}: ${ep.key} answered 401${auth ? " to the credentials sent" : ""}${this.credentialsFor(ep) ? "" : `; no credentials for ${ep.key} in the registry auth file`}`,
          { registry: ep.key },
        );
      }
      auth = await this.authorize(ep, challenge, req);
      if (!auth) {
        throw new AgentError("REGISTRY_UNAUTHORIZED", `${req.what}: ${ep.key} asks for credentials; the registry auth file has none for ${ep.key}`, { registry: ep.key });
      }
    }
  }

  /** An error for a response that is not the success expected, with the registry's own error code. */
  async statusError(res: Response, what: string): Promise<AgentError> {
    let detail = "";
    try {
      const text = new TextDecoder().decode(
        await readBody(res, {
          maxBytes: MAX_ERROR_BYTES,
          idleMs: this.limits.idleTimeoutMs,
          signal: AbortSignal.timeout(this.limits.requestTimeoutMs),
          what,
          tooLarge: () => new AgentError("REGISTRY_UNREACHABLE", "error body too large"),
        }),
      );
      const errors = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors;
      const first = Array.isArray(errors) ? errors[0] : undefined;
      if (first) detail = `: ${String(first.code ?? "")}${first.message ? ` ${String(first.message)}` : ""}`.slice(0, 200);
    } catch {
      await discardBody(res);
    }
    detail = this.scrub(detail);
    const status = res.status;
    if (status === 404) return new AgentError("ARTIFACT_NOT_FOUND", `${what}: not found (HTTP 404${detail})`, { status });
    if (status === 401 || status === 403) return new AgentError("REGISTRY_UNAUTHORIZED", `${what}: access denied (HTTP ${status}${detail})`, { status });
    return new AgentError("REGISTRY_UNREACHABLE", `${what}: the registry answered HTTP ${status}${detail}`, { status });
  }

  /** Removes every credential and token this transport has used from `text`. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
    return out;
  }

  private credentialsFor(ep: Endpoint): Credentials | undefined {
    const creds = this.access.credentials(ep.key);
    if (creds) {
      this.secrets.add(creds.password);
      this.secrets.add(basic(creds));
      this.secrets.add(basic(creds).slice("Basic ".length));
    }
    return creds;
  }

  private cachedAuthorization(ep: Endpoint, scope: string): string | undefined {
    const token = this.tokens.get(`${ep.key} ${scope}`);
    if (token && token.expiresAt > this.now()) return token.header;
    if (this.basicHosts.has(ep.key)) {
      const creds = this.credentialsFor(ep);
      if (creds) return basic(creds);
    }
    return undefined;
  }

  private async authorize(ep: Endpoint, challenge: Challenge, req: RegistryRequest): Promise<string | undefined> {
    const creds = this.credentialsFor(ep);
    if (challenge.scheme === "basic") {
      if (!creds) return undefined;
      this.basicHosts.add(ep.key);
      return basic(creds);
    }
    return this.fetchToken(ep, challenge, req, creds);
  }

  /** The distribution spec's token flow: GET realm?service=…&scope=…, Basic credentials if we have them. */
  private async fetchToken(ep: Endpoint, challenge: Challenge, req: RegistryRequest, creds: Credentials | undefined): Promise<string> {
    const what = `${req.what}: token service of ${ep.key}`;
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? "");
    } catch {
      throw new AgentError("REGISTRY_UNAUTHORIZED", `${what}: the Bearer challenge names no valid realm`, { registry: ep.key });
    }
    checkRegistryUrl(realm, this.access.allowInsecureHttp, what);
    // What this request needs, and what the registry's challenge names if that differs: one token for both.
    const scopes = [...new Set([req.scope, ...(challenge.params.scope ?? "").split(" ")].filter(Boolean))];
    const scope = scopes.join(" ");
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    for (const s of scopes) realm.searchParams.append("scope", s);
    if (creds) realm.searchParams.set("account", creds.username);
    const headers: Record<string, string> = { accept: "application/json" };
    if (creds) headers.authorization = basic(creds);
    const shown = `${realm.origin}${realm.pathname}`;
    const limit = deadline(this.limits.requestTimeoutMs, `${what} (${shown}): no answer within ${seconds(this.limits.requestTimeoutMs)}`, req.signal);
    try {
      let res: Response;
      try {
        res = await this.fetchFn(realm.href, { method: "GET", headers, redirect: "manual", signal: limit.signal }, this.tlsFor(realm));
      } catch (err) {
        if (limit.signal.aborted) throw abortReason(limit.signal, what);
        throw new AgentError("REGISTRY_UNREACHABLE", `${what} (${shown}): ${this.scrub((err as Error).message)}`, { realm: shown }, { cause: err });
      }
      if (res.status === 401 || res.status === 403) {
        await discardBody(res);
        throw new AgentError("REGISTRY_UNAUTHORIZED", `${what} (${shown}) refused ${creds ? "the credentials" : "anonymous access"} (HTTP ${res.status})`, { realm: shown });
      }
      if (!res.ok) {
        await discardBody(res);
        throw new AgentError("REGISTRY_UNREACHABLE", `${what} (${shown}) answered HTTP ${res.status}`, { realm: shown });
      }
      const body = await readBody(res, {
        maxBytes: MAX_TOKEN_BYTES,
        idleMs: this.limits.idleTimeoutMs,
        signal: limit.signal,
        what,
        tooLarge: () => new AgentError("REGISTRY_UNREACHABLE", `${what} (${shown}): the token answer is larger than ${MAX_TOKEN_BYTES} bytes`),
      });
      let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        parsed = JSON.parse(new TextDecoder().decode(body));
      } catch {
        throw new AgentError("REGISTRY_UNREACHABLE", `${what} (${shown}): the token answer is not JSON`, { realm: shown });
      }
      const token = typeof parsed.token === "string" && parsed.token ? parsed.token : parsed.access_token;
      if (typeof token !== "string" || token === "") throw new AgentError("REGISTRY_UNREACHABLE", `${what} (${shown}): the answer holds no token`, { realm: shown });
      this.secrets.add(token);
      const header = `Bearer ${token}`;
      const lifetime = typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in * 1000 : 60_000;
      this.tokens.set(`${ep.key} ${req.scope}`, { header, expiresAt: this.now() + Math.max(1000, lifetime - TOKEN_MARGIN_MS) });
      this.log.debug({ registry: ep.key, realm: shown, scope }, "registry token obtained");
      return header;
    } finally {
      limit.clear();
    }
  }

  /** A loopback origin with http allowed is tried over https first; a transport failure then tries http once. */
  private async sendWithFallback(ep: Endpoint, req: RegistryRequest, auth: string | undefined): Promise<Response> {
    try {
      return await this.send(ep, req, auth);
    } catch (err) {
      const canFallBack = ep.httpFallback && !this.plainHttp.has(ep.key) && err instanceof AgentError && err.details.transport === true;
      if (!canFallBack) throw err;
      this.plainHttp.add(ep.key);
      this.log.warn({ registry: ep.key }, "loopback registry does not answer https; using plain http (packages.allowInsecureHttp)");
      return this.send(ep, req, auth);
    }
  }

  /** One request with its redirect hops; Authorization only ever goes to the endpoint's own origin. */
  private async send(ep: Endpoint, req: RegistryRequest, auth: string | undefined): Promise<Response> {
    const base = this.baseOf(ep);
    let url = new URL(req.path, base);
    let method: string = req.method;
    const follow = req.method === "GET" || req.method === "HEAD";
    for (let hop = 0; ; hop++) {
      checkRegistryUrl(url, this.access.allowInsecureHttp, req.what);
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      if (auth && url.origin === base.origin) headers.authorization = auth;
      const limit = deadline(this.limits.requestTimeoutMs, `${req.what}: no answer from ${url.host} within ${seconds(this.limits.requestTimeoutMs)}`, req.signal);
      let res: Response;
      try {
        const init: RequestInit = { method, headers, redirect: "manual", signal: limit.signal };
        if (req.body && method !== "GET" && method !== "HEAD") init.body = req.body;
        res = await this.fetchFn(url.href, init, this.tlsFor(url));
      } catch (err) {
        limit.clear();
        if (limit.signal.aborted) throw abortReason(limit.signal, req.what);
        throw new AgentError("REGISTRY_UNREACHABLE", `${req.what}: ${method} ${url.origin}${url.pathname}: ${this.scrub((err as Error).message)}`, { registry: ep.key, transport: true }, { cause: err });
      }
      // Headers are in: the body runs under the caller's deadline and the body reader's own bounds.
      limit.clear();
      if (!follow || !REDIRECTS.has(res.status)) {
        // A challenge from a redirect target (blob storage) is not the registry's: answering it
        // would hand the registry's credentials to a realm that host chose.
        if (res.status === 401 && url.origin !== base.origin) {
          await discardBody(res);
          throw new AgentError("REGISTRY_UNAUTHORIZED", `${req.what}: ${url.host} (redirected to by ${ep.key}) answered 401; its challenge is not answered`, { registry: ep.key });
        }
        return res;
      }
      const location = res.headers.get("location");
      await discardBody(res);
      if (!location) throw new AgentError("REGISTRY_UNREACHABLE", `${req.what}: ${url.host} answered ${res.status} without a Location`, { registry: ep.key });
      if (hop + 1 > this.limits.maxRedirects) {
        throw new AgentError("REGISTRY_UNREACHABLE", `${req.what}: more than ${this.limits.maxRedirects} redirects`, { registry: ep.key });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new AgentError("REGISTRY_UNREACHABLE", `${req.what}: ${url.host} redirected to an invalid URL`, { registry: ep.key });
      }
      this.log.debug({ registry: ep.key, from: url.host, to: next.host }, "registry redirect");
      url = next;
      if (res.status === 303) method = "GET";
    }
  }

  private tlsFor(url: URL): { ca?: string } | undefined {
    // "*": one CA for every host (the package CLI's --ca-file: registry, token realm, redirect hops).
    const ca = this.access.cas[hostKey(url)] ?? this.access.cas["*"];
    return ca ? { ca } : undefined;
  }
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
