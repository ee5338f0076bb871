import { chooseRuntime } from "../../agent/choose-runtime.ts";
import { Agent } from "../../agent/agent.ts";
import { prepareIdentity } from "../../agent/identity-setup.ts";
import { packageResolver } from "../../agent/resolve-components.ts";
import { BUILD } from "../../build-info.ts";
import { bunPlatform } from "../../adapter/bun/index.ts";
import { AgentError } from "../../errors/index.ts";
import { createLogger } from "../../log.ts";
import { isLoopbackHost } from "../../protocol/urls.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { commandConfig } from "../load-config.ts";

export const runCommand: Command = {
  name: "run",
  summary: "run the agent",
  usage: `Usage: margo-agent run [--config FILE] [options]

Runs the agent in the foreground: restores the last applied desired state,
polls the WFM, reconciles the container runtime and reports deployment
status. Logs are JSON lines on stdout. Stops cleanly on SIGTERM or SIGINT.

Options:
${CONFIG_FLAGS_HELP}
      --simulated-delay MS   with runtime simulated: pretend work per component (default 0)

Exit codes: 0 stopped by a signal, 1 could not start, 3 invalid configuration.`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, "simulated-delay": { type: "string" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    const loaded = commandConfig(values, "run");
    if ("exit" in loaded) return loaded.exit;
    let { config } = loaded;
    const log = createLogger(config.log.level);
    // A promise nobody awaited must not take the agent down; it is a bug, logged as one.
    process.on("unhandledRejection", (reason) => log.error({ code: "INTERNAL", err: String((reason as Error)?.stack ?? reason) }, "unhandled rejection"));
    const wfm = new URL(config.wfm.url);
    if (wfm.protocol === "http:" && !(config.wfm.allowInsecureHttp && isLoopbackHost(wfm.hostname))) {
      log.fatal({ code: "CONFIG_INVALID" }, `wfm.url: plain http is refused (${config.wfm.url}); use https, or for a loopback development WFM set wfm.allowInsecureHttp: true`);
      return EXIT.CONFIG;
    }
    const platform = bunPlatform;
    let identity;
    try {
      identity = await prepareIdentity({ config, platform, log });
    } catch (err) {
      const e = err instanceof AgentError ? err : new AgentError("INTERNAL", String(err));
      log.fatal({ code: e.code }, `device identity: ${e.message}`);
      return EXIT.FAILURE;
    }
    config = identity.config;
    const runtime = await chooseRuntime(config, platform, { simulatedDelayMs: Number(values["simulated-delay"] ?? 0) });
    const engine = await runtime.engineInfo();
    log.info({ runtime: runtime.name, engine }, runtime.name === "simulated" ? "runtime: SIMULATED (no containers are run)" : `runtime: ${runtime.name}`);
    let agent: Agent;
    try {
      agent = new Agent({
        config,
        platform,
        runtime,
        resolve: packageResolver(config, platform),
        log,
        userAgent: `margo-agent/${BUILD.version}`,
        signer: identity.signer,
        clientId: identity.clientId,
      });
    } catch (err) {
      log.fatal({ code: "STORE_CORRUPT", err: String(err) }, "cannot open the state database");
      return EXIT.FAILURE;
    }
    let api: { stop(): Promise<void> } | undefined;
    if (config.api.enabled) {
      try {
        const { startLocalApi } = await import("../../api/index.ts");
        api = await startLocalApi({ agent, config, platform, log, clientId: identity.clientId });
      } catch (err) {
        const e = err instanceof AgentError ? err : new AgentError("INTERNAL", String(err));
        log.fatal({ code: e.code }, e.message);
        await agent.stop();
        return e.code === "CONFIG_INVALID" ? EXIT.CONFIG : EXIT.FAILURE;
      }
    }
    // Onboarding and capabilities run in the background; the boot reconcile needs no WFM.
    void identity.afterStart({ client: agent.client, store: agent.store, runtime, syncNow: () => agent.syncNow() });
    await agent.start();
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, "stopping");
        resolve();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    identity.stop();
    await api?.stop();
    await agent.stop();
    return EXIT.OK;
  },
};

