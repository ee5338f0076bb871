/**
 * One simulated device (docs/simulate.md): the real Agent, with the real
 * session of its profile (v1: its own key, onboarding and signatures; rc3:
 * its own client SVID over mutual TLS), its own desired state and journal in
 * an in-memory SQLite store, the real package resolver, and the simulated
 * runtime. Only the store (memory instead of a file) and the runtime differ
 * from `margo-agent run`; what the WFM sees is what a device would send.
 */
import { mkdirSync } from "node:fs";
import { SimulatedRuntime } from "../../runtimes/simulated/index.ts";
import { Agent } from "../agent/agent.ts";
import { systemClock } from "../agent/clock.ts";
import { ClockOffset } from "../agent/clock-offset.ts";
import type { WfmSession } from "../agent/session.ts";
import { createWfmClient } from "../bootstrap/bootstrap.ts";
import { createRc3Session } from "../bootstrap/rc3-session.ts";
import { packageResolver } from "../bootstrap/resolve-components.ts";
import { createV1Session } from "../bootstrap/v1-session.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { StateStore } from "../store/state-store.ts";
import type { DeviceProgress, FleetMeter } from "./meter.ts";

/** Where a device's rc3 identity is: the files `dev-wfm issue-svid` writes. */
export interface SvidFiles {
  certFile: string;
  keyFile: string;
  bundleFile: string;
}

export interface SimDeviceSpec {
  /** The device id, and the SVID's client name in rc3. */
  name: string;
  /** Its own data directory: packages, its v1 key, the bundle cache. */
  dataDir: string;
  /** rc3 only. */
  svid?: SvidFiles;
}

export interface SimDeviceDeps {
  /** The configuration every device shares; its dataDir, device id and identity are replaced per device. */
  base: Config;
  platform: Platform;
  log: Logger;
  meter: FleetMeter;
  applyDelayMs: number;
  failureRate: number;
  userAgent: string;
  random?: () => number;
}

export interface SimDevice {
  readonly name: string;
  readonly agent: Agent;
  readonly progress: DeviceProgress;
  stop(): Promise<void>;
}

/** The device's configuration: the shared one, with what is its own. */
export function deviceConfig(base: Config, spec: SimDeviceSpec): Config {
  const own = { ...base, dataDir: spec.dataDir, device: { ...base.device, id: spec.name } };
  if (base.wfm.profile !== "rc3" || !spec.svid) return own;
  const { certFile, keyFile, bundleFile } = spec.svid;
  // The dev WFM serves its OCI endpoint with its own SVID: the bundle that verifies it verifies that too.
  const host = new URL(base.wfm.url).host;
  return {
    ...own,
    wfm: { ...base.wfm, caFile: bundleFile },
    identity: { ...base.identity, certFile, keyFile },
    registries: { ...base.registries, caFiles: { [host]: bundleFile, ...base.registries.caFiles } },
  };
}

export async function startSimDevice(spec: SimDeviceSpec, d: SimDeviceDeps): Promise<SimDevice> {
  const config = deviceConfig(d.base, spec);
  const log = d.log.child({ device: spec.name });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const progress: DeviceProgress = { identified: false, polls: 0, reports: 0 };
  // The Agent's own schema and transactions, in memory: 10,000 devices write no state files.
  const store = StateStore.openInMemory((path) => d.platform.openDatabase(path, { cacheStatements: false }), systemClock());
  let session: WfmSession | undefined;
  try {
    session = config.wfm.profile === "rc3" ? await createRc3Session({ config, platform: d.platform, log }) : await createV1Session({ config, platform: d.platform, log, store, random: d.random });
    const metered: WfmSession = { ...session, fetch: d.meter.wrap(session.fetch, progress) };
    const clockOffset = new ClockOffset(log);
    const client = createWfmClient(metered, clockOffset, d.userAgent);
    // Package pulls are requests to the WFM's side too (its registry, its package URLs): measured the same way.
    const platform: Platform = { ...d.platform, fetch: (url, init, tls) => d.meter.timed(String(url), init, progress, () => d.platform.fetch(url, init, tls)) };
    const runtime = new SimulatedRuntime({ dataDir: config.dataDir, applyDelayMs: d.applyDelayMs, failureRate: d.failureRate, persist: false, random: d.random });
    const agent = new Agent({
      config: session.config,
      runtime,
      resolve: packageResolver(session.config, platform, { log, engineStorage: [] }),
      log,
      store,
      client,
      clockOffset,
      session: metered,
      random: d.random,
    });
    await agent.start();
    return { name: spec.name, agent, progress, stop: () => agent.stop() };
  } catch (err) {
    session?.close?.();
    store.close();
    throw err;
  }
}
