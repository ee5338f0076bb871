/**
 * The clock and timers the trust schedulers run on, injected so tests can
 * drive hours of refresh cadence without sleeping (test/unit/trust/fake-timers.ts).
 */
export interface Timers {
  /** Wall-clock milliseconds (for certificate validity and status display). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
