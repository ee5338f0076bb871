/**
 * The compose tool: Docker Compose v2 (`docker compose`, a CLI plugin) when
 * present, else docker-compose v1 (`docker-compose`). Both take the same flags
 * for what we use; they differ in the argv prefix, in container naming (which we
 * never rely on: labels only) and in v1 needing the compose files for `down`.
 */
import type { Platform } from "../../src/platform/types.ts";

export type ComposeToolKind = "v2" | "v1";

export interface ComposeTool {
  kind: ComposeToolKind;
  /** argv prefix: ["docker", "compose"] or ["docker-compose"]. */
  argv: string[];
  version: string;
}

export const COMPOSE_TOOL_ARGV: Record<ComposeToolKind, string[]> = {
  v2: ["docker", "compose"],
  v1: ["docker-compose"],
};

/** Finds the first working compose tool among `prefer` (in order); null when none answers. */
export async function findComposeTool(
  run: Platform["run"],
  env: Record<string, string>,
  prefer: ComposeToolKind[] = ["v2", "v1"],
): Promise<ComposeTool | null> {
  for (const kind of prefer) {
    const argv = COMPOSE_TOOL_ARGV[kind];
    const r = await run([...argv, "version", "--short"], { env, timeoutMs: 15_000 });
    const version = r.stdout.trim().split("\n")[0] ?? "";
    if (r.code === 0 && /^v?\d+\.\d+/.test(version)) return { kind, argv, version };
  }
  return null;
}

/**
 * The project-scoped part of a compose command line, the same for v1 and v2.
 * `envFile` replaces the project's `.env` for interpolation and tool settings
 * (both versions read only the file given, not the package's `.env`).
 */
export function composeArgv(tool: Pick<ComposeTool, "argv">, project: string, files: string[], sub: string[], envFile?: string): string[] {
  return [...tool.argv, "--project-name", project, ...files.flatMap((f) => ["--file", f]), ...(envFile ? ["--env-file", envFile] : []), ...sub];
}

/** `up -d` limited to this project; orphans are containers of this project only. */
export const UP = ["up", "--detach", "--remove-orphans"];

export function downArgs(removeVolumes: boolean): string[] {
  return ["down", "--remove-orphans", ...(removeVolumes ? ["--volumes"] : [])];
}
