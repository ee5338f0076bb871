import { readFileSync } from "node:fs";
import type { Clock } from "../store/state-store.ts";

/** This boot's id: monotonic times are comparable only within one boot. */
function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `unknown-${crypto.randomUUID()}`;
  }
}

export function systemClock(): Clock {
  const origin = performance.timeOrigin;
  return {
    wallMs: () => Date.now(),
    // performance.now() is relative to this process; adding timeOrigin gives a value
    // comparable across restarts within a boot only approximately, so bootId is kept too.
    monoMs: () => origin + performance.now(),
    bootId: readBootId(),
  };
}
