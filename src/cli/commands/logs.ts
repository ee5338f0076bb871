import { AgentUnreachable, ApiError } from "../../api/client.ts";
import { clientForConfig } from "../../api/connect.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";
import { listFrom, resolveDeploymentId } from "../resolve-id.ts";

export const logsCommand: Command = {
  name: "logs",
  summary: "show a deployment's container logs (or one component's), --follow to stream",
  usage: `Usage: margo-agent logs DEPLOYMENT [COMPONENT] [--follow] [--tail N] [options]

The output (stdout and stderr) of a deployment's containers, through the
running agent and its engine: no project or container names needed. DEPLOYMENT
is an ID or a unique prefix of it. With several containers each line starts
with component/service. Needs api.token when one is configured (logs may carry
what workloads print). The simulated runtime has no logs.

  -f, --follow           keep printing new output until Ctrl-C
      --tail N           only the last N lines of each container
${CONFIG_FLAGS_HELP}

Exit codes: 0 ok, 1 no such deployment or component, or no logs (no container,
simulated runtime), 3 invalid configuration, 4 agent not running.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONFIG_FLAGS, follow: { type: "boolean", short: "f" }, tail: { type: "string" } }, true);
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError("expected DEPLOYMENT [COMPONENT]");
    if (values.tail !== undefined && !/^\d{1,7}$/.test(values.tail)) throw new UsageError(`--tail ${values.tail}: expected a number of lines`);
    const loaded = commandConfig(values, "logs");
    if ("exit" in loaded) return loaded.exit;
    const client = clientForConfig(loaded.config, 30_000);
    if (!client) {
      console.error("margo-agent logs: the local API is disabled (api.enabled=false); the agent cannot be asked");
      return EXIT.AGENT_DOWN;
    }
    const [named, component] = positionals as [string, string | undefined];
    try {
      const found = await resolveDeploymentId(listFrom(client), named);
      if ("problem" in found) {
        console.error(`margo-agent logs: ${found.problem}`);
        return EXIT.FAILURE;
      }
      const query = new URLSearchParams();
      if (component) query.set("component", component);
      if (values.follow) query.set("follow", "true");
      if (values.tail !== undefined) query.set("tail", values.tail);
      const stream = await client.stream(`/v1/deployments/${encodeURIComponent(found.id)}/logs${query.size ? `?${query}` : ""}`);
      for await (const chunk of stream) process.stdout.write(chunk);
      return EXIT.OK;
    } catch (err) {
      if (err instanceof AgentUnreachable) {
        console.error(`margo-agent logs: the agent is not running: ${err.message}`);
        return EXIT.AGENT_DOWN;
      }
      if (err instanceof ApiError) {
        console.error(`margo-agent logs: ${err.message}${err.status === 401 ? " (set api.token in the configuration this command reads)" : ""}`);
        return EXIT.FAILURE;
      }
      throw err;
    }
  },
};
