import { AgentUnreachable, ApiError } from "../../api/client.ts";
import { clientForConfig } from "../../api/connect.ts";
import type { Verdict } from "../../api/source.ts";
import { configFileProblems } from "../../config/files.ts";
import type { Config } from "../../config/schema.ts";
import { AgentError } from "../../errors/index.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import { engineCheck } from "../check/engine.ts";
import { error, exitCodeOf, type Finding, ok, report, skipped, warning } from "../check/finding.ts";
import { dataDirCheck, diskCheck, identityCheck, lockCheck, storeAndJournalChecks, storedClientId } from "../check/local.ts";
import { renderCheck } from "../check/render.ts";
import { wfmChecks } from "../check/wfm.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { configFromFlags } from "../load-config.ts";
import { colorEnabled, painter } from "../render/color.ts";

/** The running agent, asked through its local API: alive, and healthy by its own /healthz. */
async function agentCheck(config: Config): Promise<Finding> {
  const client = clientForConfig(config, 10_000);
  if (!client) return skipped("agent", "the local API is disabled (api.enabled=false): the running agent cannot be asked");
  try {
    const health = await client.get<Verdict>("/healthz");
    return health.ok ? ok("agent", `running, its local API answers at ${client.where}`) : error("agent", `running but not healthy: ${health.reasons.join("; ")}`);
  } catch (err) {
    if (err instanceof AgentUnreachable) return warning("agent", `not running: ${err.message}`);
    if (err instanceof ApiError) return error("agent", `its local API answers with an error: ${err.message}`);
    throw err;
  }
}

export const checkCommand: Command = {
  name: "check",
  summary: "diagnose this device: config, data dir, WFM, TLS, clock, engine, disk, journal",
  usage: `Usage: margo-agent check [--json] [options]

Diagnoses the device the way the agent would run on it, without changing
anything (a running agent is not disturbed): the configuration and the files
it names; the data directory, its lock and the state database; the journal's
backlog and parked reports; the disk reserve; the device certificate and
onboarding; the WFM (reachable, TLS certificate trusted and not expiring, the
device clock against its Date header, this client still accepted); the
container engine and its version; the running agent's health.

Each check is ok, warning or error (with its error code).

  --json                 print {ok, errors, warnings, config, checks: [{check, level, message, code?}]}
${CONFIG_FLAGS_HELP}

Exit codes: 0 every check passed, 1 warnings only, 2 errors (3 is not used:
an invalid configuration is an error here).`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, json: { type: "boolean" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const paint = painter(!values.json && colorEnabled(process.stdout));
    const findings: Finding[] = [];
    let config: Config | undefined;
    let file: string | undefined;
    try {
      ({ config, file } = configFromFlags(values));
      findings.push(ok("config", `valid${file ? ` (${file})` : " (defaults, variables and flags only)"}`));
    } catch (err) {
      if (!(err instanceof AgentError)) throw err;
      const problems = (err.details as { problems?: string[] }).problems ?? [err.message];
      for (const p of problems) findings.push(error("config", p, err.code));
    }
    if (config) {
      const files = configFileProblems(config);
      if (files.length) for (const p of files) findings.push(error("files", `${p.key}: ${p.message}`, p.code));
      else findings.push(ok("files", "every file the configuration names is there and readable"));
      const { bunPlatform: platform } = await import("../../platform/bun/index.ts");
      const nowMs = Date.now();
      findings.push(dataDirCheck(config), lockCheck(config, platform), ...storeAndJournalChecks(config, platform), await diskCheck(config));
      const clientId = storedClientId(config, platform);
      findings.push(identityCheck(config, clientId, nowMs));
      findings.push(...(await wfmChecks(config, platform, clientId, nowMs)));
      findings.push(await engineCheck(config, platform), await agentCheck(config));
    }
    const r = report(file ?? null, findings);
    console.log(values.json ? JSON.stringify(r, null, 2) : renderCheck(r, paint));
    return exitCodeOf(r);
  },
};
