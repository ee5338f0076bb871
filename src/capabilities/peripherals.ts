/**
 * Peripherals (Margo: gpu|display|camera|microphone|speaker) that are cheap to
 * see: DRM cards and their connected connectors, V4L2 capture nodes, ALSA PCM
 * devices. Manufacturer names come from the PCI/USB ids in sysfs where there.
 */
import { dirname, relative } from "node:path";
import type { Peripheral } from "./manifest.ts";
import { FsView } from "./sysfs.ts";

/** PCI vendor ids of GPU makers (pci.ids); unknown ids are reported as the raw id. */
const PCI_VENDORS: Record<string, string> = {
  "0x8086": "Intel",
  "0x10de": "NVIDIA",
  "0x1002": "AMD",
  "0x1a03": "ASPEED",
  "0x102b": "Matrox",
  "0x15ad": "VMware",
  "0x1af4": "Red Hat (virtio)",
  "0x1234": "QEMU",
  "0x1b36": "Red Hat (QEMU)",
  "0x5143": "Qualcomm",
};

/** Names of V4L2 memory-to-memory and ISP nodes, which are not cameras (e.g. bcm2835-codec on a Raspberry Pi). */
const NOT_A_CAMERA = /codec|isp|m2m|encoder|decoder|hevc|h264|jpeg|scaler|rga|vpu|hantro|rpivid/i;

function withFields(type: Peripheral["type"], manufacturer?: string, model?: string): Peripheral {
  const p: Peripheral = { type };
  if (manufacturer) p.manufacturer = manufacturer;
  if (model) p.model = model;
  return p;
}

/** A sysfs path below the root for a link's resolved target (so fake trees work too). */
function inRoot(fs: FsView, abs: string | undefined): string | undefined {
  if (abs === undefined) return undefined;
  const rel = relative(fs.root, abs);
  return rel.startsWith("..") ? undefined : rel;
}

function gpuManufacturer(fs: FsView, card: string): string | undefined {
  const vendor = fs.text(`sys/class/drm/${card}/device/vendor`);
  if (vendor) return PCI_VENDORS[vendor.toLowerCase()] ?? `PCI vendor ${vendor}`;
  // Platform GPUs (ARM SoCs): the device-tree compatible names the maker, e.g. "brcm,bcm2711-vc5".
  const compatible = fs.uevent(`sys/class/drm/${card}/device/uevent`).OF_COMPATIBLE_0;
  return compatible?.includes(",") ? compatible.split(",")[0] : undefined;
}

function detectGpusAndDisplays(fs: FsView): Peripheral[] {
  const out: Peripheral[] = [];
  for (const card of fs.list("dev/dri").filter((n) => /^card\d+$/.test(n))) {
    out.push(withFields("gpu", gpuManufacturer(fs, card)));
  }
  for (const connector of fs.list("sys/class/drm").filter((n) => /^card\d+-/.test(n))) {
    if (fs.text(`sys/class/drm/${connector}/status`) === "connected") out.push(withFields("display", undefined, connector.replace(/^card\d+-/, "")));
  }
  return out;
}

function detectCameras(fs: FsView): Peripheral[] {
  const out: Peripheral[] = [];
  for (const node of fs.list("dev").filter((n) => /^video\d+$/.test(n))) {
    const base = `sys/class/video4linux/${node}`;
    const name = fs.text(`${base}/name`);
    // A UVC camera has a second node (index 1) for metadata: count the camera once.
    const index = fs.text(`${base}/index`);
    if (index !== undefined && index !== "0") continue;
    if (name && NOT_A_CAMERA.test(name)) continue;
    // UVC: `device` is the USB interface; the USB device above it carries the strings.
    const usbDevice = inRoot(fs, fs.real(`${base}/device`));
    const manufacturer = usbDevice ? fs.text(`${dirname(usbDevice)}/manufacturer`) : undefined;
    out.push(withFields("camera", manufacturer, name));
  }
  return out;
}

function detectAudio(fs: FsView): Peripheral[] {
  const capture = new Set<string>();
  const playback = new Set<string>();
  for (const name of fs.list("dev/snd")) {
    const m = /^pcmC(\d+)D\d+([cp])$/.exec(name);
    if (!m) continue;
    (m[2] === "c" ? capture : playback).add(m[1]!);
  }
  const model = (card: string) => fs.text(`sys/class/sound/card${card}/id`);
  return [
    ...[...capture].sort().map((card) => withFields("microphone", undefined, model(card))),
    ...[...playback].sort().map((card) => withFields("speaker", undefined, model(card))),
  ];
}

export function detectPeripherals(fs: FsView): Peripheral[] {
  return [...detectGpusAndDisplays(fs), ...detectCameras(fs), ...detectAudio(fs)];
}
