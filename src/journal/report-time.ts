/**
 * When a report really happened, for devices that boot without a real-time
 * clock: within the same boot, the monotonic time since it was journaled,
 * subtracted from now as the WFM's clock tells it, is right even if the wall
 * clock was wrong (or jumped) when the report was written. Pure.
 */
export interface Stamp {
  wallMs: number;
  monoMs: number;
  bootId: string;
}

export function reportTime(entry: Stamp, now: Stamp, offsetMs: number | undefined): { atMs: number; basis: "monotonic" | "wall" } {
  if (entry.bootId === now.bootId && now.monoMs >= entry.monoMs) {
    return { atMs: now.wallMs + (offsetMs ?? 0) - (now.monoMs - entry.monoMs), basis: "monotonic" };
  }
  // Another boot: only the wall clock of then is known.
  return { atMs: entry.wallMs, basis: "wall" };
}
