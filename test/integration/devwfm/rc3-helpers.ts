/**
 * An rc3 dev WFM on 127.0.0.1:0 (real mutual TLS), with its state in a
 * temporary dir, and clients holding SVIDs the dev WFM minted: each request
 * goes through Bun's fetch with the agent's own TLS options
 * (clientTlsOptions: the client SVID, the bundle's anchors only, the WFM's
 * SPIFFE ID checked in place of the hostname).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevWfm, type DevWfmOptions, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { clientTlsOptions, loadSvid, type ClientTlsOptions, type Svid } from "../../../src/trust/index.ts";
import { MANIFEST_TYPE } from "./helpers.ts";

export { MANIFEST_TYPE };

export interface Rc3Env {
  root: string;
  dir: string;
  stateDir: string;
  cleanup(): void;
}

export function rc3Env(): Rc3Env {
  const root = mkdtempSync(path.join(tmpdir(), "dev-wfm-rc3-"));
  return { root, dir: path.join(root, "apps"), stateDir: path.join(root, "state"), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export async function startRc3(env: Rc3Env, opts: Partial<DevWfmOptions> & { publicUrl?: string } = {}): Promise<StartedDevWfm> {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(env.dir, { recursive: true });
  return startDevWfm({ dir: env.dir, stateDir: env.stateDir, log: silentLogger, listen: "127.0.0.1:0", profile: "rc3", ...opts });
}

export interface Rc3Client {
  svid: Svid;
  tls: ClientTlsOptions;
  spiffeId: string;
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
}

/** A client whose SVID the dev WFM minted (as `dev-wfm issue-svid` does), talking mTLS to it. */
export async function rc3Client(wfm: StartedDevWfm, env: Rc3Env, name: string): Promise<Rc3Client> {
  const files = await wfm.rc3!.issueClient(name, path.join(env.root, "clients", name));
  const svid = await loadSvid({ certFile: files.certFile, keyFile: files.keyFile });
  return clientWith(wfm, svid, clientTlsOptions(svid, { anchorsPem: [wfm.rc3!.anchorPem] }));
}

export function clientWith(wfm: StartedDevWfm, svid: Svid, tls: ClientTlsOptions): Rc3Client {
  return {
    svid,
    tls,
    spiffeId: svid.spiffeId.id,
    fetch: (p, init = {}) => fetch(p.startsWith("https://") ? p : `${wfm.url}${p}`, { ...init, tls } as RequestInit),
  };
}

/** A request without a client certificate, trusting the dev WFM's CA (what a browser or an MIS client does). */
export function anonymousFetch(wfm: StartedDevWfm, p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${wfm.url}${p}`, { ...init, tls: { ca: [wfm.rc3!.anchorPem] } } as RequestInit);
}

export function rc3Deployment(id: string, opts: { name?: string; deviceId?: string; applicationId?: string; components?: string; extra?: string } = {}): string {
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
id: ${id}
metadata:
  name: ${opts.name ?? `app-${id}`}
  namespace: margo-test
  annotations: {}
${opts.deviceId ? `  deviceId: ${opts.deviceId}\n` : ""}spec:
  applicationId: ${opts.applicationId ?? "hello-world"}
  deploymentProfile:
    type: compose
    components:
${opts.components ?? `      - name: web
        properties:
          repository: oci://registry.example.com/margo/web
          revision: 1.2.3
          timeout: 5m0s
          wait: true
`}${opts.extra ?? ""}`;
}

export function rc3Status(deploymentId: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { deploymentId, adoptedManifestVersion: 1, status: { state }, components: [{ name: "web", state }], ...extra };
}

export function postJson(client: Rc3Client, p: string, body: unknown, method = "POST"): Promise<Response> {
  return client.fetch(p, { method, headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
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
