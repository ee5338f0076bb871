/**
 * Shared pieces of the compose hardening tests: a hostile WFM that serves
 * ApplicationDeployments and packages (the real fake WFM over loopback), an
 * in-process agent on a real engine, and cleanup by labels.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createComposeRuntime } from "../../../runtimes/compose/index.ts";
import { createPodmanRuntime } from "../../../runtimes/podman/index.ts";
import type { RuntimeAdapter } from "../../../runtimes/types.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import type { EngineName } from "../../support/engines.ts";
import type { FakeWfm } from "../../support/fake-wfm.ts";
import { cliOf } from "../../support/images.ts";

const CLIENT = "/api/v1/clients/test-device";

export interface HostileDeployment {
  id: string;
  /** The package: a compose file, or a .tar.gz. */
  packagePath: string;
  /** spec.parameters: pointer → value, all targeting component "web". */
  parameters?: Record<string, string>;
}

/** A package as the WFM serves it: a .tar.gz of the given files; returns its bytes and the directory it unpacks to. */
export function tarPackage(files: Record<string, string | Uint8Array>, dataDir: string): { bytes: Uint8Array; dir: string } {
  const bytes = writeTarGz(Object.entries(files).map(([path, data]) => ({ path, data: typeof data === "string" ? new TextEncoder().encode(data) : data })));
  const hex = createHash("sha256").update(bytes).digest("hex");
  return { bytes, dir: join(dataDir, "packages", `sha256-${hex}`) };
}

export function deploymentYaml(d: HostileDeployment, wfmUrl: string): string {
  const params = Object.entries(d.parameters ?? {});
  return [
    "apiVersion: application.margo.org/v1alpha1",
    "kind: ApplicationDeployment",
    "metadata:",
    `  annotations: {id: ${d.id}, applicationId: hardening}`,
    `  name: app-${d.id}`,
    "spec:",
    "  deploymentProfile:",
    "    type: compose",
    "    components:",
    "      - name: web",
    `        properties: {packageLocation: "${wfmUrl}${d.packagePath}", wait: true, timeout: 30s}`,
    ...(params.length
      ? ["  parameters:", ...params.map(([pointer, value], i) => `    p${i}: {value: ${JSON.stringify(value)}, targets: [{pointer: ${JSON.stringify(pointer)}, components: [web]}]}`)]
      : []),
    "",
  ].join("\n");
}

let version = 0;

/** Serves exactly these deployments (single YAMLs and a bundle) under a new, higher manifestVersion. */
export function serveDeployments(wfm: FakeWfm, deployments: HostileDeployment[]): void {
  const docs = deployments.map((d) => [d.id, deploymentYaml(d, wfm.url)] as const);
  const bundle = writeTarGz(docs.map(([id, yaml]) => ({ path: `${id}.yaml`, data: new TextEncoder().encode(yaml) })));
  wfm.set(`${CLIENT}/bundles/${sha256Digest(bundle)}`, bundle);
  const refs = docs.map(([id, yaml]) => {
    const digest = sha256Digest(yaml);
    wfm.set(`${CLIENT}/deployments/${id}/${digest}`, yaml);
    return { deploymentId: id, digest, url: `${CLIENT}/deployments/${id}/${digest}` };
  });
  version += 1;
  wfm.setManifest(
    JSON.stringify({
      manifestVersion: version,
      bundle: refs.length ? { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: sha256Digest(bundle), url: `${CLIENT}/bundles/${sha256Digest(bundle)}` } : null,
      deployments: refs,
    }),
  );
}

/** The real adapter for `engine`, always driven by docker-compose v1 (the compose tool installed here). */
export function engineRuntime(engine: EngineName, baseEnv?: Record<string, string>): RuntimeAdapter & { close?(): Promise<void> } {
  if (engine === "podman") {
    const root = mkdtempSync(join(tmpdir(), "hard-rt-"));
    return createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30, pollMs: 250, composeTool: "v1", baseEnv });
  }
  return createComposeRuntime({ platform: bunPlatform, pollMs: 250, composeTool: "v1", baseEnv });
}

/** Container ids (any state) carrying this deployment id. */
export async function containersOf(engine: EngineName, deploymentId: string): Promise<string[]> {
  const r = await bunPlatform.run([cliOf(engine), "ps", "-aq", "--filter", `label=org.margo.deployment-id=${deploymentId}`], { timeoutMs: 30_000 });
  return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** Removes every container and network whose deployment id starts with `prefix`. */
export async function removeByPrefix(engine: EngineName, ids: string[]): Promise<void> {
  const cli = cliOf(engine);
  for (const id of ids) {
    const c = await containersOf(engine, id);
    if (c.length) await bunPlatform.run([cli, "rm", "-f", ...c], { timeoutMs: 60_000 });
    const nets = (await bunPlatform.run([cli, "network", "ls", "-q", "--filter", `label=org.margo.deployment-id=${id}`])).stdout.split("\n").filter(Boolean);
    if (nets.length) await bunPlatform.run([cli, "network", "rm", ...nets], { timeoutMs: 60_000 });
  }
}
