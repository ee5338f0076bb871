/**
 * A deliberately scriptable WFM for hostile cases the dev WFM would never
 * produce (wrong digests, evil bundles, foreign URLs). Still a real HTTP
 * server: the agent talks to it over loopback like to any WFM.
 */
import { writeTarGz } from "../../src/archive/index.ts";
import { sha256Digest } from "../../src/protocol/digest.ts";
import { applicationDeploymentYaml } from "./deployment-yaml.ts";

export interface FakeWfm {
  url: string;
  /** Serves these bytes at this path. */
  set(path: string, body: Uint8Array | string, contentType?: string): void;
  /** Serves a manifest (JSON text as given) with an ETag over its bytes. */
  setManifest(json: string): void;
  reports: { deploymentId: string; body: Record<string, unknown> }[];
  requests: string[];
  stop(): void;
}

export function startFakeWfm(clientId = "test-device"): FakeWfm {
  const files = new Map<string, { body: Uint8Array; type: string }>();
  const reports: FakeWfm["reports"] = [];
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname}`);
      const status = /^\/api\/v1\/clients\/[^/]+\/deployments\/([^/]+)\/status$/.exec(url.pathname);
      if (req.method === "POST" && status) {
        reports.push({ deploymentId: status[1]!, body: (await req.json()) as Record<string, unknown> });
        return new Response(null, { status: 200 });
      }
      const file = files.get(url.pathname);
      if (!file) return new Response("not found", { status: 404 });
      const etag = `"${sha256Digest(file.body)}"`;
      if (url.pathname.endsWith("/deployments") && req.headers.get("if-none-match") === etag) return new Response(null, { status: 304 });
      return new Response(file.body, { headers: { "content-type": file.type, etag } });
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    url: base,
    set(path, body, type = "application/octet-stream") {
      files.set(path, { body: typeof body === "string" ? new TextEncoder().encode(body) : body, type });
    },
    setManifest(json) {
      files.set(`/api/v1/clients/${clientId}/deployments`, { body: new TextEncoder().encode(json), type: "application/vnd.margo.manifest.v1+json" });
    },
    reports,
    requests,
    stop: () => void server.stop(true),
  };
}

/** The fake WFM's usual deployment: component "web" from a package URL, then `extra` YAML (parameters, …). */
export function deploymentYaml(id: string, packageUrl: string, extra = ""): string {
  return applicationDeploymentYaml({ id, name: `app-${id}`, applicationId: "demo", component: "web", package: { packageLocation: packageUrl } }) + extra;
}

/**
 * Publishes `yamls` (deployment id → ApplicationDeployment text) as manifest
 * `version`: each YAML at its content address and a bundle holding them all,
 * as a WFM serves them.
 */
export function publishManifest(wfm: FakeWfm, version: number, yamls: Record<string, string>, clientId = "test-device"): void {
  const base = `/api/v1/clients/${clientId}`;
  const deployments = Object.entries(yamls).map(([id, yaml]) => {
    const url = `${base}/deployments/${id}/${sha256Digest(yaml)}`;
    wfm.set(url, yaml, "application/yaml");
    return { deploymentId: id, digest: sha256Digest(yaml), sizeBytes: yaml.length, url };
  });
  const bundle = writeTarGz(Object.entries(yamls).map(([id, yaml]) => ({ path: `${id}.yaml`, data: new TextEncoder().encode(yaml) })));
  const url = `${base}/bundles/${sha256Digest(bundle)}`;
  wfm.set(url, bundle, "application/vnd.margo.bundle.v1+tar+gzip");
  const ref = deployments.length ? { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: sha256Digest(bundle), sizeBytes: bundle.length, url } : null;
  wfm.setManifest(JSON.stringify({ manifestVersion: version, bundle: ref, deployments }));
}
