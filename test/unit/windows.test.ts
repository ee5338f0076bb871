import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { UTC_ZONES, communicationAllowed, isValidTimeZone, localTime, windowAt } from "../../src/schedule/windows.ts";

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

describe("UTC without Intl", () => {
  /** Runs fn with Intl.DateTimeFormat replaced by one that throws: any use of it is caught. */
  function withoutDateTimeFormat<T>(fn: () => T): T {
    const original = Intl.DateTimeFormat;
    Intl.DateTimeFormat = function () {
      throw new Error("Intl.DateTimeFormat used");
    } as unknown as typeof Intl.DateTimeFormat;
    try {
      return fn();
    } finally {
      Intl.DateTimeFormat = original;
    }
  }

  test("each UTC spelling answers what Intl answers", () => {
    const instants = ["2026-11-28T23:30:00Z", "2026-07-04T00:00:00Z", "2027-03-28T01:59:59Z"].map(at);
    for (const zone of UTC_ZONES) {
      // Intl itself must accept the zone, or the shortcut would let a typo through.
      const viaIntl = instants.map((t) => {
        const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(t);
        const get = (k: string) => parts.find((p) => p.type === k)!.value;
        return { day: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(get("weekday")), minute: Number(get("hour")) * 60 + Number(get("minute")) };
      });
      withoutDateTimeFormat(() => {
        expect(isValidTimeZone(zone)).toBe(true);
        expect(instants.map((t) => localTime(t, zone))).toEqual(viaIntl);
      });
    }
  });

  test("the default configuration is validated without Intl (its first use loads ICU's time-zone data)", () => {
    const config = withoutDateTimeFormat(() => loadConfig({ file: join(import.meta.dir, "../../init/config.yaml") }));
    expect(config.downtime.timeZone).toBe("UTC");
    // Other zones still go through Intl, and a wrong one is still refused.
    expect(isValidTimeZone("Europe/Berlin")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
  });
});
