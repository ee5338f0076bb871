/**
 * Tests that need a host tool (qemu-aarch64, systemd-analyze, busybox) follow
 * the engines rule: in CI (CI=true) a missing tool FAILS; elsewhere the tests
 * are skipped with the reason in their names and on stderr.
 */
import { describe, test } from "bun:test";
import { inCI } from "../../support/engines.ts";

export interface Requirement {
  readonly available: boolean;
  readonly reason?: string;
}

/** Looks `name` up in PATH (no shell); `hint` says how to get it. */
export function requireTool(name: string, hint: string): Requirement {
  const found = Bun.which(name);
  return found ? { available: true } : { available: false, reason: `${name} not found in PATH (${hint})` };
}

export function describeRequiring(req: Requirement, title: string, fn: () => void): void {
  if (req.available) {
    describe(title, fn);
    return;
  }
  if (inCI) {
    describe(title, () => {
      test("required tool is available (CI=true requires it)", () => {
        throw new Error(`${title}: ${req.reason}; .ci/run must install it`);
      });
    });
    return;
  }
  console.warn(`[skip] ${title}: ${req.reason}`);
  describe.skip(`${title} (skipped: ${req.reason})`, fn);
}
