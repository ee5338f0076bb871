import { describe, expect, test } from "bun:test";
import { communicationAllowed, localTime, windowAt } from "../../src/schedule/windows.ts";

// 2026-11-28 is a Saturday.
const at = (iso: string) => Date.parse(iso);

describe("time windows", () => {
  test("local time honours the time zone (and its DST)", () => {
    expect(localTime(at("2026-11-28T23:30:00Z"), "UTC")).toEqual({ day: 6, minute: 23 * 60 + 30 });
    expect(localTime(at("2026-11-28T23:30:00Z"), "Europe/Berlin")).toEqual({ day: 0, minute: 30 }); // CET: already Sunday
    expect(localTime(at("2026-07-04T22:30:00Z"), "Europe/Berlin")).toEqual({ day: 0, minute: 30 }); // CEST
  });

  test("a window past midnight belongs to the day it starts", () => {
    const w = [{ days: ["sat" as const], start: "22:00", end: "02:00" }];
    expect(windowAt(w, "UTC", at("2026-11-28T23:00:00Z"))).toBeDefined(); // Sat 23:00
    expect(windowAt(w, "UTC", at("2026-11-29T01:59:00Z"))).toBeDefined(); // Sun 01:59, Saturday's window
    expect(windowAt(w, "UTC", at("2026-11-29T02:00:00Z"))).toBeUndefined();
    expect(windowAt(w, "UTC", at("2026-11-29T23:00:00Z"))).toBeUndefined(); // Sun 23:00: not Sunday's
  });

  test("downtime wins; polling periods restrict when set", () => {
    const downtime = [{ days: [], start: "01:00", end: "03:00" }];
    const allowed = [{ days: ["mon" as const, "tue" as const, "wed" as const, "thu" as const, "fri" as const], start: "06:00", end: "20:00" }];
    expect(communicationAllowed({ downtime, allowed: [], timeZone: "UTC" }, at("2026-11-28T02:00:00Z"))).toMatchObject({ allowed: false, reason: "known downtime window" });
    expect(communicationAllowed({ downtime, allowed: [], timeZone: "UTC" }, at("2026-11-28T12:00:00Z"))).toEqual({ allowed: true });
    expect(communicationAllowed({ downtime, allowed, timeZone: "UTC" }, at("2026-11-28T12:00:00Z"))).toMatchObject({ allowed: false, reason: "outside the polling period" });
    expect(communicationAllowed({ downtime, allowed, timeZone: "UTC" }, at("2026-11-30T12:00:00Z"))).toEqual({ allowed: true }); // Monday
  });
});
