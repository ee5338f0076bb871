import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  collectCapabilities,
  deploymentTypes,
  formatMemory,
  margoArchitecture,
  readDeviceFacts,
  resolveDeviceId,
  FsView,
} from "../../../src/capabilities/index.ts";
import { assertValid, validateAgainstSchema } from "../../support/openapi.ts";
import { fakeRuntime, removeTempDirs, tempDir, testConfig } from "./helpers.ts";

afterAll(removeTempDirs);

/** Writes files (string content) and directories (null) under root. */
function tree(root: string, entries: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(entries)) {
    const path = join(root, rel);
    if (content === null) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
}

const MACHINE_ID = "0123456789abcdef0123456789abcdef";

/** A Raspberry-Pi-like board with one of everything, plus the virtual interfaces an engine host has. */
function richDevice(): string {
  const root = tempDir("margo-fsroot-");
  tree(root, {
    "etc/machine-id": `${MACHINE_ID}\n`,
    "sys/firmware/devicetree/base/serial-number": "10000000abcdef01\0",
    "sys/firmware/devicetree/base/model": "Raspberry Pi 4 Model B Rev 1.4\0",
    "sys/firmware/devicetree/base/compatible": "raspberrypi,4-model-b\0brcm,bcm2711\0",
    // physical network interfaces
    "sys/class/net/eth0/device": null,
    "sys/class/net/eth0/type": "1\n",
    "sys/class/net/wlan0/device": null,
    "sys/class/net/wlan0/type": "1\n",
    "sys/class/net/wlan0/phy80211": null,
    "sys/class/net/wlan0/uevent": "DEVTYPE=wlan\nINTERFACE=wlan0\n",
    "sys/class/net/can0/device": null,
    "sys/class/net/can0/type": "280\n",
    "sys/class/net/wwan0/device": null,
    "sys/class/net/wwan0/type": "519\n",
    "sys/class/net/wwan0/uevent": "DEVTYPE=wwan\n",
    // virtual ones: no device link, or a name that gives them away
    "sys/class/net/lo/type": "772\n",
    "sys/class/net/docker0/type": "1\n",
    "sys/class/net/br-0a1b2c/type": "1\n",
    "sys/class/net/podman0/type": "1\n",
    "sys/class/net/veth12ab/device": null,
    "sys/class/net/veth12ab/type": "1\n",
    "sys/class/net/tap0/type": "1\n",
    "sys/class/bluetooth/hci0": null,
    "sys/bus/usb/devices/usb1": null,
    "sys/bus/usb/devices/usb2": null,
    "sys/bus/usb/devices/1-1": null,
    "sys/class/tty/ttyS0/type": "4\n",
    "sys/class/tty/ttyS1/type": "0\n",
    "sys/class/tty/ttyUSB0": null,
    "sys/class/tty/tty1": null,
    // a GPU with a connected HDMI display and a disconnected DP one
    "dev/dri/card0": "",
    "dev/dri/renderD128": "",
    "sys/class/drm/card0/device/vendor": "0x8086\n",
    "sys/class/drm/card0-HDMI-A-1/status": "connected\n",
    "sys/class/drm/card0-DP-1/status": "disconnected\n",
    // a UVC camera (capture + metadata node) and the SoC's codec, which is no camera
    "dev/video0": "",
    "dev/video1": "",
    "dev/video10": "",
    "sys/devices/usb1/1-1/manufacturer": "Logitech\n",
    "sys/devices/usb1/1-1/1-1:1.0": null,
    "sys/class/video4linux/video0/name": "HD Pro Webcam C920\n",
    "sys/class/video4linux/video0/index": "0\n",
    "sys/class/video4linux/video1/name": "HD Pro Webcam C920\n",
    "sys/class/video4linux/video1/index": "1\n",
    "sys/class/video4linux/video10/name": "bcm2835-codec-decode\n",
    "sys/class/video4linux/video10/index": "0\n",
    "dev/snd/pcmC0D0p": "",
    "dev/snd/pcmC1D0c": "",
    "dev/snd/controlC0": "",
    "sys/class/sound/card0/id": "Headphones\n",
    "sys/class/sound/card1/id": "Mic\n",
    "var/lib/containers/storage": null,
  });
  symlinkSync(join(root, "sys/devices/usb1/1-1/1-1:1.0"), join(root, "sys/class/video4linux/video0/device"));
  return root;
}

describe("capabilities from the device (docs/protocol.md §3)", () => {
  test("this machine's capabilities validate against the rc.2 schema", async () => {
    const manifest = await collectCapabilities(testConfig(), fakeRuntime("podman", () => ["compose"]));
    assertValid("DeviceCapabilitiesManifest", manifest);
    const p = manifest.properties;
    expect(p.cpu?.[0]?.cores).toBeGreaterThanOrEqual(1);
    expect(p.memory).toMatch(/^\d+Mi$/);
    expect(p.storage).toMatch(/^\d+(Mi|Gi|Ti)$/);
    expect(p.supportedRuntimes).toEqual(["oci"]);
    expect(p.supportedDeploymentTypes).toEqual(["compose"]);
    expect(p.otelCollector).toBe(false);
  });

  test("a board with wifi, CAN, cellular, bluetooth, serial, GPU, display, camera and audio", async () => {
    const root = richDevice();
    const manifest = await collectCapabilities(testConfig([`dataDir=${tempDir()}`]), fakeRuntime("podman", () => ["compose", "helm.v3"]), {
      fsRoot: root,
      arch: "arm64",
      cpuCount: 4,
      totalMemBytes: 3814 * 1024 ** 2 + 123,
    });
    assertValid("DeviceCapabilitiesManifest", manifest);
    expect(manifest.properties).toMatchObject({
      id: MACHINE_ID,
      vendor: "raspberrypi",
      modelNumber: "Raspberry Pi 4 Model B Rev 1.4",
      serialNumber: "10000000abcdef01",
      cpu: [{ cores: 4, architecture: "arm64" }],
      memory: "3814Mi",
      supportedDeploymentTypes: ["compose", "helm"],
    });
    expect(manifest.properties.interfaces?.map((i) => i.type)).toEqual(["ethernet", "wifi", "cellular", "bluetooth", "usb", "canbus", "rs232", "rs232"]);
    expect(manifest.properties.peripherals).toEqual([
      { type: "gpu", manufacturer: "Intel" },
      { type: "display", model: "HDMI-A-1" },
      { type: "camera", manufacturer: "Logitech", model: "HD Pro Webcam C920" },
      { type: "microphone", model: "Mic" },
      { type: "speaker", model: "Headphones" },
    ]);
  });

  test("without a runtime that can run anything, the hosting fields are left out (a non-hosting device)", async () => {
    const root = richDevice();
    const manifest = await collectCapabilities(testConfig(), fakeRuntime("unsupported", () => []), { fsRoot: root });
    assertValid("DeviceCapabilitiesManifest", manifest);
    const keys = Object.keys(manifest.properties);
    for (const hosting of ["cpu", "memory", "storage", "otelCollector", "supportedRuntimes", "supportedDeploymentTypes"]) expect(keys).not.toContain(hosting);
    expect(keys).toContain("interfaces");
    // The schema would refuse an empty list, which is why it is left out rather than sent empty.
    expect(validateAgainstSchema("DeviceCapabilitiesManifest", { ...manifest, properties: { ...manifest.properties, supportedRuntimes: ["oci"], supportedDeploymentTypes: [] } }).valid).toBe(false);
  });

  test("a runtime that fails to answer counts as supporting nothing", async () => {
    const runtime = { ...fakeRuntime("podman", () => []), supportedProfiles: () => Promise.reject(new Error("socket gone")) };
    const manifest = await collectCapabilities(testConfig(), runtime, { fsRoot: richDevice() });
    expect(manifest.properties.supportedDeploymentTypes).toBeUndefined();
  });

  test("the configuration wins over what the device says", () => {
    const root = richDevice();
    const facts = readDeviceFacts(testConfig(["device.id=line-3/press-7", "device.vendor=ACME", "device.modelNumber=X1", "device.serialNumber=SN-42"]), new FsView(root));
    expect(facts).toEqual({ id: "line-3/press-7", vendor: "ACME", modelNumber: "X1", serialNumber: "SN-42" });
  });

  test("DMI placeholders are ignored; the serial falls back to the machine id", () => {
    const root = tempDir("margo-fsroot-");
    tree(root, {
      "etc/machine-id": `${MACHINE_ID}\n`,
      "sys/class/dmi/id/sys_vendor": "Dell Inc.\n",
      "sys/class/dmi/id/product_name": "OptiPlex 7090\n",
      "sys/class/dmi/id/product_serial": "To be filled by O.E.M.\n",
    });
    expect(readDeviceFacts(testConfig(), new FsView(root))).toEqual({ id: MACHINE_ID, vendor: "Dell Inc.", modelNumber: "OptiPlex 7090", serialNumber: MACHINE_ID });
  });

  test("without a machine id the device id is the host name made URL-safe", () => {
    const id = resolveDeviceId(testConfig(), new FsView(tempDir("margo-fsroot-")));
    expect(id).toMatch(/^[A-Za-z0-9._~-]+$/);
  });

  test("units, architectures and deployment types", () => {
    expect(formatMemory(3814 * 1024 ** 2 + 5)).toBe("3814Mi");
    expect([margoArchitecture("x64"), margoArchitecture("arm64"), margoArchitecture("arm"), margoArchitecture("riscv64")]).toEqual(["amd64", "arm64", "arm", undefined]);
    expect(deploymentTypes(["helm.v3", "compose", "compose"])).toEqual(["compose", "helm"]);
    expect(deploymentTypes([])).toEqual([]);
  });
});
