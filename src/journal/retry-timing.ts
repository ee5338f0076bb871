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

/**
 * Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from
 * now. Junk, negative values and dates in the past give undefined (fall back
 * to our own backoff); huge values are capped by the caller.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  const delta = at - nowMs;
  return delta > 0 ? delta : 0;
}

export interface ProblemHints {
  retryable?: boolean;
  retryAfterMs?: number;
  backoffStrategy?: "none" | "fixed" | "exponential";
  title?: string;
  detail?: string;
}

/** Reads the Margo hints of an application/problem+json body; anything malformed is ignored. */
export function parseProblem(contentType: string | null, body: string): ProblemHints | undefined {
  if (!contentType?.toLowerCase().includes("json")) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== "object") return undefined;
  const p = json as Record<string, unknown>;
  const hints: ProblemHints = {};
  if (typeof p.retryable === "boolean") hints.retryable = p.retryable;
  if (typeof p.retryAfterSeconds === "number" && p.retryAfterSeconds >= 0 && Number.isFinite(p.retryAfterSeconds)) hints.retryAfterMs = p.retryAfterSeconds * 1000;
  if (p.backoffStrategy === "none" || p.backoffStrategy === "fixed" || p.backoffStrategy === "exponential") hints.backoffStrategy = p.backoffStrategy;
  if (typeof p.title === "string") hints.title = p.title;
  if (typeof p.detail === "string") hints.detail = p.detail;
  if (typeof p.error === "string") hints.detail = p.error;
  return hints;
}

/** The delay before the next attempt, combining our policy and the server's hints. */
export function nextDelay(
  attempt: number,
  policy: BackoffPolicy,
  server: { retryAfterMs?: number; hints?: ProblemHints },
  random: () => number = Math.random,
): number {
  const hinted = server.retryAfterMs ?? server.hints?.retryAfterMs;
  if (hinted !== undefined) {
    // The server knows when it will be back; a little jitter still spreads a fleet.
    return Math.min(policy.capMs, hinted) + Math.floor(random() * Math.min(1000, policy.baseMs));
  }
  if (server.hints?.backoffStrategy === "fixed") return policy.baseMs;
  return backoffDelay(attempt, policy, random);
}
