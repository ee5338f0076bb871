import { configKeys, envNameFor } from "../../config/load.ts";
import { AgentError } from "../../errors/index.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { runnableConfig } from "../load-config.ts";

export const configCommand: Command = {
  name: "config",
  summary: "check the configuration, or list its keys",
  usage: `Usage: margo-agent config check [--config FILE] [--json]
       margo-agent config keys

check   validates the configuration (file, environment, flags) and the files
        it names (wfm.caFile, identity.keyFile/certFile) exactly as 'run' does,
        and prints the effective values; exit 0 when valid, 3 when not, with
        every problem named by key, value and source.
keys    lists every key with its environment variable.

${CONFIG_FLAGS_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONFIG_FLAGS, json: { type: "boolean" } }, true);
    const sub = positionals[0];
    if (values.help || !sub) {
      console.log(this.usage);
      return values.help ? EXIT.OK : EXIT.USAGE;
    }
    if (sub === "keys") {
      for (const key of configKeys()) console.log(`${key.padEnd(32)} ${envNameFor(key)}`);
      return EXIT.OK;
    }
    if (sub !== "check") {
      console.error(`margo-agent config: unknown subcommand ${JSON.stringify(sub)}\n\n${this.usage}`);
      return EXIT.USAGE;
    }
    try {
      const { config, file } = runnableConfig(values);
      const shown = { ...config, api: { ...config.api, token: config.api.token ? "[set]" : null } };
      if (values.json) console.log(JSON.stringify({ valid: true, file: file ?? null, config: shown }));
      else console.log(`config OK${file ? ` (${file})` : " (defaults and environment only)"}\n${JSON.stringify(shown, null, 2)}`);
      return EXIT.OK;
    } catch (err) {
      if (!(err instanceof AgentError)) throw err;
      const problems = (err.details.problems as string[] | undefined) ?? [err.message];
      if (values.json) console.log(JSON.stringify({ valid: false, code: err.code, problems }));
      else console.error(`config invalid (${err.code}):\n${problems.map((p) => `  - ${p.replace(/^config: /, "")}`).join("\n")}`);
      return EXIT.CONFIG;
    }
  },
};
