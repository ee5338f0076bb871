import { clientForConfig } from "../../api/connect.ts";
import type { JournalView } from "../../api/source.ts";
import { askAgent, withStoredState } from "../agent-or-stored.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";
import { formatData, OUTPUT_FLAGS, OUTPUT_HELP, outputFormat } from "../output.ts";
import { colorEnabled, painter } from "../render/color.ts";
import { renderJournal } from "../render/journal.ts";

export const journalCommand: Command = {
  name: "journal",
  summary: "list the status reports waiting for the WFM, and those it rejected",
  usage: `Usage: margo-agent journal [-o table|json|yaml] [options]

The journal: status reports not yet delivered to the WFM (oldest first, with
attempts and the last error) and reports the WFM rejected for good (parked).
Asks the running agent; when it is not running, reads dataDir/state.db
read-only, says so on stderr, and exits with 4.

${OUTPUT_HELP}
                         (json/yaml: {counts, pending, parked}, as GET /v1/journal)
${CONFIG_FLAGS_HELP}

Exit codes: 0 ok, 1 the agent answered with an error, 3 invalid configuration, 4 agent not running.`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, ...OUTPUT_FLAGS });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const format = outputFormat(values);
    const loaded = commandConfig(values, "journal");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    const paint = painter(format === "table" && colorEnabled(process.stdout));
    const print = (j: JournalView) => console.log(formatData(format, j) ?? renderJournal(j, paint));
    const answer = await askAgent("journal", clientForConfig(config), (client) => client.get<JournalView>("/v1/journal"));
    if ("exit" in answer) return answer.exit;
    if ("value" in answer) {
      print(answer.value);
      return EXIT.OK;
    }
    await withStoredState(config.dataDir, (stored) => {
      console.error(paint(`The agent is not running (${answer.down}); ${stored ? "showing the stored journal" : `no state database in ${config.dataDir}`}.`, "red"));
      if (stored) print(stored.journal());
    });
    return EXIT.AGENT_DOWN;
  },
};
