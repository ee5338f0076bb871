/**
 * When to try again: exponential backoff with full jitter and a cap, overridden
 * by the server's own hints (Retry-After, RFC 9457 problem+json with Margo's
 * retryable / retryAfterSeconds / backoffStrategy). Pure functions.
 */

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** Full jitter: uniform in [1, min(cap, base·2^attempt)] ms. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.floor(random() * ceiling));
}

// How a WFM's error answer is read (Retry-After, problem+json hints) has one
// implementation, src/protocol/problem.ts; these names stay for the callers.
import type { ProblemHints } from "../protocol/problem.ts";
export { parseRetryAfter, problemHints as parseProblem, type ProblemHints } from "../protocol/problem.ts";

/**
 * The longest server-given delay honoured as given. Retry-After must be
 * respected ("MUST NOT retry before it elapses", rc.3 retry semantics), even
 * beyond our own cap; past this it is taken as a mistake, not an instruction.
 */
export const MAX_SERVER_DELAY_MS = 24 * 3600_000;

/** The delay before the next attempt, combining our policy and the server's hints. */
export function nextDelay(
  attempt: number,
  policy: BackoffPolicy,
  server: { retryAfterMs?: number; hints?: ProblemHints },
  random: () => number = Math.random,
): number {
  const hinted = server.retryAfterMs ?? server.hints?.retryAfterMs;
  if (hinted !== undefined) {
    // The server knows when it will be back; a little jitter (never earlier) still spreads a fleet.
    return Math.min(MAX_SERVER_DELAY_MS, hinted) + Math.floor(random() * Math.min(1000, policy.baseMs));
  }
  if (server.hints?.backoffStrategy === "fixed") return policy.baseMs;
  return backoffDelay(attempt, policy, random);
}
