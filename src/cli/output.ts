/**
 * `-o table|json|yaml` for every read command (kubectl's `get -o`): a table for
 * people by default; JSON and YAML for scripts, the local API's documented
 * views unchanged (README "Local status API"), so a script reads the same
 * fields whether it asks the CLI or the API. `--json` stays as `-o json`.
 */
import YAML from "yaml";
import { UsageError } from "./args.ts";

export const OUTPUT_FLAGS = {
  output: { type: "string", short: "o" },
  json: { type: "boolean" },
} as const;

export const OUTPUT_HELP = `  -o, --output FORMAT    table (default), json or yaml; json and yaml are stable for scripts
      --json             same as -o json`;

export type OutputFormat = "table" | "json" | "yaml";

export function outputFormat(values: { output?: string; json?: boolean }): OutputFormat {
  if (values.json && values.output !== undefined && values.output !== "json") throw new UsageError(`--json and -o ${values.output} disagree`);
  const f = values.output ?? (values.json ? "json" : "table");
  if (f !== "table" && f !== "json" && f !== "yaml") throw new UsageError(`-o ${f}: expected table, json or yaml`);
  return f;
}

/** The data as JSON (2-space indent) or YAML; undefined for table (the command renders its own). */
export function formatData(format: OutputFormat, data: unknown): string | undefined {
  if (format === "json") return JSON.stringify(data, null, 2);
  if (format === "yaml") return YAML.stringify(data, { lineWidth: 0 }).trimEnd();
  return undefined;
}
