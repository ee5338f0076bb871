/**
 * Builds a real Agent in-process for tests: real SQLite file in a temp dir,
 * real HTTP to the given WFM, the runtime of the test's choice (simulated by
 * default), the real package resolver.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../runtimes/simulated/index.ts";
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import { bunPlatform } from "../../src/platform/bun/index.ts";
import { agentDeps } from "./agent-deps.ts";
import { Agent } from "../../src/agent/agent.ts";
import { packageResolver } from "../../src/bootstrap/resolve-components.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { createLogger, type Logger } from "../../src/log.ts";

export interface Harness {
  agent: Agent;
  config: Config;
  runtime: RuntimeAdapter;
  dataDir: string;
  logs: () => Record<string, unknown>[];
}

/** A logger that keeps its JSON lines in memory, for assertions on logged failures. */
export function memoryLogger(level = "debug"): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const log = createLogger(level, { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream);
  return { log, lines: () => chunks.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The settings of an in-process test agent: a plain-http WFM, a fixed clientId, the simulated runtime, no timers of its own, no local API. */
export function testAgentSets(wfmUrl: string, dataDir: string, clientId = "test-device"): string[] {
  return [
    `wfm.url=${wfmUrl}`,
    "wfm.allowInsecureHttp=true",
    `wfm.clientId=${clientId}`,
    `dataDir=${dataDir}`,
    "runtime=simulated",
    "packages.allowInsecureHttp=true",
    "packages.reserve=1MiB",
    "poll.interval=1h",
    "reconcile.driftInterval=0",
    "api.enabled=false",
  ];
}

export function makeAgent(opts: { wfmUrl: string; dataDir?: string; clientId?: string; runtime?: RuntimeAdapter; sets?: string[] }): Harness {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "agent-"));
  const config = loadConfig({
    sets: [
      "wfm.profile=v1", // the default is rc3 (issue 12); these agents talk to v1 WFMs
      ...testAgentSets(opts.wfmUrl, dataDir, opts.clientId),
      ...(opts.sets ?? []),
    ],
  });
  const runtime = opts.runtime ?? new SimulatedRuntime({ dataDir });
  const { log, lines } = memoryLogger();
  const agent = new Agent(agentDeps({ config, runtime, resolve: packageResolver(config, bunPlatform), log, clientId: () => config.wfm.clientId ?? undefined }));
  return { agent, config, runtime, dataDir, logs: lines };
}

/** Waits until the journal is empty (every report delivered) or fails after timeoutMs. */
export async function drained(agent: Agent, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (agent.journal.counts().pending > 0) {
    if (Date.now() > deadline) throw new Error(`journal not drained: ${JSON.stringify(agent.journal.counts())}`);
    agent.sender.retryNow();
    await Bun.sleep(20);
  }
}
