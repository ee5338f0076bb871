/**
 * Memory under load: a sampler that keeps the peak of a process's RSS while a
 * burst of work runs, and how long after the burst the process is back near
 * its idle figure.
 */
import { rssSplit } from "./procfs.ts";

export class RssSampler {
  peak = 0;
  peakAnon = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly pid: number, everyMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    try {
      const s = rssSplit(this.pid);
      this.peak = Math.max(this.peak, s.rss);
      this.peakAnon = Math.max(this.peakAnon, s.anon);
    } catch {
      // The process ended; stop() follows.
    }
  }

  stop(): { peak: number; peakAnon: number } {
    clearInterval(this.timer);
    this.sample();
    return { peak: this.peak, peakAnon: this.peakAnon };
  }
}

/**
 * Milliseconds until VmRSS is at most `limit` (checked every `everyMs`), or
 * undefined if it is not within `timeoutMs`; `last` is the last reading.
 */
export async function backWithin(pid: number, limit: number, timeoutMs: number, everyMs = 250): Promise<{ ms: number | undefined; last: number }> {
  const started = performance.now();
  for (;;) {
    const last = rssSplit(pid).rss;
    const ms = performance.now() - started;
    if (last <= limit) return { ms, last };
    if (ms >= timeoutMs) return { ms: undefined, last };
    await Bun.sleep(everyMs);
  }
}
