import { describe, expect, test } from "bun:test";
import { backoffDelay, nextDelay, parseProblem, parseRetryAfter } from "../../src/journal/retry-timing.ts";

const policy = { baseMs: 1000, capMs: 60_000 };

describe("retry timing", () => {
  test("full jitter stays within [1, min(cap, base·2^n)]", () => {
    expect(backoffDelay(0, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(4000);
    expect(backoffDelay(50, policy, () => 0.999)).toBe(59_940);
    expect(backoffDelay(5, policy, () => 0)).toBe(1);
  });

  test("Retry-After: seconds, HTTP-date, junk", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 11:00:00 GMT", now)).toBe(0);
    for (const junk of ["", "-5", "1.5", "soon", "12abc", null, undefined]) expect(parseRetryAfter(junk, now)).toBeUndefined();
  });

  test("problem+json hints (rc.3) are read, malformed ones ignored", () => {
    expect(parseProblem("application/problem+json", JSON.stringify({ type: "x", title: "busy", status: 503, retryable: true, retryAfterSeconds: 7, backoffStrategy: "fixed" }))).toEqual({
      retryable: true,
      retryAfterMs: 7000,
      backoffStrategy: "fixed",
      title: "busy",
    });
    expect(parseProblem("application/problem+json", "{nope")).toBeUndefined();
    expect(parseProblem("text/plain", "{}")).toBeUndefined();
    expect(parseProblem("application/json", JSON.stringify({ retryAfterSeconds: -1, backoffStrategy: "wild" }))).toEqual({});
  });

  test("server hints win over our backoff: Retry-After is never cut short by our cap (rc.3: MUST NOT retry before it elapses), only a day-plus one", () => {
    expect(nextDelay(10, policy, { retryAfterMs: 5000 }, () => 0)).toBe(5000);
    expect(nextDelay(0, policy, { retryAfterMs: 10 * 3600_000 }, () => 0)).toBe(10 * 3600_000);
    expect(nextDelay(0, policy, { retryAfterMs: 30 * 24 * 3600_000 }, () => 0)).toBe(24 * 3600_000);
    expect(nextDelay(4, policy, { hints: { retryAfterMs: 2000 } }, () => 0)).toBe(2000);
    expect(nextDelay(4, policy, { hints: { backoffStrategy: "fixed" } }, () => 0.5)).toBe(1000);
    expect(nextDelay(2, policy, {}, () => 0.5)).toBe(2000);
  });
});
