/**
 * A fleet of simulated devices in one process (docs/simulate.md): their
 * identities, their start spread over the ramp (a fleet that boots in the same
 * millisecond is not what a WFM meets), the live figures, and one stop for all.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { after, type Timer } from "../util/timer.ts";
import { startSimDevice, type SimDevice, type SvidFiles } from "./device.ts";
import type { ErrorTally } from "./error-tally.ts";
import { deviceNames, mintSvids, svidsFromFolder } from "./identities.ts";
import { FleetMeter } from "./meter.ts";
import { summarize, type FleetSummary } from "./summary.ts";

export interface FleetOptions {
  devices: number;
  /** The configuration every device shares (profile, WFM URL, poll interval and jitter, …). */
  base: Config;
  workDir: string;
  /** Device starts are spread evenly over this many ms. */
  rampMs: number;
  applyDelayMs: number;
  failureRate: number;
  /** rc3: a folder of SVIDs (one subfolder per device), else minted from this dev WFM state dir. */
  svidsDir?: string;
  devWfmStateDir?: string;
  platform: Platform;
  log: Logger;
  errors: ErrorTally;
  userAgent: string;
  /** Tells what the fleet is doing before the devices run (minting SVIDs). */
  say?: (text: string) => void;
  rss?: () => number;
  /** A full collection before the final figures (the CLI passes Bun's). */
  collectGarbage?: () => void;
}

export class Fleet {
  readonly meter: FleetMeter;
  private readonly devices: SimDevice[] = [];
  private failedToStart = 0;
  private stopping = false;
  /** RSS once the first device runs (the code every device shares is loaded by then): devices cost what comes after. */
  private baseRss: number | undefined;
  private ramp: Promise<void> | undefined;
  private readonly starting = new Set<Promise<void>>();
  private wait: { timer: Timer; resolve: () => void } | undefined;

  constructor(private readonly o: FleetOptions) {
    this.meter = new FleetMeter(new URL(o.base.wfm.url).pathname.replace(/\/+$/, ""));
  }

  /** Resolves once every device has been started (or failed to start); the devices run on. */
  async start(): Promise<void> {
    const names = deviceNames(this.o.devices);
    const identities = await this.identities(names);
    mkdirSync(join(this.o.workDir, "devices"), { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    this.meter.restart();
    this.ramp = (async () => {
      for (let i = 0; i < identities.length && !this.stopping; i++) {
        const due = t0 + (this.o.rampMs * i) / identities.length - performance.now();
        if (due > 1) await new Promise<void>((resolve) => (this.wait = { timer: after(due, resolve), resolve }));
        if (this.stopping) break;
        const { name, svid } = identities[i]!;
        const started = this.startOne(name, svid);
        this.starting.add(started);
        void started.finally(() => this.starting.delete(started));
      }
    })();
    await this.ramp;
  }

  private async startOne(name: string, svid: SvidFiles | undefined): Promise<void> {
    try {
      const device = await startSimDevice(
        { name, dataDir: join(this.o.workDir, "devices", name), svid },
        { base: this.o.base, platform: this.o.platform, log: this.o.log, meter: this.meter, applyDelayMs: this.o.applyDelayMs, failureRate: this.o.failureRate, userAgent: this.o.userAgent },
      );
      if (this.stopping) await device.stop();
      else this.devices.push(device);
      this.baseRss ??= this.rss();
    } catch (err) {
      this.failedToStart++;
      const e = asAgentError(err);
      this.o.log.error({ device: name, code: e.code }, `simulated device ${name} could not start: ${e.message}`);
    }
  }

  private async identities(names: string[]): Promise<{ name: string; svid?: SvidFiles }[]> {
    if (this.o.base.wfm.profile !== "rc3") return names.map((name) => ({ name }));
    if (this.o.svidsDir) return svidsFromFolder(this.o.svidsDir, names.length);
    const stateDir = this.o.devWfmStateDir!;
    this.o.say?.(`minting ${names.length} client SVIDs with the dev WFM's CA in ${stateDir}`);
    return mintSvids(stateDir, join(this.o.workDir, "svids"), names, { onProgress: (n) => this.o.say?.(`  ${n}/${names.length} SVIDs`), stopped: () => this.stopping });
  }

  summary(kind: FleetSummary["kind"]): FleetSummary {
    // The last figure counts what the devices hold, not what a collection would free.
    if (kind === "summary") this.o.collectGarbage?.();
    return summarize({
      kind,
      profile: this.o.base.wfm.profile,
      wanted: this.o.devices,
      progress: this.devices.map((d) => d.progress),
      failedToStart: this.failedToStart,
      meter: this.meter,
      errors: this.o.errors,
      rssBytes: this.rss(),
      baseRssBytes: this.baseRss ?? this.rss(),
    });
  }

  /** Stops every device (their loops, tasks and connections); the ramp stops starting new ones. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wait?.timer.cancel();
    this.wait?.resolve();
    await this.ramp?.catch(() => {});
    await Promise.allSettled([...this.starting]);
    await Promise.allSettled(this.devices.map((d) => d.stop()));
  }

  private rss(): number {
    return this.o.rss ? this.o.rss() : process.memoryUsage.rss();
  }
}

/** What every simulated device shares; deviceConfig (device.ts) adds what is each one's own. */
export function fleetBaseConfig(o: { profile: "v1" | "rc3"; wfmUrl: string; caFile?: string; workDir: string; intervalMs: number; jitter: number }): Config {
  const insecure = o.wfmUrl.startsWith("http://");
  return loadConfig({
    sets: [
      `wfm.profile=${o.profile}`,
      `wfm.url=${o.wfmUrl}`,
      ...(insecure ? ["wfm.allowInsecureHttp=true", "packages.allowInsecureHttp=true"] : []),
      ...(o.caFile ? [`wfm.caFile=${o.caFile}`] : []),
      `dataDir=${o.workDir}`,
      "runtime=simulated",
      `poll.interval=${o.intervalMs}ms`,
      `poll.jitter=${o.jitter}`,
      "packages.reserve=1MiB",
      "reconcile.driftInterval=0",
      "api.enabled=false",
      "log.level=warn",
    ],
  });
}
