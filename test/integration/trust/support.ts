/**
 * Real servers for the trust tests, all on 127.0.0.1: an mTLS WFM (serveMtls
 * with an SVID from a DevCa) and an MIS serving discovery and the SPIFFE
 * bundle over plain server-authenticated HTTPS (its certificate from a
 * separate "web PKI" CA, as in production).
 */
import { X509Certificate } from "node:crypto";
import {
  clientTlsOptions,
  DevCa,
  parseTrustBundle,
  serveMtls,
  wfmSpiffeId,
  type ClientTlsOptions,
  type FetchFn,
  type MtlsPeer,
  type MtlsServer,
  type RefusedClient,
  type Svid,
  type SvidMaterial,
} from "../../../src/trust/index.ts";
import { issueCertificate } from "../../../src/trust/x509-issue.ts";
import { encodePem } from "../../../src/identity/pem.ts";

export const TD = "factory.example";

export interface TestWfm {
  server: MtlsServer;
  url: string;
  seen: MtlsPeer[];
  refused: RefusedClient[];
  handled: number;
}

/** An mTLS WFM presenting `svid`, accepting clients of `wfmId` that chain to `anchors`. */
export async function startWfm(opts: { svid: SvidMaterial; anchorsPem: string[]; wfmId?: string; td?: string }): Promise<TestWfm> {
  const wfm: TestWfm = { server: undefined as unknown as MtlsServer, url: "", seen: [], refused: [], handled: 0 };
  wfm.server = await serveMtls(
    async (req, peer) => {
      wfm.handled++;
      wfm.seen.push(peer);
      const body = req.method === "POST" ? await req.text() : null;
      return Response.json({ path: new URL(req.url).pathname, client: peer.spiffeId.id, fingerprint: peer.fingerprint, tls: peer.tlsVersion, body });
    },
    {
      hostname: "127.0.0.1",
      port: 0,
      wfm: wfmSpiffeId(opts.td ?? TD, opts.wfmId ?? "wfm-1"),
      material: { chainPem: opts.svid.chainPem, key: opts.svid.key, anchorsPem: opts.anchorsPem },
      onRefused: (c) => wfm.refused.push(c),
    },
  );
  wfm.url = wfm.server.url;
  return wfm;
}

/** One request with the agent's TLS options (plain fetch, a fresh connection). */
export function agentFetch(url: string, tls: ClientTlsOptions, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, tls } as RequestInit);
}

/** clientTlsOptions, counting how often Bun asked for the identity check. */
export function countingTls(svid: Svid, anchorsPem: readonly string[]): { tls: ClientTlsOptions; calls: () => number } {
  const tls = clientTlsOptions(svid, { anchorsPem });
  let calls = 0;
  const check = tls.checkServerIdentity;
  tls.checkServerIdentity = (host, cert) => {
    calls++;
    return check(host, cert);
  };
  return { tls, calls: () => calls };
}

/** The error a rejected promise rejected with. */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected the request to fail");
}

// ---------------------------------------------------------------- the MIS

export interface MisState {
  /** The discovery document served at /.well-known/margo (an object, or raw text). */
  discovery: unknown;
  /** The bundle served at /bundle.json (an object, or raw text). */
  bundle: unknown;
  bundleEtag?: string;
  /** Extra response headers for the bundle (e.g. Cache-Control). */
  bundleHeaders?: Record<string, string>;
  /** When set, every request gets this status. */
  status?: number;
  /** Per-path overrides. */
  routes?: Record<string, (req: Request) => Response>;
}

export interface TestMis {
  url: string;
  /** Trusts the MIS's web-PKI certificate (the agent's "initial trust"). */
  fetch: FetchFn;
  state: MisState;
  requests: { path: string; ifNoneMatch: string | null }[];
  stop(): Promise<void>;
  /** Serves again on the same port after stop() (an outage that ends). */
  restart(): Promise<void>;
}

const webCa = issueCertificate({ commonName: "test web PKI root", ca: true, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
const misCert = issueCertificate(
  { commonName: "mis", ca: false, dnsNames: ["localhost"], ips: ["127.0.0.1"], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) },
  webCa,
);
export const WEB_CA_PEM = encodePem("CERTIFICATE", webCa.der);

export async function startMis(initial: Partial<MisState> = {}): Promise<TestMis> {
  const state: MisState = { discovery: undefined, bundle: undefined, ...initial };
  const requests: TestMis["requests"] = [];
  const tls = { cert: encodePem("CERTIFICATE", misCert.der), key: misCert.key.export({ type: "pkcs8", format: "pem" }).toString() };
  const handler = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    requests.push({ path, ifNoneMatch: req.headers.get("if-none-match") });
    if (state.status !== undefined) return new Response("unavailable", { status: state.status });
    const route = state.routes?.[path];
    if (route) return route(req);
    const body = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
    if (path === "/.well-known/margo") return new Response(body(state.discovery), { headers: { "content-type": "application/json" } });
    if (path === "/bundle.json") {
      if (state.bundleEtag !== undefined && req.headers.get("if-none-match") === state.bundleEtag) {
        return new Response(null, { status: 304, headers: { etag: state.bundleEtag, ...state.bundleHeaders } });
      }
      return new Response(body(state.bundle), {
        headers: { "content-type": "application/json", ...(state.bundleEtag ? { etag: state.bundleEtag } : {}), ...state.bundleHeaders },
      });
    }
    return Response.json({ type: "https://docs.margo.org/specification/problem-types#discovery-document-not-found", title: "Not found", status: 404 }, { status: 404 });
  };
  let server = Bun.serve({ hostname: "127.0.0.1", port: 0, tls, fetch: handler });
  const port = server.port!;
  const mis: TestMis = {
    url: `https://127.0.0.1:${port}`,
    fetch: (url, init) => fetch(url, { ...init, tls: { ca: [WEB_CA_PEM] } } as RequestInit),
    state,
    requests,
    stop: async () => {
      await server.stop(true);
    },
    restart: async () => {
      server = Bun.serve({ hostname: "127.0.0.1", port, tls, fetch: handler });
    },
  };
  return mis;
}

export function discoveryDoc(mis: TestMis, td = TD): Record<string, unknown> {
  return { trustDomain: td, trustBundleUri: `${mis.url}/bundle.json` };
}

/** The anchors of a SPIFFE bundle object, as fingerprints (for assertions). */
export function anchorsOf(bundle: Record<string, unknown>): string[] {
  return parseTrustBundle(JSON.stringify(bundle), "test").anchors.map((a: X509Certificate) => a.fingerprint256);
}

export { DevCa };
