import type { Agent } from "../../agent/agent.ts";
import { buildAgent, type Foundation, openFoundation } from "../../bootstrap/bootstrap.ts";
import { StartFailure } from "../../bootstrap/start-failure.ts";
import { MemoryRelease } from "../../agent/memory-release.ts";
import { BUILD } from "../../build-info.ts";
import { bunPlatform } from "../../platform/bun/index.ts";
import { parseListen } from "../../config/listen.ts";
import { AgentError } from "../../errors/index.ts";
import { createLogger, type Logger } from "../../log.ts";
import { isCorruption } from "../../store/integrity.ts";
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { runnableCommandConfig } from "../load-config.ts";

/** A start-up failure as one fatal log line with its code (and the file, dir or pid in its details). */
function fatal(log: Logger, err: unknown, what: string): AgentError {
  // SQLite errors that escape the store's own checks (damage found later in the boot reconcile) are still STORE_CORRUPT.
  const e = err instanceof AgentError ? err : new AgentError(isCorruption(err) ? "STORE_CORRUPT" : "INTERNAL", String((err as Error)?.message ?? err), {}, { cause: err });
  log.fatal({ ...e.details, code: e.code, stage: what, ...(e.code === "INTERNAL" ? { err: String((err as Error)?.stack ?? err) } : {}) }, `cannot start: ${e.message}`);
  return e;
}

export const runCommand: Command = {
  name: "run",
  summary: "run the agent",
  usage: `Usage: margo-agent run [--config FILE] [options]

Runs the agent in the foreground: restores the last applied desired state,
polls the WFM, reconciles the container runtime and reports deployment
status. Logs are JSON lines on stdout. Stops cleanly on SIGTERM or SIGINT.
One agent per data directory: a second one on the same dataDir exits at once.

Options:
${CONFIG_FLAGS_HELP}
      --simulated-delay MS   with runtime simulated: pretend work per component (default 0)

Exit codes: 0 stopped by a signal, 1 could not start (the log line says why,
with its code: STORE_CORRUPT, DATA_DIR_IN_USE, IDENTITY_INVALID, …), 3 invalid
configuration (the same verdict as 'margo-agent config check').`,
  async run(argv) {
    const { values } = parse(argv, { ...CONFIG_FLAGS, "simulated-delay": { type: "string" } });
    if (values.help) {
      console.log(this.usage);
      return EXIT.OK;
    }
    // The same validation as `config check`: schema, rules across keys, and the files it names.
    const loaded = runnableCommandConfig(values, "run");
    if ("exit" in loaded) return loaded.exit;
    let { config } = loaded;
    const log = createLogger(config.log.level);
    // A promise nobody awaited must not take the agent down; it is a bug, logged as one.
    process.on("unhandledRejection", (reason) => log.error({ code: "INTERNAL", err: String((reason as Error)?.stack ?? reason) }, "unhandled rejection"));
    const platform = bunPlatform;
    // Listen for SIGTERM/SIGINT from the start: one arriving during the boot reconcile stops
    // the agent cleanly (exit 0) instead of killing it with the default action (exit 143).
    let signalled: string | undefined;
    const stopRequested = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        if (signalled) return;
        signalled = signal;
        log.info({ signal }, "stopping");
        resolve();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });

    // Everything that might keep the process alive is stopped on the way out: a start that
    // fails must end the process (exit 1, so systemd's Restart=on-failure acts), not leave
    // the local API answering 503 with nothing behind it.
    let foundation: Foundation | undefined;
    let agent: Agent | undefined;
    let api: { stop(): Promise<void> } | undefined;
    let memory: MemoryRelease | undefined;
    const shutdown = async () => {
      memory?.stop();
      await api?.stop().catch(() => {});
      if (agent) await agent.stop().catch(() => {});
      foundation?.close();
    };
    const failed = async (err: unknown, what: string) => {
      const e = err instanceof StartFailure ? fatal(log, err.cause, err.stage) : fatal(log, err, what);
      await shutdown();
      return e.code === "CONFIG_INVALID" ? EXIT.CONFIG : EXIT.FAILURE;
    };

    // docs/architecture.md, "Start and stop": lock → store → session → client → runtime → agent.
    try {
      foundation = await openFoundation(config, platform, log, { userAgent: `margo-agent/${BUILD.version}` });
      config = foundation.config;
      agent = await buildAgent(foundation, { simulatedDelayMs: Number(values["simulated-delay"] ?? 0) });
    } catch (err) {
      return failed(err, "start");
    }
    if (config.api.enabled) {
      try {
        const target = parseListen(config.api.listen);
        const { startLocalApi } = await import("../../api/index.ts");
        // Only a stale socket is removed; a file or a live socket at the path is refused.
        if (target.kind === "unix") await (await import("../../api/listen.ts")).claimSocketPath(target.path);
        api = await startLocalApi({ agent: agent.readModel(), config, platform, log });
      } catch (err) {
        return failed(err, "local API");
      }
    }
    // The Agent starts the session's background tasks (onboarding, capabilities) itself;
    // the boot reconcile needs no WFM.
    const starting = agent.start().then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    const first = await Promise.race([starting, stopRequested.then(() => "signal" as const)]);
    if (first && first !== "signal") return failed(first.err, "agent start");
    // What the start and later bursts (a big reconcile, a journal drain) allocated goes back to the
    // system: an idle agent may not collect for hours (README.md, "Footprint and speed").
    memory = new MemoryRelease({
      rss: () => process.memoryUsage.rss(),
      release: () => {
        // SQLite's page cache of the state database (≈2 MiB after a 500-deployment reconcile), then the heaps.
        try {
          agent?.store.db.exec("PRAGMA shrink_memory");
        } catch {
          // Closed while stopping: nothing to give back.
        }
        Bun.gc(true);
        Bun.shrink();
      },
    });
    memory.start();
    await stopRequested;
    // Aborts a boot reconcile still under way; start() then returns without arming its timers.
    await shutdown();
    await starting;
    return EXIT.OK;
  },
};
