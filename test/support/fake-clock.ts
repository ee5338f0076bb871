/**
 * A clock that moves only when a test says so: the store's Clock (wall and
 * monotonic time, boot id) and the `now` the retry backoffs take, one time
 * line for both. Tests advance it instead of sleeping through a backoff.
 */
import type { Clock } from "../../src/util/clock.ts";

export class FakeClock implements Clock {
  readonly bootId: string;
  private wall: number;
  private mono: number;

  constructor(opts: { wallMs?: number; monoMs?: number; bootId?: string } = {}) {
    this.wall = opts.wallMs ?? Date.UTC(2026, 0, 1);
    this.mono = opts.monoMs ?? 1_000_000;
    this.bootId = opts.bootId ?? "fake-boot";
  }

  wallMs = (): number => this.wall;
  monoMs = (): number => this.mono;
  /** Monotonic milliseconds, for RetryBackoff and DesiredStateSync's `now`. */
  now = (): number => this.mono;

  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
}
