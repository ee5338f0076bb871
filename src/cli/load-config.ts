import { existsSync } from "node:fs";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config/load.ts";
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
export function configFromFlags(values: ConfigFlagValues, env: Record<string, string | undefined> = process.env): { config: Config; file?: string } {
  const explicit = values.config ?? env.MARGO_AGENT_CONFIG;
  const file = explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const sets = [...(values.set ?? [])];
  if (values["wfm-url"]) sets.push(`wfm.url=${values["wfm-url"]}`);
  if (values["data-dir"]) sets.push(`dataDir=${values["data-dir"]}`);
  if (values.runtime) sets.push(`runtime=${values.runtime}`);
  if (values["log-level"]) sets.push(`log.level=${values["log-level"]}`);
  const { MARGO_AGENT_CONFIG: _ignored, ...rest } = env;
  return { config: loadConfig({ file, env: rest, sets }), file };
}

/**
 * The config for a command, or the exit code after printing why it is invalid
 * (every command reports a bad configuration the same way: exit 3).
 */
export function commandConfig(values: ConfigFlagValues, command: string): { config: Config } | { exit: number } {
  try {
    return { config: configFromFlags(values).config };
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    console.error(`margo-agent ${command}: ${err.message}`);
    return { exit: EXIT.CONFIG };
  }
}
