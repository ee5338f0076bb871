/**
 * A tiny real WFM for the local API tests: serves one state manifest (with its
 * bundle) for client "dev-1" and takes status reports, or refuses them with 503
 * so they stay pending in the journal. Bun.serve on 127.0.0.1, port 0.
 */
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";

export interface TinyWfm {
  url: string;
  /** Status reports received, per deployment. */
  reports: { deploymentId: string; body: string }[];
  acceptReports: boolean;
  stop(): Promise<void>;
}

export function deploymentYaml(id: string, name: string, opts: { broken?: boolean; params?: Record<string, { value: unknown; pointer: string }> } = {}): string {
  const params = Object.entries(opts.params ?? {})
    .map(([k, p]) => `    ${k}:\n      value: ${JSON.stringify(p.value)}\n      targets:\n        - pointer: ${p.pointer}\n          components: [app]`)
    .join("\n");
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  name: ${name}
  annotations:
    id: ${id}
    applicationId: app-${name}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: app
        properties:
          packageLocation: https://packages.example/${opts.broken ? "broken-" : ""}${name}.tar.gz
          wait: false
${params ? `  parameters:\n${params}\n` : ""}`;
}

export function startTinyWfm(deployments: { id: string; yaml: string }[], manifestVersion = 1): TinyWfm {
  const enc = new TextEncoder();
  const files = deployments.map((d) => ({ ...d, bytes: enc.encode(d.yaml), digest: sha256Digest(d.yaml) }));
  const bundle = writeTarGz(files.map((f) => ({ path: `${f.id}.yaml`, data: f.bytes })));
  const bundleDigest = sha256Digest(bundle);
  const manifest = JSON.stringify({
    manifestVersion,
    bundle: files.length ? { mediaType: BUNDLE_MEDIA_TYPE, digest: bundleDigest, sizeBytes: bundle.length, url: `/api/v1/clients/dev-1/bundles/${bundleDigest}` } : null,
    deployments: files.map((f) => ({ deploymentId: f.id, digest: f.digest, sizeBytes: f.bytes.length, url: `/api/v1/clients/dev-1/deployments/${f.id}/${f.digest}` })),
  });
  const etag = `"${sha256Digest(manifest).slice(7, 23)}"`;
  const wfm: TinyWfm = {
    url: "",
    reports: [],
    acceptReports: true,
    stop: async () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/api/v1/clients/dev-1/deployments") {
        if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers: { etag } });
        return new Response(manifest, { headers: { "content-type": MANIFEST_MEDIA_TYPE, etag } });
      }
      if (req.method === "GET" && path === `/api/v1/clients/dev-1/bundles/${bundleDigest}`) return new Response(bundle, { headers: { "content-type": BUNDLE_MEDIA_TYPE } });
      const single = files.find((f) => path === `/api/v1/clients/dev-1/deployments/${f.id}/${f.digest}`);
      if (req.method === "GET" && single) return new Response(single.bytes, { headers: { "content-type": "application/yaml" } });
      const status = /^\/api\/v1\/clients\/dev-1\/deployments\/([^/]+)\/status$/.exec(path);
      if (req.method === "POST" && status) {
        if (!wfm.acceptReports) return new Response("busy", { status: 503 });
        wfm.reports.push({ deploymentId: decodeURIComponent(status[1]!), body: await req.text() });
        return new Response(null, { status: 201 });
      }
      return new Response("not found", { status: 404 });
    },
  });
  wfm.url = `http://127.0.0.1:${server.port}`;
  return wfm;
}
