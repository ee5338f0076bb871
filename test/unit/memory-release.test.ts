import { expect, test } from "bun:test";
import { MemoryRelease } from "../../src/agent/memory-release.ts";

function device(start: number) {
  const d = { rss: start, afterRelease: start, t: 0, releases: 0 };
  const m = new MemoryRelease({ rss: () => d.rss, release: () => void (d.releases++, (d.rss = d.afterRelease)), now: () => d.t, growth: 1.1, checkEveryMs: 5, maxBackoffMs: 40 });
  return { d, m };
}

test("garbage after a burst is released; the level sinks with the resident size", () => {
  const { d, m } = device(100);
  d.afterRelease = 90;
  m.releaseNow(); // the one after the start: level 90
  d.rss = 98; // +9%: no
  expect(m.check()).toBe(false);
  d.rss = 85; // sinks: level 85
  expect(m.check()).toBe(false);
  d.rss = 95; // +12% over 85
  d.afterRelease = 86;
  expect(m.check()).toBe(true);
  expect([d.rss, d.releases]).toEqual([86, 2]);
});

test("a release that does not help backs off (a burst under way, or a device that needs more now), up to the cap", () => {
  const { d, m } = device(100);
  m.releaseNow();
  d.rss = d.afterRelease = 150; // stays big whatever is released
  const attempts: number[] = [];
  for (d.t = 0; d.t <= 200; d.t += 5) if (m.check()) attempts.push(d.t);
  // 5, 10, 20, 40, then every 40 (the cap).
  expect(attempts).toEqual([0, 5, 15, 35, 75, 115, 155, 195]);
  // The burst ends: the next release that helps ends the back-off, and the level is still the idle one.
  d.afterRelease = 101;
  d.t = 235;
  expect(m.check()).toBe(true);
  d.rss = 120;
  d.t = 236;
  expect(m.check()).toBe(true);
});

test("start releases once shortly after, stop ends the checks", async () => {
  let releases = 0;
  const m = new MemoryRelease({ rss: () => 1, release: () => void releases++, firstAfterMs: 1, checkEveryMs: 1 });
  m.start();
  for (let i = 0; i < 200 && releases === 0; i++) await Bun.sleep(5);
  m.stop();
  expect(releases).toBe(1);
});
