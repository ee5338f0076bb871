import { existsSync } from "node:fs";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

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
