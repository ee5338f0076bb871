/**
 * How far the device clock is off the WFM's, from the Date header of every
 * answer (devices often boot without an RTC). Created by the bootstrap and
 * shared by the WFM client (which observes) and the Agent (which shows it).
 */
import type { Logger } from "../log.ts";

export class ClockOffset {
  /** WFM time minus device time (ms); undefined until an answer came. */
  private offset: number | undefined;

  constructor(private readonly log: Logger) {}

  get ms(): number | undefined {
    return this.offset;
  }

  observe(date: string): void {
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // Date has one-second resolution: keep the estimate unless it moved by more than that.
    const offset = server - Date.now();
    if (this.offset !== undefined && Math.abs(offset - this.offset) <= 1500) return;
    this.offset = offset;
    if (Math.abs(offset) > 60_000) {
      this.log.warn({ code: "CLOCK_SKEW", skewSeconds: Math.round(offset / 1000) }, `the device clock is ${Math.round(Math.abs(offset) / 1000)} s ${offset > 0 ? "behind" : "ahead of"} the WFM's; signed requests may be refused`);
    }
  }
}
