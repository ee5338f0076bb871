/**
 * The identity fields of the capabilities (id, vendor, modelNumber,
 * serialNumber): from the configuration when set, else read from the device
 * (device tree on ARM boards, DMI on PCs, /etc/machine-id as the last resort).
 */
import { hostname } from "node:os";
import type { Config } from "../config/schema.ts";
import { FsView } from "./sysfs.ts";

/** Placeholder strings firmware vendors leave in DMI tables; they identify nothing. */
const DMI_JUNK = /^(to be filled by o\.?e\.?m\.?|not specified|not applicable|default string|system serial number|system product name|system manufacturer|none|n\/a|0+|x+|o\.?e\.?m\.?|123456789|chassis serial number|unknown)$/i;

function meaningful(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v && !DMI_JUNK.test(v) ? v : undefined;
}

const DEVICE_ID = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

export function readMachineId(fs: FsView): string | undefined {
  const id = fs.text("etc/machine-id")?.trim();
  return id && /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

/** config.device.id, else /etc/machine-id, else the host name made URL-safe. */
export function resolveDeviceId(config: Config, fs: FsView = new FsView()): string {
  if (config.device.id) return config.device.id;
  const machineId = readMachineId(fs);
  if (machineId) return machineId;
  const host = hostname().replace(/[^A-Za-z0-9._~-]+/g, "-").replace(/^-+|-+$/g, "");
  return DEVICE_ID.test(host) ? host : "margo-device";
}

/** The first entry of the device tree's `compatible` list is "<vendor>,<board>". */
function deviceTreeVendor(fs: FsView): string | undefined {
  const compatible = fs.text("sys/firmware/devicetree/base/compatible") ?? fs.text("proc/device-tree/compatible");
  const first = compatible?.split("\0")[0];
  return first?.includes(",") ? meaningful(first.split(",")[0]) : undefined;
}

export interface DeviceFacts {
  id: string;
  vendor: string;
  modelNumber: string;
  serialNumber: string;
}

export function readDeviceFacts(config: Config, fs: FsView = new FsView()): DeviceFacts {
  // "unknown" is the schema's default: the operator did not say, so the device may.
  const configured = (v: string) => (v === "unknown" ? undefined : v);
  const id = resolveDeviceId(config, fs);
  const vendor =
    configured(config.device.vendor) ??
    meaningful(fs.text("sys/class/dmi/id/sys_vendor")) ??
    meaningful(fs.text("sys/class/dmi/id/board_vendor")) ??
    deviceTreeVendor(fs) ??
    "unknown";
  const modelNumber =
    configured(config.device.modelNumber) ??
    meaningful(fs.text("sys/class/dmi/id/product_name")) ??
    meaningful(fs.text("sys/class/dmi/id/board_name")) ??
    meaningful(fs.text("sys/firmware/devicetree/base/model") ?? fs.text("proc/device-tree/model")) ??
    "unknown";
  const serialNumber =
    config.device.serialNumber ??
    meaningful(fs.text("sys/firmware/devicetree/base/serial-number") ?? fs.text("proc/device-tree/serial-number")) ??
    meaningful(fs.text("sys/class/dmi/id/product_serial")) ??
    meaningful(fs.text("sys/class/dmi/id/board_serial")) ??
    readMachineId(fs) ??
    id;
  return { id, vendor, modelNumber, serialNumber };
}
