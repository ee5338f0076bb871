/** A dev WFM on 127.0.0.1:0 over a fresh temporary folder, for the dev WFM's own tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevWfm, type DevWfmOptions, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";

export const MANIFEST_TYPE = "application/vnd.margo.manifest.v1+json";

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), "dev-wfm-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function deploymentYaml(id: string, opts: { name?: string; packageLocation?: string; extra?: string } = {}): string {
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations:
    id: ${id}
  name: ${opts.name ?? `app-${id}`}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: web
        properties:
          packageLocation: "${opts.packageLocation ?? "https://example.invalid/web.yaml"}"
${opts.extra ?? ""}`;
}

export function writeFile(dir: string, name: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

export async function startIn(dir: string, opts: Partial<DevWfmOptions> & { publicUrl?: string } = {}): Promise<StartedDevWfm> {
  return startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", ...opts });
}

export async function getManifest(wfm: StartedDevWfm, clientId = "client-1", headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${wfm.url}/api/v1/clients/${clientId}/deployments`, { headers: { Accept: MANIFEST_TYPE, ...headers } });
}

export interface ManifestJson {
  manifestVersion: number;
  bundle: { mediaType: string; digest: string; sizeBytes: number; url: string } | null;
  deployments: Array<{ deploymentId: string; digest: string; sizeBytes: number; url: string }>;
}

export async function manifestJson(wfm: StartedDevWfm, clientId = "client-1"): Promise<ManifestJson> {
  const res = await getManifest(wfm, clientId);
  if (res.status !== 200) throw new Error(`manifest: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as ManifestJson;
}

export function statusBody(deploymentId: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "deployment.margo.org/v1alpha1",
    kind: "DeploymentStatusManifest",
    deploymentId,
    adoptedManifestVersion: 1,
    status: { state },
    components: [{ name: "web", state }],
    ...extra,
  };
}

export async function postStatus(wfm: StartedDevWfm, clientId: string, deploymentId: string, body: unknown): Promise<Response> {
  return fetch(`${wfm.url}/api/v1/clients/${clientId}/deployments/${deploymentId}/status`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
