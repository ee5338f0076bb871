import { expect, test } from "bun:test";
import { MemoryRelease } from "../../src/agent/memory-release.ts";

test("releases after growth past the settled level, settles at what a release leaves, and does not thrash", () => {
  let rss = 100;
  let afterRelease = 90;
  const m = new MemoryRelease({ rss: () => rss, release: () => void (rss = afterRelease), growth: 1.1 });
  m.releaseNow(); // the one after the start
  expect([m.releases, rss]).toEqual([1, 90]);
  rss = 98; // +9%: no
  expect(m.check()).toBe(false);
  rss = 85; // sinks: the level follows
  expect(m.check()).toBe(false);
  rss = 95; // +12% over 85: release
  afterRelease = 86;
  expect(m.check()).toBe(true);
  expect(rss).toBe(86);
  // A burst leaves more behind for good (say, 500 deployments now): one release, then quiet.
  rss = 140;
  afterRelease = 120;
  expect(m.check()).toBe(true);
  rss = 125;
  expect([m.check(), m.check(), m.releases]).toEqual([false, false, 3]);
});

test("start releases once shortly after, stop ends the checks", async () => {
  let releases = 0;
  const m = new MemoryRelease({ rss: () => 1, release: () => void releases++, firstAfterMs: 1, checkEveryMs: 1 });
  m.start();
  for (let i = 0; i < 200 && releases === 0; i++) await Bun.sleep(5);
  m.stop();
  expect(releases).toBe(1);
});
