import { clientForConfig } from "../../api/connect.ts";
import type { DeploymentSummary, StatusView } from "../../api/source.ts";
import { askAgent, withStoredState } from "../agent-or-stored.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";
import { colorEnabled, painter } from "../render/color.ts";
import { renderStatus, renderStoredState } from "../render/status.ts";
import { formatData, OUTPUT_FLAGS, OUTPUT_HELP, outputFormat } from "../output.ts";

export const statusCommand: Command = {
  name: "status",
  summary: "show what runs, what failed and what waits to be reported",
  usage: `Usage: margo-agent status [-o table|json|yaml] [options]

Asks the running agent (its local API at api.listen) what runs, what failed and
why, and what waits to be reported. When the agent is not running, shows the
state stored in dataDir/state.db (opened read-only) and exits with 4.

${OUTPUT_HELP}
                         (json/yaml: {agentRunning, status, deployments} when it runs,
                         {agentRunning, reason, stored, deployments} when it does not)
${CONFIG_FLAGS_HELP}

Exit codes: 0 agent running, 3 invalid configuration, 4 agent not running.`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, ...OUTPUT_FLAGS });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const format = outputFormat(values);
    const data = (d: unknown) => formatData(format, d);
    const loaded = commandConfig(values, "status");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    const paint = painter(format === "table" && colorEnabled(process.stdout));
    const answer = await askAgent("status", clientForConfig(config), async (client) => ({
      status: await client.get<StatusView>("/v1/status"),
      deployments: (await client.get<{ deployments: DeploymentSummary[] }>("/v1/deployments")).deployments,
    }));
    if ("exit" in answer) return answer.exit;
    if ("value" in answer) {
      const { status, deployments } = answer.value;
      console.log(data({ agentRunning: true, status, deployments }) ?? renderStatus(status, deployments, Date.now(), paint));
      return EXIT.OK;
    }
    const why = answer.down;
    await withStoredState(config.dataDir, (stored) => {
      if (!stored) {
        const out = data({ agentRunning: false, reason: why, stored: null, deployments: [] });
        console.log(out ?? `${paint(`The agent is not running (${why}).`, "red")}\nNo state database in ${config.dataDir}: the agent has not run with this dataDir.`);
        return;
      }
      const state = stored.state();
      const deployments = stored.deployments();
      console.log(data({ agentRunning: false, reason: why, stored: state, deployments }) ?? renderStoredState(state, deployments, why, Date.now(), paint));
    });
    return EXIT.AGENT_DOWN;
  },
};
