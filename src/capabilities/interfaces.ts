/**
 * Communication interfaces (Margo: ethernet|wifi|cellular|bluetooth|usb|canbus|rs232),
 * one entry per physical port, from sysfs. A network interface counts only when it
 * has a `device` link (real hardware behind it): bridges, veth pairs, tun/tap and
 * the engines' own networks have none, and are also skipped by name as a second
 * guard. Bluetooth controllers, USB host buses and serial ports are not network
 * interfaces and come from their own sysfs classes.
 */
import type { InterfaceType } from "./manifest.ts";
import { FsView } from "./sysfs.ts";

const VIRTUAL_NAME = /^(lo|docker|veth|br-|cni|podman|virbr|tun|tap|flannel|cali|vxlan|weave|kube|dummy|ifb|bond|team|wg|zt|tailscale|sit|ip6tnl|gre|erspan|vcan|vxcan|bnep)/;

/** ARPHRD_* values from linux/if_arp.h that matter here. */
const ARPHRD = { ETHER: "1", RAWIP: "519", CAN: "280", NONE: "65534" } as const;

const ORDER: InterfaceType[] = ["ethernet", "wifi", "cellular", "bluetooth", "usb", "canbus", "rs232"];

function netInterfaceType(fs: FsView, name: string): InterfaceType | undefined {
  if (VIRTUAL_NAME.test(name)) return undefined;
  const base = `sys/class/net/${name}`;
  if (!fs.exists(`${base}/device`)) return undefined;
  const type = fs.text(`${base}/type`);
  const devtype = fs.uevent(`${base}/uevent`).DEVTYPE;
  if (type === ARPHRD.CAN) return "canbus";
  if (fs.exists(`${base}/wireless`) || fs.exists(`${base}/phy80211`) || devtype === "wlan") return "wifi";
  if (devtype === "wwan" || name.startsWith("wwan") || type === ARPHRD.RAWIP) return "cellular";
  if (type === ARPHRD.ETHER) return "ethernet";
  return undefined;
}

/** 8250/16550 ports exist as ttyS0..3 even without a UART; `type` 0 (PORT_UNKNOWN) means none. */
function isSerialPort(fs: FsView, name: string): boolean {
  if (/^ttyS\d+$/.test(name)) {
    const type = fs.text(`sys/class/tty/${name}/type`);
    return type !== undefined && type !== "0";
  }
  return /^(ttyAMA|ttyUSB|ttymxc|ttySC|ttyO|ttyTHS|ttyLP)\d+$/.test(name);
}

export function detectInterfaces(fs: FsView): { type: InterfaceType }[] {
  const found: InterfaceType[] = [];
  for (const name of fs.list("sys/class/net")) {
    const type = netInterfaceType(fs, name);
    if (type) found.push(type);
  }
  for (const name of fs.list("sys/class/bluetooth")) if (/^hci\d+$/.test(name)) found.push("bluetooth");
  // USB is one capability of the device, however many host controllers it has.
  if (fs.list("sys/bus/usb/devices").some((name) => /^usb\d+$/.test(name))) found.push("usb");
  for (const name of fs.list("sys/class/tty")) if (isSerialPort(fs, name)) found.push("rs232");
  found.sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  return found.map((type) => ({ type }));
}
