/**
 * Timers that take any delay. setTimeout and setInterval hold a signed 32-bit
 * millisecond count: a longer delay (2^31 ms is 24.8 days) is silently replaced
 * by 1 ms, so `poll.interval: 30d` polled thousands of times a second. These
 * helpers never hand the runtime more than it can hold: a long delay is waited
 * out as a chain of shorter timers against a monotonic deadline.
 */

/** The longest delay setTimeout/setInterval honour (2^31 − 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timer {
  /** Stops the timer; safe to call more than once and after it fired. */
  cancel(): void;
}

/** A delay a timer can be given: NaN is a bug (thrown), below 0 means now, +Infinity means never. */
function checked(ms: number): number {
  if (Number.isNaN(ms)) throw new RangeError("timer delay is NaN");
  return Math.max(0, ms);
}

/** Runs fn once after `ms` (any length; +Infinity never fires). `maxChunkMs` is for tests of the chaining. */
export function after(ms: number, fn: () => void, maxChunkMs = MAX_TIMER_MS): Timer {
  const delay = checked(ms);
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  if (delay === Infinity) return { cancel: () => {} };
  // performance.now() is monotonic: a wall-clock step neither shortens nor stretches the wait.
  const deadline = performance.now() + delay;
  const arm = (left: number) => {
    handle = setTimeout(() => {
      if (cancelled) return;
      const rest = deadline - performance.now();
      if (rest >= 1) arm(rest);
      else fn();
    }, Math.min(left, maxChunkMs, MAX_TIMER_MS));
  };
  arm(delay);
  return {
    cancel() {
      cancelled = true;
      if (handle !== undefined) clearTimeout(handle);
    },
  };
}

/** Runs fn every `ms` (any length ≥ 1 ms; +Infinity never fires), the next period counted from the previous firing. */
export function every(ms: number, fn: () => void): Timer {
  const period = Math.max(1, checked(ms));
  let current: Timer | undefined;
  let cancelled = false;
  const next = () => {
    current = after(period, () => {
      if (cancelled) return;
      next();
      fn();
    });
  };
  next();
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
  };
}

/** Resolves after `ms` (any length), or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = after(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
