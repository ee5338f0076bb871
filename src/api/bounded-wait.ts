/**
 * Long actions (a sync queued behind a reconcile that pulls images for
 * minutes, a restart) are waited for a bounded time: the answer is the result,
 * or "still running" (202) and the work goes on; `margo-agent status` shows it.
 */
import { after } from "../util/timer.ts";

export const DEFAULT_WAIT_SECONDS = 60;
export const MAX_WAIT_SECONDS = 3600;

/** The result, or undefined when `seconds` passed first (the work is not cancelled). */
export async function waitAtMost<T>(work: Promise<T>, seconds: number): Promise<T | undefined> {
  // Whatever happens later, a failure of work nobody waits for any more is not an unhandled rejection.
  work.catch(() => {});
  let timer: { cancel(): void } | undefined;
  const late = new Promise<undefined>((resolve) => (timer = after(seconds * 1000, () => resolve(undefined))));
  try {
    return await Promise.race([work, late]);
  } finally {
    timer?.cancel();
  }
}
