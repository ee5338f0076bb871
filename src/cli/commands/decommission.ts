import { createRc3Decommission } from "../../bootstrap/rc3-session.ts";
import { BUILD } from "../../build-info.ts";
import { asAgentError } from "../../errors/index.ts";
import { createLogger } from "../../log.ts";
import { bunPlatform } from "../../platform/bun/index.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { runnableCommandConfig } from "../load-config.ts";

export const decommissionCommand: Command = {
  name: "decommission",
  summary: "tell the WFM to forget this device (rc3: DELETE its capabilities)",
  usage: `Usage: margo-agent decommission --yes [--config FILE] [options]

Decommissions this device at the WFM (wfm.profile rc3): sends
DELETE /api/v1/capabilities/{deviceId} over mutual TLS with the device's
SVID, as the running agent would. The WFM then forgets the device's
capabilities; it is told nothing else. This command does not stop the agent
or remove workloads: stop the agent first (a running agent reports its
capabilities again at its next check), and clear the data directory if the
device leaves service. The v1 profile has no such call.

  --yes                  do it (without --yes, nothing is sent)
${CONFIG_FLAGS_HELP}

Exit codes: 0 decommissioned (or the WFM had no record of the device), 1 the
WFM refused or could not be reached, 2 --yes missing, 3 invalid
configuration (or wfm.profile is not rc3).`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, yes: { type: "boolean" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const loaded = runnableCommandConfig(values, "decommission");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    if (config.wfm.profile !== "rc3") {
      console.error(`margo-agent decommission: wfm.profile is ${config.wfm.profile}; decommissioning is an rc3 call (DELETE /api/v1/capabilities/{deviceId})`);
      return EXIT.CONFIG;
    }
    if (!values.yes) {
      console.error("margo-agent decommission: nothing sent; add --yes to tell the WFM to forget this device");
      return EXIT.USAGE;
    }
    // stdout says what happened; logs go to stderr.
    const log = createLogger(config.log.level, 2);
    let decommission;
    try {
      decommission = await createRc3Decommission({ config, platform: bunPlatform, log, userAgent: `margo-agent/${BUILD.version}` });
    } catch (err) {
      const e = asAgentError(err);
      console.error(`${e.code}: ${e.message}`);
      return EXIT.FAILURE;
    }
    try {
      const outcome = await decommission.run();
      if (outcome.kind === "removed") {
        console.log(`decommissioned: the WFM removed device ${decommission.deviceId} (${decommission.spiffeId}), ${outcome.status} from DELETE ${outcome.url}`);
      } else {
        console.log(`the WFM has no record of device ${decommission.deviceId} for ${decommission.spiffeId} (already decommissioned): ${outcome.summary}`);
      }
      return EXIT.OK;
    } catch (err) {
      const e = asAgentError(err);
      console.error(`${e.code}: ${e.message}`);
      return EXIT.FAILURE;
    } finally {
      decommission.close();
    }
  },
};
