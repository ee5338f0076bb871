/** Issue 16 item 14: the update lock's decision (pure) and which steps it holds back. */
import { describe, expect, test } from "bun:test";
import { lockDecision, lockFilePath, subjectToLock } from "../../src/reconcile/update-lock.ts";

describe("lockDecision", () => {
  const base = { held: true, deferredSinceMs: undefined, nowMs: 1_000, maxDeferralMs: 60_000, forced: false };
  test("no lock file: go ahead", () => expect(lockDecision({ ...base, held: false })).toEqual({ proceed: true, why: "no lock" }));
  test("a held lock defers from now until the maximum deferral", () => expect(lockDecision(base)).toEqual({ proceed: false, deferredSinceMs: 1_000, untilMs: 61_000 }));
  test("the deferral is counted from the first one, not from each pass", () =>
    expect(lockDecision({ ...base, deferredSinceMs: 500, nowMs: 30_000 })).toEqual({ proceed: false, deferredSinceMs: 500, untilMs: 60_500 }));
  test("past the maximum deferral the step goes ahead, lock or not", () =>
    expect(lockDecision({ ...base, deferredSinceMs: 500, nowMs: 60_500 })).toEqual({ proceed: true, why: "max deferral reached" }));
  test("an operator's --force overrides the lock", () => expect(lockDecision({ ...base, forced: true })).toEqual({ proceed: true, why: "forced" }));
});

describe("subjectToLock", () => {
  const ran = { goodDigest: "sha256:aa" };
  test("removals always, once there is a record", () => {
    expect(subjectToLock("remove", ran)).toBe(true);
    expect(subjectToLock("remove", { goodDigest: undefined })).toBe(true);
    expect(subjectToLock("remove", undefined)).toBe(false);
  });
  test("updates, retries and restarts once a version has run", () => {
    for (const a of ["update", "retry", "restart"] as const) {
      expect(subjectToLock(a, ran)).toBe(true);
      expect(subjectToLock(a, { goodDigest: undefined })).toBe(false);
    }
  });
  test("adding, repairing and keeping start what is not running: never held back", () => {
    for (const a of ["add", "repair", "keep"] as const) expect(subjectToLock(a, ran)).toBe(false);
  });
  test("the lock file lives in the deployment's own directory under dataDir/locks", () =>
    expect(lockFilePath("/var/lib/margo-agent", "dep-1")).toBe("/var/lib/margo-agent/locks/dep-1/updates.lock"));
});
