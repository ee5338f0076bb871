/**
 * When to poll next: the configured interval, spread by jitter so that a fleet
 * of devices booted together does not poll in lockstep. Pure.
 */
export function nextPollDelay(intervalMs: number, jitter: number, random: () => number = Math.random): number {
  const spread = intervalMs * jitter;
  return Math.max(100, Math.round(intervalMs - spread + random() * 2 * spread));
}
