/**
 * A small real rc.3 WFM for the rc3 tests, on 127.0.0.1: mutual TLS with its
 * own SVID from a DevCa (serveMtls, which also tells the handler the client's
 * SPIFFE ID), mounted under a path prefix as the Margo reference WFM and the
 * conformance mock are, and behaving as PROTOCOL.md §9's last paragraph says
 * real WFMs do: the manifest's ETag is the bundle digest (not the body's), the
 * manifest is marked `Cache-Control: public, immutable`, 406 unless Accept is
 * exactly the manifest media type, `{"Error": …}` error bodies, bundle entries
 * named `<deploymentId>.yaml`, status answered `200 {"acknowledgement":"received"}`,
 * and sizeBytes that are wrong while the digests are right.
 *
 * The same handler also serves over plain HTTP (Bun.serve) for the v1 profile.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";
import { DevCa, serveMtls, wfmSpiffeId, writeSvidFiles, type MtlsPeer, type MtlsServer, type RefusedClient, type SvidMaterial } from "../../../src/trust/index.ts";

export const TD = "factory.example";
export const WFM_ID = "wfm-1";

export interface SeenRequest {
  method: string;
  /** The path below the prefix. */
  path: string;
  headers: Record<string, string>;
  body: string;
  client: string | null;
  fingerprint: string | null;
  tls: string | null;
}

export interface WfmState {
  manifestVersion: number;
  deployments: { id: string; yaml: string }[];
  /** "bundle-digest" (the reference WFM), "body-digest" (the spec), or a fixed opaque value. */
  etag: "bundle-digest" | "body-digest" | string;
  /** Answer reports 200 {"acknowledgement":"received"} (the conformance mock) or 201. */
  statusAnswer: 200 | 201;
  /** When set, the next requests on these paths get this answer. */
  fail?: Record<string, () => Response>;
}

export interface RealishWfm {
  url: string;
  origin: string;
  prefix: string;
  state: WfmState;
  seen: SeenRequest[];
  refused: RefusedClient[];
  capabilities: Map<string, string>;
  reports: { deploymentId: string; body: string }[];
  stop(): Promise<void>;
}

function built(state: WfmState, prefixless: string) {
  const enc = new TextEncoder();
  const files = state.deployments.map((d) => ({ ...d, bytes: enc.encode(d.yaml), digest: sha256Digest(d.yaml) }));
  // Entries named <deploymentId>.yaml, as the conformance toolkit's mock does.
  const bundle = files.length ? writeTarGz(files.map((f) => ({ path: `${f.id}.yaml`, data: f.bytes }))) : undefined;
  const bundleDigest = bundle ? sha256Digest(bundle) : undefined;
  // Wrong sizeBytes on purpose: digests are the authority.
  const manifest = JSON.stringify({
    manifestVersion: state.manifestVersion,
    bundle: bundle ? { mediaType: BUNDLE_MEDIA_TYPE, digest: bundleDigest, sizeBytes: 1, url: `${prefixless}/api/v1/bundles/${bundleDigest}` } : null,
    deployments: files.map((f) => ({ deploymentId: f.id, digest: f.digest, sizeBytes: f.bytes.length * 1000 + 7, url: `${prefixless}/api/v1/deployments/${f.id}/${f.digest}` })),
  });
  const etag =
    state.etag === "bundle-digest" ? `"${bundleDigest ?? "sha256:" + "0".repeat(64)}"` : state.etag === "body-digest" ? `"${sha256Digest(manifest)}"` : state.etag;
  return { files, bundle, bundleDigest, manifest, etag };
}

/** The handler: `path` is below the prefix. */
function handle(wfm: RealishWfm, req: Request, path: string, body: string): Response {
  const failing = wfm.state.fail?.[`${req.method} ${path}`];
  if (failing) return failing();
  const b = built(wfm.state, "");
  if (req.method === "GET" && path === "/api/v1/deployments") {
    // The reference WFM: 406 unless Accept is exactly the manifest media type.
    if (req.headers.get("accept") !== MANIFEST_MEDIA_TYPE) return Response.json({ Error: "not acceptable" }, { status: 406 });
    const headers = { etag: b.etag, "cache-control": "public, immutable", "content-type": MANIFEST_MEDIA_TYPE };
    if (req.headers.get("if-none-match") === b.etag) return new Response(null, { status: 304, headers });
    return new Response(b.manifest, { headers });
  }
  if (req.method === "GET" && b.bundle && path === `/api/v1/bundles/${b.bundleDigest}`) {
    return new Response(b.bundle, { headers: { "content-type": BUNDLE_MEDIA_TYPE, etag: `"${b.bundleDigest}"`, "cache-control": "public, max-age=31536000, immutable" } });
  }
  const single = b.files.find((f) => path === `/api/v1/deployments/${f.id}/${f.digest}`);
  if (req.method === "GET" && single) return new Response(single.bytes, { headers: { "content-type": "application/yaml", etag: `"${single.digest}"` } });
  const status = /^\/api\/v1\/deployments\/([^/]+)\/status$/.exec(path);
  if (req.method === "POST" && status) {
    wfm.reports.push({ deploymentId: decodeURIComponent(status[1]!), body });
    return wfm.state.statusAnswer === 200 ? Response.json({ acknowledgement: "received" }) : new Response(null, { status: 201 });
  }
  const caps = /^\/api\/v1\/capabilities\/(.+)$/.exec(path);
  if (caps && req.method === "PUT") {
    const id = decodeURIComponent(caps[1]!);
    const created = !wfm.capabilities.has(id);
    wfm.capabilities.set(id, body);
    return new Response(null, { status: created ? 201 : 200 });
  }
  if (caps && req.method === "DELETE") {
    const id = decodeURIComponent(caps[1]!);
    if (!wfm.capabilities.delete(id)) {
      return Response.json(
        { type: "https://docs.margo.org/specification/problem-types#device-not-found", title: "Device Not Found", status: 404 },
        { status: 404, headers: { "content-type": "application/problem+json" } },
      );
    }
    return new Response(null, { status: 204 });
  }
  return Response.json({ Error: `no route ${req.method} ${path}` }, { status: 404 });
}

export const PACKAGE_COMPOSE = "services:\n  app:\n    image: docker.io/library/busybox:1.36\n";

function record(wfm: RealishWfm, req: Request, path: string, body: string, peer: MtlsPeer | null): void {
  wfm.seen.push({ method: req.method, path, headers: Object.fromEntries(req.headers), body, client: peer?.spiffeId.id ?? null, fingerprint: peer?.fingerprint ?? null, tls: peer?.tlsVersion ?? null });
}

function newWfm(state: Partial<WfmState>, prefix: string): RealishWfm {
  return {
    url: "",
    origin: "",
    prefix,
    state: { manifestVersion: 1, deployments: [], etag: "bundle-digest", statusAnswer: 200, ...state },
    seen: [],
    refused: [],
    capabilities: new Map(),
    reports: [],
    stop: async () => {},
  };
}

async function dispatch(wfm: RealishWfm, req: Request, peer: MtlsPeer | null): Promise<Response> {
  const full = new URL(req.url).pathname;
  const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  // A compose package server on the same origin (v1 components name a packageLocation).
  if (req.method === "GET" && full.startsWith("/packages/")) return new Response(PACKAGE_COMPOSE, { headers: { "content-type": "application/yaml" } });
  if (!full.startsWith(`${wfm.prefix}/`)) {
    // What the issue saw: a URL resolved against the origin misses the mount point.
    record(wfm, req, full, body, peer);
    return Response.json({ Error: "not found" }, { status: 404 });
  }
  const path = full.slice(wfm.prefix.length);
  record(wfm, req, path, body, peer);
  return handle(wfm, req, path, body);
}

/** The rc3 WFM: mTLS, presenting `svid` (by default a WFM SVID of WFM_ID from `ca`). */
export async function startRc3Wfm(ca: DevCa, opts: { prefix?: string; state?: Partial<WfmState>; svid?: SvidMaterial; wfmId?: string } = {}): Promise<RealishWfm> {
  const wfm = newWfm(opts.state ?? {}, opts.prefix ?? "");
  const svid = opts.svid ?? ca.issueWfmSvid(opts.wfmId ?? WFM_ID);
  const server: MtlsServer = await serveMtls((req, peer) => dispatch(wfm, req, peer), {
    hostname: "127.0.0.1",
    port: 0,
    wfm: wfmSpiffeId(TD, opts.wfmId ?? WFM_ID),
    material: { chainPem: svid.chainPem, key: svid.key, anchorsPem: [ca.anchorPem] },
    onRefused: (c) => wfm.refused.push(c),
  });
  wfm.origin = server.url;
  wfm.url = `${server.url}${wfm.prefix}`;
  wfm.stop = () => server.stop();
  return wfm;
}

/** The v1 WFM: the same behaviour over plain HTTP on loopback (the v1 client signs; this one does not check). */
export function startV1Wfm(opts: { prefix?: string; state?: Partial<WfmState>; clientId: string }): RealishWfm {
  const wfm = newWfm(opts.state ?? {}, opts.prefix ?? "");
  const clientPrefix = `/api/v1/clients/${opts.clientId}`;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      // v1 routes carry the clientId: map them onto the rc3 handler's routes.
      const url = new URL(req.url);
      const under = url.pathname.startsWith(`${wfm.prefix}${clientPrefix}/`) ? url.pathname.replace(`${wfm.prefix}${clientPrefix}`, `${wfm.prefix}/api/v1`) : url.pathname;
      const mapped = new Request(new URL(under, url.origin).href, { method: req.method, headers: req.headers, body: req.method === "GET" ? undefined : await req.arrayBuffer() });
      return dispatch(wfm, mapped, null);
    },
  });
  wfm.origin = `http://127.0.0.1:${server.port}`;
  wfm.url = `${wfm.origin}${wfm.prefix}`;
  wfm.stop = async () => server.stop(true);
  return wfm;
}

/** A client SVID written to `dir` (key 0600), as the device's provisioning would. */
export async function clientFiles(ca: DevCa, dir: string, clientId = "device-7", issue: Parameters<DevCa["issueClientSvid"]>[2] = {}): Promise<{ certFile: string; keyFile: string; svid: SvidMaterial }> {
  mkdirSync(dir, { recursive: true });
  const svid = ca.issueClientSvid(WFM_ID, clientId, issue);
  const files = await writeSvidFiles(dir, svid);
  return { ...files, svid };
}

/** An rc3 ApplicationDeployment (top-level id, metadata.deviceId, OCI component). */
export function rc3Deployment(id: string, name: string, opts: { deviceId?: string; cores?: number } = {}): string {
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
id: ${id}
metadata:
  name: ${name}
  namespace: margo
${opts.deviceId ? `  deviceId: ${opts.deviceId}\n` : ""}spec:
  applicationId: app-${name}
  deploymentProfile:
    type: compose
    components:
      - name: app
        properties:
          repository: oci://registry.example/apps/${name}
          revision: 1.0.0
          wait: false
${opts.cores ? `    deviceConstraints:\n      capacityRequirements:\n        cpu:\n          cores: ${opts.cores}\n` : ""}`;
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

export { join };
