/**
 * Giving memory back after bursts of work. An idle agent may not run a full
 * collection for hours, so garbage of the start, of 10,000 polls, of a journal
 * drain or a big reconcile stays resident until then (README.md, "Footprint
 * and speed", has the figures). This releases once shortly after the start,
 * then looks at the resident size every `checkEveryMs` and releases again when
 * it grew past `growth` × the level it had settled at.
 *
 * The level is what the first release left, and it sinks with the resident
 * size. A release that does not bring the size back under the threshold (a
 * burst still under way, or a device that now legitimately needs more, e.g.
 * 500 deployments) backs the next attempt off: 5 s, 10 s, 20 s … 10 min, so
 * such a device is collected once in 10 minutes, not every 5 seconds.
 */
import { after, every, type Timer } from "../util/timer.ts";

export interface MemoryReleaseOptions {
  /** Resident size now, in bytes. */
  rss: () => number;
  /** A full collection that also returns freed pages (Bun: gc(true) + shrink()). */
  release: () => void;
  /** The first release, after the start's work. Default 500 ms. */
  firstAfterMs?: number;
  /** Default 5 s: one cheap read of the resident size. */
  checkEveryMs?: number;
  /** Default 1.03: below the 5% growth over 10,000 polls that the bench allows. */
  growth?: number;
  /** Longest back-off after releases that did not help. Default 10 min. */
  maxBackoffMs?: number;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

export class MemoryRelease {
  private level = Infinity;
  private timers: Timer[] = [];
  private backoffMs = 0;
  private notBefore = 0;
  /** Releases done (for tests and logs). */
  releases = 0;

  constructor(private readonly o: MemoryReleaseOptions) {}

  start(): void {
    this.timers.push(after(this.o.firstAfterMs ?? 500, () => this.releaseNow()));
    this.timers.push(every(this.o.checkEveryMs ?? 5000, () => this.check()));
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  /** One look: release when the resident size grew past the level (and no back-off holds); true when it did. */
  check(): boolean {
    const threshold = (this.o.growth ?? 1.03) * this.level;
    const rss = this.o.rss();
    const now = this.o.now?.() ?? performance.now();
    if (rss <= threshold) {
      this.level = Math.min(this.level, rss);
      this.backoffMs = 0;
      return false;
    }
    if (now < this.notBefore) return false;
    this.o.release();
    this.releases++;
    if (this.o.rss() > threshold) {
      this.backoffMs = Math.min(this.o.maxBackoffMs ?? 10 * 60_000, Math.max(this.o.checkEveryMs ?? 5000, this.backoffMs * 2));
      this.notBefore = now + this.backoffMs;
    } else {
      this.backoffMs = 0;
    }
    return true;
  }

  /** A release now; its result is the level growth is measured from. */
  releaseNow(): void {
    this.o.release();
    this.releases++;
    this.level = this.o.rss();
  }
}
