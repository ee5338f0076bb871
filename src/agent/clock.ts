import { readFileSync } from "node:fs";
import type { Clock } from "../util/clock.ts";

/** This boot's id: monotonic times are comparable only within one boot. */
function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `unknown-${crypto.randomUUID()}`;
  }
}

/**
 * Milliseconds since boot at performance.now() = 0, from /proc/uptime, so that
 * monotonic times of different agent processes in one boot compare (a restart
 * must not reset them, and a wall-clock jump must not move them).
 */
function bootOrigin(): number | undefined {
  try {
    const uptimeS = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    return Number.isFinite(uptimeS) ? uptimeS * 1000 - performance.now() : undefined;
  } catch {
    return undefined;
  }
}

export function systemClock(): Clock {
  // Without /proc/uptime, fall back to process-relative time (still monotonic within the process).
  const origin = bootOrigin() ?? performance.timeOrigin;
  return {
    wallMs: () => Date.now(),
    monoMs: () => origin + performance.now(),
    bootId: readBootId(),
  };
}
