#!/usr/bin/env bun
/**
 * margo-agent's command line. Each command lives in src/cli/commands/ and is
 * loaded only when used, so `version` or `status` start fast.
 */
import { UsageError } from "./cli/args.ts";
import type { Command } from "./cli/command.ts";
import { EXIT } from "./cli/exit-codes.ts";

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: "run the agent: poll the WFM, reconcile, report", load: async () => (await import("./cli/commands/run.ts")).runCommand },
  status: { summary: "show what runs, what failed and what waits to be reported", load: async () => (await import("./cli/commands/status.ts")).statusCommand },
  deployments: { summary: "list deployments, or show one in detail", load: async () => (await import("./cli/commands/deployments.ts")).deploymentsCommand },
  journal: { summary: "list the status reports waiting for the WFM, and those it rejected", load: async () => (await import("./cli/commands/journal.ts")).journalCommand },
  logs: { summary: "show a deployment's container logs, --follow to stream", load: async () => (await import("./cli/commands/logs.ts")).logsCommand },
  sync: { summary: "ask the running agent to poll the WFM now", load: async () => (await import("./cli/commands/sync.ts")).syncCommand },
  restart: { summary: "restart a deployment's containers, reported to the WFM", load: async () => (await import("./cli/commands/restart.ts")).restartCommand },
  check: { summary: "diagnose this device: config, data dir, WFM, TLS, clock, engine, disk, journal", load: async () => (await import("./cli/commands/check.ts")).checkCommand },
  onboard: { summary: "onboard this device with the WFM and print the clientId", load: async () => (await import("./cli/commands/onboard.ts")).onboardCommand },
  decommission: { summary: "tell the WFM to forget this device (rc3: DELETE its capabilities)", load: async () => (await import("./cli/commands/decommission.ts")).decommissionCommand },
  config: { summary: "check the configuration, or list its keys", load: async () => (await import("./cli/commands/config.ts")).configCommand },
  package: { summary: "build, push and inspect Margo compose archives (OCI artifacts)", load: async () => (await import("./cli/commands/package.ts")).packageCommand },
  "dev-wfm": { summary: "run a development WFM serving a folder of ApplicationDeployments", load: async () => (await import("./cli/commands/dev-wfm.ts")).devWfmCommand },
  simulate: { summary: "run many simulated devices against a WFM (load-testing)", load: async () => (await import("./cli/commands/simulate.ts")).simulateCommand },
  version: { summary: "print the version and build", load: async () => (await import("./cli/commands/version.ts")).versionCommand },
};

const USAGE = `margo-agent: the Margo Workload Fleet Management Client

Usage: margo-agent <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join("\n")}

'margo-agent <command> --help' tells more. Exit codes: 0 ok, 1 failure,
2 usage error, 3 invalid configuration, 4 agent not running (check: 0 ok,
1 warnings, 2 errors).`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? EXIT.OK : EXIT.USAGE;
  }
  if (name === "--version" || name === "-v") return main(["version"]);
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`margo-agent: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const command = await entry.load();
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`margo-agent ${name}: ${err.message}\n\n${command.usage}`);
      return EXIT.USAGE;
    }
    throw err;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`margo-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = EXIT.FAILURE;
    },
  );
}
