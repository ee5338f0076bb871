import { AgentUnreachable, ApiError } from "../../api/client.ts";
import { clientForConfig } from "../../api/connect.ts";
import type { RestartResultView } from "../../api/source.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";
import { listFrom, resolveDeploymentId } from "../resolve-id.ts";

export const restartCommand: Command = {
  name: "restart",
  summary: "restart a deployment's containers (or one component's), reported to the WFM",
  usage: `Usage: margo-agent restart DEPLOYMENT [COMPONENT] [--force] [--wait SECONDS] [--json] [options]

Asks the running agent to restart the containers of an installed deployment
(ID or a unique prefix of it), or of one of its components, in place. It is a
change like any other: the deployment goes installing → installed (or failed,
with the cause) and the WFM is told. It waits for a reconcile under way first.
A workload holding its update lock (README "Update locks") defers it.

  --force                restart even though the workload holds its update lock
  --wait SECONDS         wait at most this long for the outcome (default 60)
  --json                 print the API's JSON
${CONFIG_FLAGS_HELP}

Exit codes: 0 restarted, 1 failed, deferred by an update lock, or no such
deployment or component (or not installed), 3 invalid configuration, 4 agent not running.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONFIG_FLAGS, json: { type: "boolean" }, force: { type: "boolean" }, wait: { type: "string" } }, true);
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError("expected DEPLOYMENT [COMPONENT]");
    const wait = values.wait === undefined ? 60 : /^\d{1,4}$/.test(values.wait) && Number(values.wait) <= 3600 ? Number(values.wait) : NaN;
    if (Number.isNaN(wait)) throw new UsageError(`--wait ${values.wait}: expected whole seconds from 0 to 3600`);
    const loaded = commandConfig(values, "restart");
    if ("exit" in loaded) return loaded.exit;
    const client = clientForConfig(loaded.config, (wait + 30) * 1000);
    if (!client) {
      console.error("margo-agent restart: the local API is disabled (api.enabled=false); the agent cannot be asked");
      return EXIT.AGENT_DOWN;
    }
    const [named, component] = positionals as [string, string | undefined];
    let result: RestartResultView;
    try {
      const found = await resolveDeploymentId(listFrom(client), named);
      if ("problem" in found) {
        console.error(`margo-agent restart: ${found.problem}`);
        return EXIT.FAILURE;
      }
      const query = new URLSearchParams({ wait: String(wait) });
      if (component) query.set("component", component);
      if (values.force) query.set("force", "true");
      result = await client.post<RestartResultView>(`/v1/deployments/${encodeURIComponent(found.id)}/restart?${query}`);
    } catch (err) {
      if (err instanceof AgentUnreachable) {
        console.error(`margo-agent restart: the agent is not running: ${err.message}`);
        return EXIT.AGENT_DOWN;
      }
      if (err instanceof ApiError) {
        console.error(`margo-agent restart: ${err.message}${err.status === 401 ? " (set api.token in the configuration this command reads)" : ""}`);
        return EXIT.FAILURE;
      }
      throw err;
    }
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else {
      const what = `${result.deploymentId}${result.component ? `/${result.component}` : ""}`;
      if (result.state === "running") console.log(`restart of ${what} still running after ${Math.round(result.durationMs / 1000)} s; \`margo-agent status\` shows its progress`);
      else if (result.error) console.log(`${what}: ${result.error.code === "UPDATE_DEFERRED" ? "not restarted" : result.state}: ${result.error.code}: ${result.error.message}`);
      else console.log(`${what} restarted: ${result.state} in ${result.durationMs} ms`);
    }
    return result.error ? EXIT.FAILURE : EXIT.OK;
  },
};
