/**
 * `margo-agent check` (after `iotedge check`): each check says ok, warning or
 * error, in one line, with the stable error code where there is one. Errors
 * stop the device from working; warnings are things to look at.
 */
import type { ErrorCode } from "../../errors/codes.ts";

export type Level = "ok" | "warning" | "error" | "skipped";

export interface Finding {
  /** Stable id of the check: config, files, dataDir, lock, store, journal, disk, identity, wfm, tls, clock, client, engine. */
  check: string;
  level: Level;
  /** One line for people. */
  message: string;
  code?: ErrorCode;
}

export interface CheckReport {
  /** No errors (warnings allowed). */
  ok: boolean;
  errors: number;
  warnings: number;
  config: string | null;
  checks: Finding[];
}

export const ok = (check: string, message: string): Finding => ({ check, level: "ok", message });
export const warning = (check: string, message: string, code?: ErrorCode): Finding => ({ check, level: "warning", message, ...(code ? { code } : {}) });
export const error = (check: string, message: string, code?: ErrorCode): Finding => ({ check, level: "error", message, ...(code ? { code } : {}) });
export const skipped = (check: string, message: string): Finding => ({ check, level: "skipped", message });

export function report(config: string | null, checks: Finding[]): CheckReport {
  const errors = checks.filter((c) => c.level === "error").length;
  const warnings = checks.filter((c) => c.level === "warning").length;
  return { ok: errors === 0, errors, warnings, config, checks };
}

/** 0 all ok, 1 warnings only, 2 errors. */
export function exitCodeOf(r: CheckReport): number {
  return r.errors > 0 ? 2 : r.warnings > 0 ? 1 : 0;
}

/** Days from `nowMs` to `atMs`, rounded down (negative: in the past). */
export const daysUntil = (atMs: number, nowMs: number) => Math.floor((atMs - nowMs) / 86_400_000);

/** A certificate expiring within this many days is a warning. */
export const EXPIRY_WARNING_DAYS = 30;
