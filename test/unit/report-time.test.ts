import { expect, test } from "bun:test";
import { reportTime } from "../../src/journal/report-time.ts";

test("a report journaled while the clock was wrong gets its real time from the monotonic clock and the WFM's offset", () => {
  // Booted with the clock at 1970; the report was written 60 s after boot, and it is now 600 s after boot.
  const entry = { wallMs: 60_000, monoMs: 60_000, bootId: "b1" };
  const now = { wallMs: 600_000, monoMs: 600_000, bootId: "b1" };
  const offset = Date.parse("2026-11-28T12:00:00Z") - 600_000; // the WFM's Date header says it is noon
  expect(reportTime(entry, now, offset)).toEqual({ atMs: Date.parse("2026-11-28T11:51:00Z"), basis: "monotonic" });
});

test("a clock jump between journaling and now changes nothing within a boot", () => {
  const entry = { wallMs: 1_000_000, monoMs: 5_000, bootId: "b1" };
  const jumped = { wallMs: 9_000_000, monoMs: 6_000, bootId: "b1" };
  expect(reportTime(entry, jumped, 0).atMs).toBe(8_999_000);
});

test("from another boot only the wall clock of then is known", () => {
  expect(reportTime({ wallMs: 42, monoMs: 10, bootId: "old" }, { wallMs: 99, monoMs: 5, bootId: "new" }, 1000)).toEqual({ atMs: 42, basis: "wall" });
});
