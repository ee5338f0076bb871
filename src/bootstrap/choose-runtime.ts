/**
 * Picks the runtime adapter for the configured kind. "auto" takes the first
 * engine that answers (Podman, then Docker); with none, the unsupported runtime
 * makes every deployment fail with ENGINE_NOT_FOUND instead of crashing.
 */
import { join } from "node:path";
import { createRuntime } from "../../runtimes/detect.ts";
import { defaultBaseEnv } from "../../runtimes/shared/compose-adapter.ts";
import { SimulatedRuntime } from "../../runtimes/simulated/index.ts";
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import { createUnsupportedRuntime } from "../../runtimes/unsupported/index.ts";
import type { Config } from "../config/schema.ts";
import type { Platform } from "../platform/types.ts";
import { engineCredentialsDir } from "./engine-credentials.ts";

export async function chooseRuntime(config: Config, platform: Platform, opts: { simulatedDelayMs?: number } = {}): Promise<RuntimeAdapter> {
  if (config.runtime === "simulated") {
    return new SimulatedRuntime({ dataDir: config.dataDir, applyDelayMs: opts.simulatedDelayMs ?? 0 });
  }
  const credentials = await engineCredentialsDir(config);
  const adapter = await createRuntime(config.runtime, {
    platform,
    runDir: join(config.dataDir, "run"),
    removeVolumes: config.reconcile.removeVolumes,
    baseEnv: credentials ? { ...defaultBaseEnv(), DOCKER_CONFIG: credentials } : undefined,
  });
  return adapter ?? createUnsupportedRuntime("neither Podman nor Docker with a compose tool answered (runtime: auto)");
}
