import { BUILD } from "../../build-info.ts";
import { parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";

export const versionCommand: Command = {
  name: "version",
  summary: "print the version, commit and runtime",
  usage: `Usage: margo-agent version [--json]

Prints the agent's version and build commit.
  --json   machine-readable output`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const info = { version: BUILD.version, commit: BUILD.commit, compiled: BUILD.compiled, bun: process.versions.bun ?? null, platform: `${process.platform}-${process.arch}` };
    console.log(values.json ? JSON.stringify(info) : `margo-agent ${info.version} (commit ${info.commit}, ${info.platform}${info.bun ? `, bun ${info.bun}` : ""})`);
    return EXIT.OK;
  },
};
