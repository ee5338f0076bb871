import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsView, naturalOrder } from "../../src/capabilities/sysfs.ts";

test("directory entries come in natural order, without localeCompare (it loads ICU's collator)", () => {
  const root = mkdtempSync(join(tmpdir(), "margo-sysfs-"));
  const original = String.prototype.localeCompare;
  try {
    for (const name of ["eth10", "eth2", "eth1", "enp3s0", "enp10s0", "wlan0", "card01", "card1", "lo"]) mkdirSync(join(root, "net", name), { recursive: true });
    String.prototype.localeCompare = () => {
      throw new Error("localeCompare used");
    };
    expect(new FsView(root).list("net")).toEqual(["card1", "card01", "enp3s0", "enp10s0", "eth1", "eth2", "eth10", "lo", "wlan0"]);
  } finally {
    String.prototype.localeCompare = original;
    rmSync(root, { recursive: true, force: true });
  }
  // A total order: antisymmetric, and equal only for equal strings.
  expect(naturalOrder("a1", "a01")).toBe(-naturalOrder("a01", "a1"));
  expect(naturalOrder("x", "x")).toBe(0);
  expect(naturalOrder("abc", "ab")).toBeGreaterThan(0);
});
