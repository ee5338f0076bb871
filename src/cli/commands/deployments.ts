import { ApiError, type ApiClient } from "../../api/client.ts";
import { clientForConfig } from "../../api/connect.ts";
import type { DeploymentDetail, DeploymentSummary } from "../../api/source.ts";
import { askAgent, withStoredState } from "../agent-or-stored.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";
import { colorEnabled, painter } from "../render/color.ts";
import { renderDeployment } from "../render/deployment.ts";
import { renderDeploymentTable } from "../render/status.ts";
import { formatData, OUTPUT_FLAGS, OUTPUT_HELP, outputFormat } from "../output.ts";
import { resolveDeploymentId } from "../resolve-id.ts";

interface Source {
  list(): Promise<DeploymentSummary[]>;
  get(id: string): Promise<DeploymentDetail | undefined>;
}

function apiSource(client: ApiClient): Source {
  return {
    list: async () => (await client.get<{ deployments: DeploymentSummary[] }>("/v1/deployments")).deployments,
    async get(id) {
      try {
        return await client.get<DeploymentDetail>(`/v1/deployments/${encodeURIComponent(id)}`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    },
  };
}

/** An exact id, or a prefix that names exactly one deployment (the table shows shortened ids). */
async function find(source: Source, id: string): Promise<DeploymentDetail | string> {
  const exact = await source.get(id);
  if (exact) return exact;
  const found = await resolveDeploymentId(() => source.list(), id);
  if ("problem" in found) return found.problem;
  return (await source.get(found.id)) ?? `deployment ${found.id} vanished`;
}

export const deploymentsCommand: Command = {
  name: "deployments",
  summary: "list deployments, or show one in detail",
  usage: `Usage: margo-agent deployments [ID] [-o table|json|yaml] [options]

Without ID: one line per deployment (id, name, state, since, error).
With ID (or a unique prefix of it): components, errors, recent transitions,
digests (current and last known good) and parameters (secret-looking values
masked). Asks the running agent; when it is not running, reads the stored
state read-only, says so on stderr, and exits with 4.

${OUTPUT_HELP}
                         (json/yaml: {deployments: [...]} or one deployment, as the local API)
${CONFIG_FLAGS_HELP}

Exit codes: 0 ok, 1 no such deployment, 3 invalid configuration, 4 agent not running.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONFIG_FLAGS, ...OUTPUT_FLAGS }, true);
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const format = outputFormat(values);
    if (positionals.length > 1) throw new UsageError("at most one deployment id");
    const loaded = commandConfig(values, "deployments");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    const paint = painter(format === "table" && colorEnabled(process.stdout));
    const show = async (source: Source): Promise<number> => {
      const id = positionals[0];
      if (id === undefined) {
        const list = await source.list();
        console.log(formatData(format, { deployments: list }) ?? renderDeploymentTable(list, Date.now(), paint));
        return EXIT.OK;
      }
      const found = await find(source, id);
      if (typeof found === "string") {
        console.error(`margo-agent deployments: ${found}`);
        return EXIT.FAILURE;
      }
      console.log(formatData(format, found) ?? renderDeployment(found, Date.now(), paint));
      return EXIT.OK;
    };
    const answer = await askAgent("deployments", clientForConfig(config), (client) => show(apiSource(client)));
    if ("exit" in answer) return answer.exit;
    if ("value" in answer) return answer.value;
    return withStoredState(config.dataDir, async (stored) => {
      console.error(paint(`The agent is not running (${answer.down}); ${stored ? "showing the stored state" : `no state database in ${config.dataDir}`}.`, "red"));
      if (!stored) return EXIT.AGENT_DOWN;
      const code = await show({ list: async () => stored.deployments(), get: async (id) => stored.deployment(id) });
      return code === EXIT.OK ? EXIT.AGENT_DOWN : code;
    });
  },
};
