import { type Foundation, openFoundation } from "../../bootstrap/bootstrap.ts";
import { StartFailure } from "../../bootstrap/start-failure.ts";
import type { V1Session } from "../../bootstrap/v1-session.ts";
import { BUILD } from "../../build-info.ts";
import { asAgentError } from "../../errors/index.ts";
import { createLogger } from "../../log.ts";
import { CLIENT_ID_META, onboard } from "../../onboarding/index.ts";
import { bunPlatform } from "../../platform/bun/index.ts";
import { stateDbPath } from "../../store/state-store.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { runnableCommandConfig } from "../load-config.ts";

export const onboardCommand: Command = {
  name: "onboard",
  summary: "onboard this device with the WFM and print the clientId",
  usage: `Usage: margo-agent onboard [--config FILE] [options]

Onboards this device with the WFM now (docs/protocol.md §1): creates the device key
and certificate in the data directory when there are none, sends the signed
onboarding request, stores the clientId in the state database (where 'run'
finds it) and prints it on stdout. A device that is already onboarded prints
its clientId without asking the WFM again. Diagnostics go to stderr.

Options:
${CONFIG_FLAGS_HELP}

Exit codes: 0 onboarded (clientId printed), 1 not onboarded (waiting for
approval, certificate refused, WFM unreachable), 3 invalid configuration.`,
  async run(argv) {
    const { values } = parse(argv, CONFIG_FLAGS);
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    // The same validation as `run` (plain http to a non-loopback WFM, a missing CA file, … exit 3).
    const loaded = runnableCommandConfig(values, "onboard");
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    // stdout carries only the clientId; logs go to stderr.
    const log = createLogger(config.log.level, 2);
    if (config.wfm.clientId) {
      console.error("wfm.clientId is set in the configuration: no onboarding needed");
      console.log(config.wfm.clientId);
      return EXIT.OK;
    }

    // The same start-up as `run`, up to the WFM client: lock, store, identity, client.
    let foundation: Foundation;
    try {
      foundation = await openFoundation(config, bunPlatform, log, { userAgent: `margo-agent/${BUILD.version}` });
    } catch (err) {
      const e = asAgentError(err instanceof StartFailure ? err.cause : err);
      console.error(`${e.code}: ${e.message}`);
      return EXIT.FAILURE;
    }
    try {
      if (foundation.session.profile === "rc3") {
        // rc3 identifies the device by its provisioned SVID on every request: there is no onboarding call.
        console.error(`profile rc3 has no onboarding: this device is ${foundation.session.describe().id} (from identity.certFile)`);
        console.log(foundation.session.clientId() ?? "");
        return EXIT.OK;
      }
      const session = foundation.session as V1Session;
      const stored = session.clientId();
      if (stored) {
        console.error(`already onboarded (clientId stored in ${stateDbPath(config.dataDir)})`);
        console.log(stored);
        return EXIT.OK;
      }
      const { clientId } = await onboard({ client: foundation.client, identity: session.identity, log });
      foundation.store.setMeta(CLIENT_ID_META, clientId);
      console.log(clientId);
      return EXIT.OK;
    } catch (err) {
      const e = asAgentError(err);
      if (e.code === "ONBOARDING_PENDING") {
        console.error(`waiting for approval: ${e.message}`);
      } else {
        console.error(`${e.code}: ${e.message}`);
      }
      return EXIT.FAILURE;
    } finally {
      foundation.close();
    }
  },
};
