import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../platform/bun/index.ts";
import { systemClock } from "../../agent/clock.ts";
import { loadDeviceIdentity, wfmFetch } from "../../agent/identity-setup.ts";
import { BUILD } from "../../build-info.ts";
import { asAgentError } from "../../errors/index.ts";
import { createRequestSigner } from "../../identity/request-signer.ts";
import { createLogger } from "../../log.ts";
import { CLIENT_ID_META, onboard } from "../../onboarding/index.ts";
import { ensureTrustedCa } from "../../onboarding/trust-on-first-use.ts";
import { WfmClient } from "../../protocol/wfm-client.ts";
import { StateStore } from "../../store/state-store.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { runnableCommandConfig } from "../load-config.ts";

export const onboardCommand: Command = {
  name: "onboard",
  summary: "onboard this device with the WFM and print the clientId",
  usage: `Usage: margo-agent onboard [--config FILE] [options]

Onboards this device with the WFM now (PROTOCOL.md §1): creates the device key
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

    const platform = bunPlatform;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    let store: StateStore;
    try {
      store = StateStore.openFile((path) => platform.openDatabase(path), join(config.dataDir, "state.db"), systemClock());
    } catch (err) {
      const e = asAgentError(err);
      console.error(`${e.code}: ${e.message}`);
      return EXIT.FAILURE;
    }
    try {
      const stored = store.getMeta(CLIENT_ID_META);
      if (stored) {
        console.error(`already onboarded (clientId stored in ${join(config.dataDir, "state.db")})`);
        console.log(stored);
        return EXIT.OK;
      }
      const caFile = await ensureTrustedCa({ config, platform, log });
      const { identity } = await loadDeviceIdentity(config, log);
      const client = new WfmClient({
        baseUrl: config.wfm.url.replace(/\/+$/, ""),
        clientId: () => undefined,
        fetch: wfmFetch(platform, caFile),
        // Not onboarded yet: the keyid is the certificate's thumbprint.
        signer: createRequestSigner(identity, () => identity.thumbprint),
        requestTimeoutMs: config.wfm.requestTimeout,
        userAgent: `margo-agent/${BUILD.version}`,
      });
      const { clientId } = await onboard({ client, identity, log });
      store.setMeta(CLIENT_ID_META, clientId);
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
      store.close();
    }
  },
};
