import { AgentUnreachable, ApiError } from "../../api/client.ts";
import { clientForConfig } from "../../api/connect.ts";
import type { SyncResultView } from "../../api/source.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";

const DESCRIBE: Record<string, string> = {
  "not-modified": "the WFM has nothing new",
  applied: "a new desired state was applied",
  rejected: "the WFM's desired state was refused; current workloads kept",
  "still-rejected": "the WFM still serves the desired state refused earlier",
  unreachable: "the WFM did not answer",
  running: "still running (a reconcile under way takes longer than --wait); `margo-agent status` shows its progress",
};

export const syncCommand: Command = {
  name: "sync",
  summary: "ask the running agent to poll the WFM now",
  usage: `Usage: margo-agent sync [--force] [--wait SECONDS] [--json] [options]

Asks the running agent to poll the WFM now (POST /v1/sync on its local API,
with api.token when one is configured) and prints the outcome, including the
reconcile steps a new desired state caused. Pending status reports are retried
at once too.

  --force                go ahead with updates and removals that workloads'
                         update locks defer (README "Update locks")
  --wait SECONDS         wait at most this long for the outcome (default 60); a
                         sync still running then goes on, and this says so
  --json                 print the API's JSON
${CONFIG_FLAGS_HELP}

Exit codes: 0 polled (nothing new, or applied) or still running after --wait,
1 the WFM did not answer or its desired state was refused, 3 invalid
configuration, 4 agent not running.`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, json: { type: "boolean" }, force: { type: "boolean" }, wait: { type: "string" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const wait = values.wait === undefined ? 60 : /^\d{1,4}$/.test(values.wait) && Number(values.wait) <= 3600 ? Number(values.wait) : NaN;
    if (Number.isNaN(wait)) throw new UsageError(`--wait ${values.wait}: expected whole seconds from 0 to 3600`);
    const loaded = commandConfig(values, "sync");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    // The agent answers within --wait (202 "running" after it): the connection waits a little longer.
    const client = clientForConfig(config, (wait + 30) * 1000);
    if (!client) {
      console.error("margo-agent sync: the local API is disabled (api.enabled=false); the agent cannot be asked");
      return EXIT.AGENT_DOWN;
    }
    let result: SyncResultView;
    try {
      result = await client.post<SyncResultView>(`/v1/sync?wait=${wait}${values.force ? "&force=true" : ""}`);
    } catch (err) {
      if (err instanceof AgentUnreachable) {
        console.error(`margo-agent sync: the agent is not running: ${err.message}`);
        return EXIT.AGENT_DOWN;
      }
      if (err instanceof ApiError) {
        console.error(`margo-agent sync: ${err.message}${err.status === 401 ? " (set api.token in the configuration this command reads)" : ""}`);
        return EXIT.FAILURE;
      }
      throw err;
    }
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else {
      const took = result.outcome === "running" ? `after ${Math.round(result.durationMs / 1000)} s` : `in ${result.durationMs} ms`;
      const lines = [`${result.outcome}: ${DESCRIBE[result.outcome] ?? ""}${result.manifestVersion ? ` (manifestVersion ${result.manifestVersion})` : ""} ${took}`];
      if (result.error) lines.push(`  ${result.error.code}: ${result.error.message}`);
      for (const s of result.steps) lines.push(`  ${s.action} ${s.deploymentId} → ${s.state}${s.error ? ` (${s.error.code}: ${s.error.message})` : ""}`);
      console.log(lines.join("\n"));
    }
    return result.outcome === "unreachable" || result.outcome === "rejected" || result.outcome === "still-rejected" ? EXIT.FAILURE : EXIT.OK;
  },
};
