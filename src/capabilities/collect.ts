/**
 * Building the DeviceCapabilitiesManifest from what the device really has
 * (PROTOCOL.md §3). Only `supportedDeploymentTypes` depends on the runtime
 * adapter: it lists what an installed engine can run now, so a device whose
 * engine is gone or not installed yet says so, and the WFM stops sending it work.
 */
import { existsSync, statfsSync } from "node:fs";
import { arch as osArch, cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { formatBinarySize } from "../util/size.ts";
import { readDeviceFacts } from "./device-facts.ts";
import { detectInterfaces } from "./interfaces.ts";
import { type Architecture, type DeploymentType, type DeviceCapabilitiesManifest, type DeviceDescription, v1Capabilities } from "./manifest.ts";
import { detectPeripherals } from "./peripherals.ts";
import { FsView } from "./sysfs.ts";

export interface CollectOptions {
  /** Root of /sys, /dev, /proc, /etc and the engine's storage paths; default "/". */
  fsRoot?: string;
  /** Overrides for tests; default: this machine. */
  cpuCount?: number;
  arch?: string;
  totalMemBytes?: number;
  log?: Logger;
}

/** Node's process.arch → Margo's enum; anything else has no Margo name and is left out. */
export function margoArchitecture(nodeArch: string): Architecture | undefined {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm" } as Record<string, Architecture>)[nodeArch];
}

/** Memory in Mi: "3814Mi" says more than a rounded-down "3Gi" would. */
export function formatMemory(bytes: number): string {
  return `${Math.floor(bytes / 1024 ** 2)}Mi`;
}

/** Where each engine keeps images, containers and volumes: the space delegated to workloads. */
const ENGINE_STORAGE: Record<string, string[]> = {
  podman: ["var/lib/containers/storage", "var/lib/containers"],
  compose: ["var/lib/docker"],
};
const ANY_ENGINE_STORAGE = ["var/lib/containers/storage", "var/lib/containers", "var/lib/docker"];

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/** Total size of the file system holding the engine's data (the data dir when no engine store exists). */
export function storagePath(fs: FsView, runtimeName: string, dataDir: string): string {
  for (const rel of [...(ENGINE_STORAGE[runtimeName] ?? []), ...ANY_ENGINE_STORAGE]) {
    if (fs.exists(rel)) return fs.path(rel);
  }
  return nearestExisting(dataDir);
}

function storageSize(path: string): string {
  const s = statfsSync(path);
  const bytes = Number(s.blocks) * Number(s.bsize);
  return bytes >= 1024 ** 3 ? formatBinarySize(bytes) : `${Math.floor(bytes / 1024 ** 2)}Mi`;
}

export function deploymentTypes(profiles: readonly string[]): DeploymentType[] {
  const out = new Set<DeploymentType>();
  for (const p of profiles) {
    if (p === "compose") out.add("compose");
    else if (p === "helm.v3" || p === "helm") out.add("helm");
  }
  return [...out].sort();
}

/**
 * What this device is, profile-free (src/protocol/capabilities-body.ts): the
 * identity fields, the hosting fields when a runtime can run something now,
 * peripherals, interfaces and the operator's labels (device.labels).
 */
export async function collectDevice(config: Config, runtime: RuntimeAdapter, opts: CollectOptions = {}): Promise<DeviceDescription> {
  const fs = new FsView(opts.fsRoot ?? "/");
  const facts = readDeviceFacts(config, fs);
  let profiles: string[] = [];
  try {
    profiles = await runtime.supportedProfiles();
  } catch (err) {
    opts.log?.warn({ code: "ENGINE_UNREACHABLE", runtime: runtime.name, err: String(err) }, "capabilities: the runtime cannot say what it supports; reporting no deployment types");
  }
  const types = deploymentTypes(profiles);
  const peripherals = detectPeripherals(fs);
  const interfaces = detectInterfaces(fs);

  const properties: DeviceDescription["properties"] = { ...facts };
  if (types.length > 0) {
    const architecture = margoArchitecture(opts.arch ?? osArch());
    properties.cpus = [{ cores: opts.cpuCount ?? Math.max(1, cpus().length), ...(architecture ? { architecture } : {}) }];
    properties.memory = formatMemory(opts.totalMemBytes ?? totalmem());
    properties.storage = storageSize(storagePath(fs, runtime.name, config.dataDir));
  }
  // Peripherals and interfaces describe the device whether or not it hosts workloads.
  if (peripherals.length > 0) properties.peripherals = peripherals;
  if (interfaces.length > 0) properties.interfaces = interfaces;
  if (types.length > 0) {
    // No OpenTelemetry collector ships with the agent: we say so rather than claim one.
    properties.otelCollector = false;
    properties.supportedRuntimes = ["oci"];
    properties.supportedDeploymentTypes = types;
  }
  return { properties, labels: { ...config.device.labels } };
}

/** The v1 (rc.2) DeviceCapabilitiesManifest of this device. */
export async function collectCapabilities(config: Config, runtime: RuntimeAdapter, opts: CollectOptions = {}): Promise<DeviceCapabilitiesManifest> {
  return v1Capabilities(await collectDevice(config, runtime, opts));
}
