/**
 * Choosing the container runtime adapter. "auto" prefers Podman (daemonless,
 * rootless-capable), then Docker; each probe is one short version call plus the
 * compose tool check. null means "no real engine": the caller plugs in the
 * simulated or unsupported runtime.
 */
import type { Platform } from "../src/platform/types.ts";
import type { ComposeAdapter } from "./shared/compose-adapter.ts";
import type { ComposeToolKind } from "./shared/compose-tool.ts";

export type RuntimeKind = "auto" | "podman" | "compose" | "simulated";

export interface RuntimeDeps {
  platform: Pick<Platform, "run" | "spawnStreaming">;
  /** Directory for runtime sockets (the agent-started Podman API service). Keep the path short. */
  runDir: string;
  /** Delete named volumes when a component is removed. Default false. */
  removeVolumes?: boolean;
  /** Pin the compose tool; default "auto" (v2 plugin, else v1). */
  composeTool?: ComposeToolKind | "auto";
  /** An existing Podman API socket to use instead of starting one. */
  podmanSocket?: string;
  /** The compose tool's environment (default: defaultBaseEnv()); the agent adds DOCKER_CONFIG for registry credentials. */
  baseEnv?: Record<string, string>;
}

/** The adapter for `kind`; for "auto", the first engine that answers, or null when none does. */
export async function createRuntime(kind: RuntimeKind, deps: RuntimeDeps): Promise<ComposeAdapter | null> {
  // Loaded only when chosen (separate chunks in the executable): a simulated
  // agent never parses the compose adapter, a Docker one never Podman's.
  const podman = async () =>
    (await import("./podman/index.ts")).createPodmanRuntime({
      platform: deps.platform,
      runDir: deps.runDir,
      socketPath: deps.podmanSocket,
      removeVolumes: deps.removeVolumes,
      composeTool: deps.composeTool,
      baseEnv: deps.baseEnv,
    });
  const compose = async () => (await import("./compose/index.ts")).createComposeRuntime({ platform: deps.platform, removeVolumes: deps.removeVolumes, composeTool: deps.composeTool, baseEnv: deps.baseEnv });
  switch (kind) {
    case "simulated":
      return null;
    case "podman":
      return podman();
    case "compose":
      return compose();
    case "auto": {
      const run = deps.platform.run.bind(deps.platform);
      const [{ defaultBaseEnv }, { findComposeTool }] = await Promise.all([import("./shared/compose-adapter.ts"), import("./shared/compose-tool.ts")]);
      const env = deps.baseEnv ?? defaultBaseEnv();
      const pin = deps.composeTool ?? "auto";
      const tool = await findComposeTool(run, env, pin === "auto" ? ["v2", "v1"] : [pin]);
      if (!tool) return null;
      if (await answers(run, env, ["podman", "version", "--format", "{{.Server.Version}}"])) return podman();
      if (await answers(run, env, ["docker", "version", "--format", "{{.Server.Version}}"])) return compose();
      return null;
    }
  }
}

async function answers(run: Platform["run"], env: Record<string, string>, argv: string[]): Promise<boolean> {
  const r = await run(argv, { env, timeoutMs: 10_000 });
  return r.code === 0 && r.stdout.trim() !== "";
}
