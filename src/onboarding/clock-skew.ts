/**
 * Telling a clock problem from a key problem. The WFM rejects signatures whose
 * `created` is outside its window (about 5 minutes, docs/protocol.md §2) with a bare
 * 401, so the only evidence we get is its `Date` header: when that is far from
 * our clock, the 401 is almost certainly about time, and the fix is NTP, not keys.
 */
import { AgentError } from "../errors/index.ts";

/** Differences up to this are normal (network delay, Date's 1 s resolution). */
export const CLOCK_SKEW_TOLERANCE_SECONDS = 60;

/** Server time minus our time, in whole seconds; undefined without a parseable Date header. */
export function clockSkewSeconds(dateHeader: string | null | undefined, nowMs: number): number | undefined {
  if (!dateHeader) return undefined;
  const serverMs = Date.parse(dateHeader);
  if (Number.isNaN(serverMs)) return undefined;
  return Math.round((serverMs - nowMs) / 1000);
}

/**
 * A CLOCK_SKEW error when the response's Date is more than the tolerance away
 * from `nowMs`, else undefined. `what` names the request ("POST https://…").
 */
export function clockSkewError(what: string, status: number, dateHeader: string | null | undefined, nowMs: number): AgentError | undefined {
  const skew = clockSkewSeconds(dateHeader, nowMs);
  if (skew === undefined || Math.abs(skew) <= CLOCK_SKEW_TOLERANCE_SECONDS) return undefined;
  const direction = skew > 0 ? "behind" : "ahead of";
  return new AgentError(
    "CLOCK_SKEW",
    `${what}: ${status}, and the device clock is ${Math.abs(skew)} s ${direction} the WFM's (Date: ${dateHeader}); signatures are rejected outside the WFM's time window: fix the device's time (NTP)`,
    { skewSeconds: skew, status },
  );
}
