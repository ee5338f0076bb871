/**
 * A real Agent for the API tests: real SQLite in a temp dir, the simulated
 * runtime, a resolver that writes each component's compose file locally, and
 * the tiny WFM above over real HTTP.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { agentDeps } from "../../support/agent-deps.ts";
import { Agent } from "../../../src/agent/agent.ts";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { silentLogger } from "../../../src/log.ts";
import type { ComponentResolver } from "../../../src/reconcile/component-resolver.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, wfmUrl: string, sets: string[] = []): Config {
  return loadConfig({
    env: {},
    sets: ["wfm.profile=v1", `wfm.url=${wfmUrl}`, "wfm.clientId=dev-1", "wfm.allowInsecureHttp=true", "wfm.requestTimeout=5s", `dataDir=${dataDir}`, "runtime=simulated", "poll.interval=1h", "reconcile.driftInterval=0s", "journal.retryMax=1h", ...sets],
  });
}

/** Writes the compose file the simulated runtime reads; a failing deployment's YAML carries its fault marker. */
function resolver(dir: string, delayMs = 0): ComponentResolver {
  return async (deployment, component) => {
    if (delayMs > 0) await Bun.sleep(delayMs); // a package download that takes a while
    const file = join(dir, "packages", deployment.id, component.name, "compose.yaml");
    mkdirSync(join(file, ".."), { recursive: true });
    const fail = component.packageLocation?.includes("broken") ? "x-simulated-fail: image registry.example/broken:1 not found\n" : "";
    const text = `services:\n  ${component.name}:\n    image: busybox\n${fail}`;
    writeFileSync(file, text);
    return { name: component.name, composeFile: file, packageDigest: sha256Digest(text), env: deployment.env[component.name] ?? {}, wait: component.wait, timeoutMs: component.timeoutMs };
  };
}

export function buildAgent(config: Config, opts: { resolveDelayMs?: number } = {}): Agent {
  return new Agent(agentDeps({ config, runtime: new SimulatedRuntime({ dataDir: config.dataDir }), resolve: resolver(config.dataDir, opts.resolveDelayMs), log: silentLogger, clientId: () => "dev-1" }));
}
