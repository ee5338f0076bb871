import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

/** node:util parseArgs (portable across Bun, Deno and Node) with usage errors we can print. */
export function parse<T extends ParseArgsConfig["options"]>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Flags every command that reads the configuration understands. */
export const CONFIG_FLAGS = {
  config: { type: "string", short: "c" },
  set: { type: "string", multiple: true },
  "wfm-url": { type: "string" },
  "data-dir": { type: "string" },
  runtime: { type: "string" },
  "log-level": { type: "string" },
} as const;

export const CONFIG_FLAGS_HELP = `  -c, --config FILE      configuration file (default /etc/margo-agent/config.yaml, or $MARGO_AGENT_CONFIG)
      --set KEY=VALUE    override one key, e.g. --set poll.interval=10s (repeatable)
      --wfm-url URL      same as --set wfm.url=URL
      --data-dir DIR     same as --set dataDir=DIR
      --runtime KIND     same as --set runtime=KIND (auto|podman|compose|simulated)
      --log-level LEVEL  same as --set log.level=LEVEL
  Environment variables MARGO_AGENT_<KEY> override the file (e.g. MARGO_AGENT_WFM_URL);
  flags override both. 'margo-agent config keys' lists every key.`;
