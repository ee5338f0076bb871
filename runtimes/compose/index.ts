/**
 * The compose adapter: Docker Engine driven by Docker Compose (v2 plugin when
 * present, else docker-compose v1).
 */
import type { Platform } from "../../src/platform/types.ts";
import { ComposeAdapter, type ComposeAdapterOptions, defaultBaseEnv } from "../shared/compose-adapter.ts";
import { DockerEngine } from "./docker-engine.ts";

export interface ComposeRuntimeOptions {
  platform: Pick<Platform, "run" | "spawnStreaming">;
  removeVolumes?: boolean;
  composeTool?: ComposeAdapterOptions["composeTool"];
  baseEnv?: Record<string, string>;
  pollMs?: number;
  docker?: string;
  watchBackoff?: ComposeAdapterOptions["watchBackoff"];
}

export function createComposeRuntime(opts: ComposeRuntimeOptions): ComposeAdapter {
  const run = opts.platform.run.bind(opts.platform);
  const baseEnv = opts.baseEnv ?? defaultBaseEnv();
  const engine = new DockerEngine({ run, env: baseEnv, docker: opts.docker });
  return new ComposeAdapter({
    run,
    engine,
    baseEnv,
    removeVolumes: opts.removeVolumes,
    composeTool: opts.composeTool,
    pollMs: opts.pollMs,
    watchBackoff: opts.watchBackoff,
    spawnStreaming: opts.platform.spawnStreaming?.bind(opts.platform),
  });
}

export { ComposeAdapter };
