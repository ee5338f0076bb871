/**
 * Small synchronous reads of /sys, /dev, /proc and /etc below a root directory,
 * so that capability detection runs against a fake tree in tests. Every read
 * that fails (absent, unreadable, not a file) gives undefined or an empty list:
 * a fact we cannot read is a fact we do not report.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";

export class FsView {
  constructor(readonly root: string = "/") {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** File text without trailing whitespace and NULs (device-tree strings end in \0). */
  text(rel: string): string | undefined {
    try {
      const value = readFileSync(this.path(rel), "utf8").replace(/[\0\s]+$/, "");
      return value === "" ? undefined : value;
    } catch {
      return undefined;
    }
  }

  /** Directory entries, sorted (detection order must not depend on the file system). */
  list(rel: string): string[] {
    try {
      return readdirSync(this.path(rel)).sort(naturalOrder);
    } catch {
      return [];
    }
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** The resolved target of a sysfs link (absolute), e.g. a net device's `device`. */
  real(rel: string): string | undefined {
    try {
      return realpathSync(this.path(rel));
    } catch {
      return undefined;
    }
  }

  /** KEY=value lines of a uevent file. */
  uevent(rel: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of (this.text(rel) ?? "").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return out;
  }
}

/**
 * eth2 before eth10: runs of digits compare by value, everything else by code
 * unit. Not localeCompare: that loads ICU's collator (≈2 MiB resident) in every
 * start that detects capabilities, for names that are ASCII anyway.
 */
export function naturalOrder(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    const digits = /^\d/.test(p) && /^\d/.test(q);
    // Equal values with different spellings ("01", "1"): the shorter first, so the order stays total.
    if (digits) return Number(p) - Number(q) || p.length - q.length;
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
