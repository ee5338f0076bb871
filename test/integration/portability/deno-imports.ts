import { backoffDelay, parseRetryAfter } from "../../../src/journal/retry-timing.ts";

export function retryTiming(): number[] {
  return [backoffDelay(3, { baseMs: 1000, capMs: 60_000 }, () => 0.5), parseRetryAfter("7", 0) ?? -1];
}
