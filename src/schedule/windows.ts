/**
 * Weekly time windows in a time zone: known downtime (no polling, no retries,
 * no communication errors raised) and the polling period (when polling is
 * allowed at all), as seed 000 asks. Pure: the instant is an argument.
 */
export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Day = (typeof DAYS)[number];

export interface TimeWindow {
  /** Days the window starts on; empty means every day. */
  days: Day[];
  /** "HH:MM", local to the time zone. */
  start: string;
  /** "HH:MM"; an end at or before the start means the window runs past midnight. */
  end: string;
}

const minutes = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return h! * 60 + m!;
};

/**
 * The spellings of UTC (IANA's backward links). They are answered without Intl:
 * the first Intl.DateTimeFormat of a process loads ICU's time-zone and locale
 * data (≈4 MiB resident, measured with `npm run bench`), and UTC is the default
 * that every start validates.
 */
export const UTC_ZONES: ReadonlySet<string> = new Set(["UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Etc/Greenwich", "Greenwich"]);

/** Day of week and minute of day of an instant in a time zone (Intl, so DST is right). */
export function localTime(nowMs: number, timeZone: string): { day: number; minute: number } {
  if (UTC_ZONES.has(timeZone)) {
    const d = new Date(nowMs);
    return { day: d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
  }
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(nowMs);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const day = DAYS.indexOf(get("weekday").toLowerCase().slice(0, 3) as Day);
  return { day, minute: Number(get("hour")) * 60 + Number(get("minute")) };
}

function covers(w: TimeWindow, day: number, minute: number): boolean {
  const start = minutes(w.start);
  const end = minutes(w.end);
  const startsOn = (d: number) => w.days.length === 0 || w.days.includes(DAYS[d]!);
  if (start < end) return startsOn(day) && minute >= start && minute < end;
  // Past midnight: the evening part belongs to today, the morning part to yesterday's window.
  return (startsOn(day) && minute >= start) || (startsOn((day + 6) % 7) && minute < end);
}

/** The first window in force at nowMs, if any. */
export function windowAt(windows: readonly TimeWindow[], timeZone: string, nowMs: number): TimeWindow | undefined {
  if (windows.length === 0) return undefined;
  const { day, minute } = localTime(nowMs, timeZone);
  return windows.find((w) => covers(w, day, minute));
}

export function isValidTimeZone(tz: string): boolean {
  if (UTC_ZONES.has(tz)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * May the agent talk to the WFM now? Not inside a downtime window, and (when
 * polling periods are configured) only inside one of them.
 */
export function communicationAllowed(
  s: { downtime: readonly TimeWindow[]; allowed: readonly TimeWindow[]; timeZone: string },
  nowMs: number,
): { allowed: boolean; reason?: string; window?: TimeWindow } {
  const down = windowAt(s.downtime, s.timeZone, nowMs);
  if (down) return { allowed: false, reason: "known downtime window", window: down };
  if (s.allowed.length > 0 && !windowAt(s.allowed, s.timeZone, nowMs)) return { allowed: false, reason: "outside the polling period" };
  return { allowed: true };
}
