/**
 * `margo-agent simulate`: many simulated devices in one process against a
 * WFM, for WFM vendors (docs/simulate.md). Prints live figures, and at the
 * end requests per second, latency percentiles per route, reports delivered
 * and errors by code.
 */
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BUILD } from "../../build-info.ts";
import type { Config } from "../../config/schema.ts";
import { defaultStateDir } from "../../devwfm/state-dir.ts";
import { asAgentError } from "../../errors/index.ts";
import { createLogger } from "../../log.ts";
import { bunPlatform } from "../../platform/bun/index.ts";
import { ErrorTally } from "../../simulate/error-tally.ts";
import { Fleet, fleetBaseConfig } from "../../simulate/fleet.ts";
import { readSimulateFlags, type SimulateFlags } from "../../simulate/options.ts";
import { progressLine, renderSummary, type FleetSummary } from "../../simulate/summary.ts";
import { every, sleep } from "../../util/timer.ts";
import { parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";

const USAGE = `Usage: margo-agent simulate --devices N --wfm URL [options]

Runs N simulated devices in this process against a WFM. Each is the real agent
(its own identity, desired state, journal and reports) on the simulated
runtime, with its state in memory. For load-testing a WFM; never on a device.

  --devices N            how many devices (1–100000)
  --wfm URL              the WFM's base URL (rc3: https://…)
  --profile rc3|v1       the Margo interface (default rc3)
  --duration D           stop after D (default: run until SIGINT/SIGTERM)
  --interval D           each device's poll interval (default 30s)
  --jitter F             ± fraction of the interval, 0–0.5 (default 0.2)
  --ramp D               spread the devices' start over D (default: the interval)
  --apply-delay D        pretend work per component apply (default 0s)
  --failure-rate F       share of applies that fail, 0–1 (default 0)
  --report-every D       how often to print the live line (default 5s)
  --json                 live lines and the summary as JSON, one object per line
  --log FILE             also write the devices' warn/error log lines (JSON) to FILE
  --work-dir DIR         the devices' data dirs (packages, v1 keys); kept (default: a
                         temporary folder, removed at the end)

rc3 identities (one client SVID per device):
  --svids DIR            a folder with one subfolder per device holding svid.pem,
                         svid-key.pem and bundle.pem (dev-wfm issue-svid --out DIR/NAME)
  --dev-wfm-state DIR    else mint them with the CA of the dev WFM using this state dir
                         (default: the dev WFM's default state dir)

v1:
  --ca-file FILE         the CA of an https WFM (default: the system store)

Exit codes: 0 every device started and ran, 1 some devices could not start, 2 usage.`;

export const simulateCommand: Command = {
  name: "simulate",
  summary: "run many simulated devices against a WFM (load-testing)",
  usage: USAGE,
  async run(argv) {
    const { values } = parse(argv, {
      devices: { type: "string" },
      wfm: { type: "string" },
      profile: { type: "string" },
      duration: { type: "string" },
      interval: { type: "string" },
      jitter: { type: "string" },
      ramp: { type: "string" },
      "apply-delay": { type: "string" },
      "failure-rate": { type: "string" },
      "report-every": { type: "string" },
      svids: { type: "string" },
      "dev-wfm-state": { type: "string" },
      "work-dir": { type: "string" },
      "ca-file": { type: "string" },
      log: { type: "string" },
      json: { type: "boolean" },
    });
    if (values.help) {
      console.log(USAGE);
      return EXIT.OK;
    }
    const flags = readSimulateFlags(values);
    if ("problem" in flags) throw new UsageError(flags.problem);
    return simulate(flags);
  },
};

async function simulate(f: SimulateFlags): Promise<number> {
  const workDir = f["work-dir"] ? resolve(f["work-dir"]) : mkdtempSync(join(tmpdir(), "margo-simulate-"));
  const logFile = f.log ? createWriteStream(resolve(f.log), { flags: "a" }) : undefined;
  const errors = new ErrorTally(logFile);
  const say = (text: string) => (f.json ? console.log(JSON.stringify({ kind: "note", text })) : console.error(text));
  let base: Config;
  try {
    base = fleetBaseConfig({ profile: f.profile, wfmUrl: f.wfm, caFile: f["ca-file"] ? resolve(f["ca-file"]) : undefined, workDir, intervalMs: f.interval, jitter: f.jitter });
  } catch (err) {
    throw new UsageError(asAgentError(err).message);
  }
  const fleet = new Fleet({
    devices: f.devices,
    base,
    workDir,
    rampMs: f.ramp ?? f.interval,
    applyDelayMs: f["apply-delay"],
    failureRate: f["failure-rate"],
    svidsDir: f.svids ? resolve(f.svids) : undefined,
    devWfmStateDir: resolve(f["dev-wfm-state"] ?? defaultStateDir()),
    platform: bunPlatform,
    log: createLogger("warn", errors as unknown as NodeJS.WritableStream),
    errors,
    userAgent: `margo-agent-simulate/${BUILD.version}`,
    say,
    collectGarbage: () => Bun.gc(true),
  });
  const print = (s: FleetSummary) => console.log(f.json ? JSON.stringify(s) : s.kind === "summary" ? renderSummary(s) : progressLine(s));
  const live = every(f["report-every"], () => print(fleet.summary("progress")));
  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  const onSignal = () => stopRequested();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await Promise.race([fleet.start(), stopped]);
    if (f.duration !== undefined) {
      const left = f.duration - fleet.meter.secondsSinceStart() * 1000;
      const cut = new AbortController();
      await Promise.race([sleep(Math.max(0, left), cut.signal), stopped]);
      cut.abort(); // a SIGINT before the end must not leave the timer holding the process
    } else await stopped;
  } catch (err) {
    const e = asAgentError(err);
    say(`margo-agent simulate: ${e.message}`);
    live.cancel();
    await fleet.stop();
    return EXIT.FAILURE;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  live.cancel();
  await fleet.stop();
  const summary = fleet.summary("summary");
  print(summary);
  logFile?.end();
  if (!f["work-dir"]) rmSync(workDir, { recursive: true, force: true });
  return summary.devices.failedToStart > 0 ? EXIT.FAILURE : EXIT.OK;
}
