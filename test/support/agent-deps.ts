/**
 * AgentDeps the way the bootstrap builds them (src/bootstrap/bootstrap.ts), for
 * tests that build an Agent in-process: a real store file in config.dataDir,
 * one real WFM client over HTTP, no background tasks unless given.
 */
import { mkdirSync } from "node:fs";
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { AgentDeps } from "../../src/agent/agent.ts";
import { systemClock } from "../../src/agent/clock.ts";
import { ClockOffset } from "../../src/agent/clock-offset.ts";
import type { BackgroundTask } from "../../src/agent/tasks.ts";
import { createWfmClient } from "../../src/bootstrap/bootstrap.ts";
import type { WfmSession } from "../../src/agent/session.ts";
import type { Config } from "../../src/config/schema.ts";
import { loadWfmTls } from "../../src/config/wfm-tls.ts";
import type { Logger } from "../../src/log.ts";
import { bunPlatform } from "../../src/platform/bun/index.ts";
import type { ComponentResolver } from "../../src/reconcile/component-resolver.ts";
import { StateStore, stateDbPath } from "../../src/store/state-store.ts";

export interface TestAgentParts {
  config: Config;
  runtime: RuntimeAdapter;
  resolve: ComponentResolver;
  log: Logger;
  clientId?: () => string | undefined;
  tasks?: BackgroundTask[];
  random?: () => number;
}

export function agentDeps(o: TestAgentParts): AgentDeps {
  mkdirSync(o.config.dataDir, { recursive: true, mode: 0o700 });
  const store = StateStore.openFile((path) => bunPlatform.openDatabase(path), stateDbPath(o.config.dataDir), systemClock());
  const tls = loadWfmTls(o.config.wfm.caFile);
  const session: WfmSession = {
    profile: "v1",
    deviceId: o.config.device.id ?? "test-device",
    config: o.config,
    fetch: (url, init) => bunPlatform.fetch(url, init, tls),
    clientId: o.clientId ?? (() => o.config.wfm.clientId ?? undefined),
    tasks: o.tasks ?? [],
    describe: () => ({ profile: "v1", id: "test", warnings: [] }),
  };
  const clockOffset = new ClockOffset(o.log);
  const client = createWfmClient(session, clockOffset, "margo-agent/test");
  return { config: o.config, runtime: o.runtime, resolve: o.resolve, log: o.log, store, client, clockOffset, session, random: o.random };
}
