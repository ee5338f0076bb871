import { existsSync } from "node:fs";
import { configFileProblems } from "../config/files.ts";
import { DEFAULT_CONFIG_PATH, loadConfigWithSources } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { AgentError } from "../errors/index.ts";
import { EXIT } from "./exit-codes.ts";

export interface ConfigFlagValues {
  config?: string;
  set?: string[];
  "wfm-url"?: string;
  "data-dir"?: string;
  runtime?: string;
  "log-level"?: string;
}

/** The config as a command sees it: file (flag, env or default path), then env, then flags. */
export function configFromFlags(
  values: ConfigFlagValues,
  env: Record<string, string | undefined> = process.env,
): { config: Config; file?: string; sourceOf(key: string): string } {
  const explicit = values.config ?? env.MARGO_AGENT_CONFIG;
  const file = explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const sets = [...(values.set ?? [])];
  if (values["wfm-url"]) sets.push(`wfm.url=${values["wfm-url"]}`);
  if (values["data-dir"]) sets.push(`dataDir=${values["data-dir"]}`);
  if (values.runtime) sets.push(`runtime=${values.runtime}`);
  if (values["log-level"]) sets.push(`log.level=${values["log-level"]}`);
  const { MARGO_AGENT_CONFIG: _ignored, ...rest } = env;
  const { config, sourceOf } = loadConfigWithSources({ file, env: rest, sets });
  return { config, file, sourceOf };
}

/**
 * The configuration `run` starts with, which is exactly what `config check`
 * approves: loadConfig (schema and rules across keys) plus the files it names
 * (src/config/files.ts). Throws AgentError: CONFIG_INVALID / CONFIG_NOT_FOUND
 * for the configuration itself, else the first file problem's code
 * (CA_FILE_INVALID, IDENTITY_INVALID); details.problems lists every problem.
 */
export function runnableConfig(values: ConfigFlagValues, env: Record<string, string | undefined> = process.env): { config: Config; file?: string } {
  const { config, file, sourceOf } = configFromFlags(values, env);
  const files = configFileProblems(config);
  if (files.length > 0) {
    const problems = files.map((p) => `${p.key}: ${p.message} (${p.code}; in ${sourceOf(p.key)})`);
    throw new AgentError(files[0]!.code, `config: ${problems.join("; ")}`, { problems, file });
  }
  return { config, file };
}

function reported(err: unknown, command: string): { exit: number } {
  if (!(err instanceof AgentError)) throw err;
  console.error(`margo-agent ${command}: ${err.message}`);
  return { exit: EXIT.CONFIG };
}

/**
 * The config for a command, or the exit code after printing why it is invalid
 * (every command reports a bad configuration the same way: exit 3).
 */
export function commandConfig(values: ConfigFlagValues, command: string): { config: Config } | { exit: number } {
  try {
    return { config: configFromFlags(values).config };
  } catch (err) {
    return reported(err, command);
  }
}

/** As commandConfig, for commands that use the files the config names (run, onboard). */
export function runnableCommandConfig(values: ConfigFlagValues, command: string): { config: Config } | { exit: number } {
  try {
    return { config: runnableConfig(values).config };
  } catch (err) {
    return reported(err, command);
  }
}
