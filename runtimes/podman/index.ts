/**
 * The Podman adapter: docker-compose (or Docker Compose v2) against Podman's
 * Docker-compatible API socket. README.md explains the choice with measurements.
 */
import { join } from "node:path";
import type { Platform } from "../../src/platform/types.ts";
import { ComposeAdapter, type ComposeAdapterOptions, defaultBaseEnv } from "../shared/compose-adapter.ts";
import { PodmanEngine } from "./podman-engine.ts";

export interface PodmanRuntimeOptions {
  platform: Pick<Platform, "run" | "spawnStreaming">;
  /** Directory for the agent-started API socket (short path: unix sockets are limited to ~100 bytes). */
  runDir: string;
  /** Use an existing API socket instead (e.g. /run/podman/podman.sock from systemd socket activation). */
  socketPath?: string;
  /** Seconds an agent-started API service stays up after its last use. Default 120. */
  idleSeconds?: number;
  removeVolumes?: boolean;
  composeTool?: ComposeAdapterOptions["composeTool"];
  baseEnv?: Record<string, string>;
  pollMs?: number;
  podman?: string;
  watchBackoff?: ComposeAdapterOptions["watchBackoff"];
}

export function createPodmanRuntime(opts: PodmanRuntimeOptions): ComposeAdapter {
  const run = opts.platform.run.bind(opts.platform);
  const baseEnv = opts.baseEnv ?? defaultBaseEnv();
  const engine = new PodmanEngine({
    run,
    env: baseEnv,
    podman: opts.podman,
    socketPath: opts.socketPath ?? join(opts.runDir, "podman.sock"),
    idleSeconds: opts.idleSeconds,
  });
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
