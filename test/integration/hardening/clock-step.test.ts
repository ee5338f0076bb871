/**
 * Issue 10 item 11: component waits run on the monotonic clock (INV-TIME-1).
 * The attack is a real wall-clock step inside the agent's process (libfaketime,
 * Debian's package, with the monotonic clock left alone): a day forward during a
 * `wait: true, timeout: 5m` apply must not time it out (for an update that would
 * mean a rollback), and a day back must not stretch a 1.5 s timeout to a day.
 *
 * Invariants held here (docs/architecture.md): INV-TIME-1.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHILD = join(import.meta.dir, "clock-step-child.ts");

function libfaketime(): string | undefined {
  for (const dir of readdirSync("/usr/lib").filter((d) => d.endsWith("-linux-gnu"))) {
    const lib = join("/usr/lib", dir, "faketime/libfaketime.so.1");
    if (existsSync(lib)) return lib;
  }
  return undefined;
}

async function waitWithClockStep(step: string, timeoutMs: number, becomeReady: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "clock-step-"));
  const clock = join(dir, "faketime");
  const marker = join(dir, "healthy");
  writeFileSync(clock, "+0\n");
  const child = Bun.spawn([process.execPath, CHILD, marker, String(timeoutMs)], {
    env: { ...process.env, LD_PRELOAD: lib!, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" },
    stdout: "pipe",
  });
  const lines: Record<string, unknown>[] = [];
  const reader = (async () => {
    let buf = "";
    for await (const chunk of child.stdout) {
      buf += new TextDecoder().decode(chunk);
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    }
  })();
  while (!lines.some((l) => l.event === "waiting")) await Bun.sleep(20);
  await Bun.sleep(300);
  writeFileSync(clock, `${step}\n`);
  await Bun.sleep(300);
  if (becomeReady) writeFileSync(marker, "");
  await child.exited;
  await reader;
  return lines.at(-1);
}

const lib = libfaketime();
const needsLib = () => {
  if (lib) return true;
  if (process.env.CI) throw new Error("libfaketime is not installed (Debian package libfaketime)");
  console.warn("skipped: libfaketime is not installed");
  return false;
};

test("a day's step forward during a 5-minute wait does not time the component out", async () => {
  if (!needsLib()) return;
  expect(await waitWithClockStep("+1d", 5 * 60_000, true)).toEqual({ event: "done" });
}, 30_000);

test("a day's step back does not stretch a 1.5 s timeout", async () => {
  if (!needsLib()) return;
  const last = await waitWithClockStep("-1d", 1_500, false);
  expect(last?.event).toBe("failed");
  expect(last?.code).toBe("COMPONENT_TIMEOUT");
}, 30_000);
