/**
 * Giving memory back after bursts of work. An idle agent may not run a full
 * collection for hours, so garbage of the start, of 10,000 polls, of a journal
 * drain or a big reconcile stays resident until then (README.md, "Footprint
 * and speed", has the figures). This releases once shortly after the start,
 * then looks at the resident size every `checkEveryMs` and releases again when
 * it grew past `growth` × the level it had settled at.
 *
 * The level follows the process: after a release it is what the release left
 * (a device that legitimately needs more memory now is not collected again and
 * again), and it sinks with the resident size, so growth is always measured
 * from the lowest settled point.
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
}

export class MemoryRelease {
  private level = Infinity;
  private timers: Timer[] = [];
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

  /** One look: release when the resident size grew past the settled level; true when it did. */
  check(): boolean {
    const now = this.o.rss();
    if (now > (this.o.growth ?? 1.03) * this.level) {
      this.releaseNow();
      return true;
    }
    this.level = Math.min(this.level, now);
    return false;
  }

  releaseNow(): void {
    this.o.release();
    this.releases++;
    this.level = this.o.rss();
  }
}
