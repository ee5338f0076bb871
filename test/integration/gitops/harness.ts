/**
 * An in-process Agent whose desired state comes from a real Git server on
 * loopback (test/support/git-server.ts): the real GitOps source, real git, a real
 * SQLite file, the simulated runtime, and a fake WFM that takes status reports
 * and serves the compose package the YAMLs name.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { Agent } from "../../../src/agent/agent.ts";
import { packageResolver } from "../../../src/bootstrap/resolve-components.ts";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { gitSourceFactory } from "../../../src/gitops/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { agentDeps } from "../../support/agent-deps.ts";
import { memoryLogger, testAgentSets } from "../../support/agent-harness.ts";
import { type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";
import { applicationDeploymentYaml } from "../../support/deployment-yaml.ts";

export const DEVICE = "edge-001";

export interface GitAgent {
  agent: Agent;
  config: Config;
  dataDir: string;
  logs: () => Record<string, unknown>[];
}

export async function makeGitAgent(opts: { wfm: FakeWfm; gitUrl: string; dataDir?: string; sets?: string[]; now?: () => number }): Promise<GitAgent> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "agent-git-"));
  const config = loadConfig({
    sets: [
      ...testAgentSets(opts.wfm.url, dataDir),
      `device.id=${DEVICE}`,
      "desiredState.source=git",
      `git.url=${opts.gitUrl}`,
      "git.allowInsecureHttp=true",
      "git.path=fleet/devices/{deviceId}",
      ...(opts.sets ?? []),
    ],
  });
  const runtime = new SimulatedRuntime({ dataDir });
  const { log, lines } = memoryLogger();
  const source = await gitSourceFactory(config, bunPlatform, DEVICE, { now: opts.now });
  const agent = new Agent({ ...agentDeps({ config, runtime, resolve: packageResolver(config, bunPlatform), log }), source });
  return { agent, config, dataDir, logs: lines };
}

/** The fake WFM every GitOps test reports to, serving the one compose package appYaml names (its web service takes VALUE). */
export function startPackageWfm(): FakeWfm {
  const wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", 'services:\n  web:\n    image: localhost/margo-test/busybox:1\n    environment: {VALUE: "${VALUE}"}\n');
  return wfm;
}

/** An ApplicationDeployment whose one component is the fake WFM's compose package. */
export function appYaml(id: string, wfm: FakeWfm, value = "v1"): string {
  return applicationDeploymentYaml({ id, name: `app-${id}`, applicationId: "demo", component: "web", package: { packageLocation: `${wfm.url}/pkg/compose.yaml` }, value, timeout: null });
}

export const states = (wfm: FakeWfm, id: string) => wfm.reports.filter((r) => r.deploymentId === id).map((r) => (r.body.status as { state: string }).state);

export const changes = (agent: Agent) => agent.store.db.prepare<{ n: number }>("SELECT total_changes() AS n").get()!.n;
