/**
 * Starts the local API beside a running agent. The `run` command imports this
 * file lazily, and only when api.enabled, so a disabled API costs nothing.
 */
import { chmodSync } from "node:fs";
import type { AgentReadModel } from "../agent/read-model.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { agentStatusSource } from "./agent-source.ts";
import { createLocalApi } from "./app.ts";
import { assertSafeBinding, boundSocket, clientBaseUrl, parseListen, releaseSocketPath } from "./listen.ts";

export interface StartLocalApiOptions {
  /** The running agent's read model (Agent.readModel()). */
  agent: AgentReadModel;
  config: Config;
  platform: Platform;
  log: Logger;
}

export interface LocalApiHandle {
  /** http://HOST:PORT, or unix:/path for a socket. */
  url: string;
  stop(): Promise<void>;
}

/** Throws AgentError CONFIG_INVALID (naming api.listen and api.token) for an unsafe binding. */
export function startLocalApi({ agent, config, platform, log }: StartLocalApiOptions): LocalApiHandle {
  const target = parseListen(config.api.listen);
  assertSafeBinding(target, config.api.token);
  const app = createLocalApi(agentStatusSource(agent, { config, executablePath: platform.executablePath() }), { token: config.api.token });
  const fetch = (req: Request, peer: { address: string | null }) => app.fetch(req, { peer });
  if (target.kind === "unix") {
    // Nothing is removed here: `run` clears only a stale socket first (claimSocketPath); anything else makes the bind fail.
    const server = platform.serve(fetch, { hostname: "", port: 0, unix: target.path });
    const bound = boundSocket(target.path);
    // Owner and group only: the group is how a field engineer's account is let in.
    chmodSync(target.path, 0o660);
    log.info({ listen: `unix:${target.path}` }, "local API listening");
    return {
      url: `unix:${target.path}`,
      stop: async () => {
        await server.stop();
        releaseSocketPath(target.path, bound);
      },
    };
  }
  const server = platform.serve(fetch, { hostname: target.hostname, port: target.port });
  const url = clientBaseUrl({ ...target, port: server.port });
  log.info({ listen: url, auth: config.api.token ? "bearer token required off loopback" : "none (loopback only)" }, "local API listening");
  return { url, stop: () => server.stop() };
}
