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

/** eth2 before eth10. */
export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
