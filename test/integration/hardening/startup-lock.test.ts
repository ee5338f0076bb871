/**
 * Issue 10 item 9: two agents on one data directory both polled, reconciled and
 * reported. Now the second `margo-agent run` exits at once with DATA_DIR_IN_USE,
 * naming the directory and the holder's pid, and leaves the first untouched; the
 * lock survives nothing: after kill -9 of the holder the next agent starts.
 *
 * Invariants held here (docs/architecture.md): INV-STORE-1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { countingWfm, type CountingWfm, exitWithin, spawnCli, tempDir, waitFor, writeConfig } from "./startup-harness.ts";

let wfm: CountingWfm;
const dirs: { remove(): void }[] = [];

beforeAll(() => {
  wfm = countingWfm();
});
afterAll(async () => {
  await wfm.stop();
  for (const d of dirs) d.remove();
});

const started = (lines: Record<string, unknown>[]) => lines.some((l) => l.msg === "agent starting");

describe("one agent per data directory", () => {
  test("a second run on the same dataDir exits at once naming the dir and the holder pid; after kill -9 of the first, a third starts", async () => {
    const t = tempDir("margo-lock-");
    dirs.push(t);
    const config = writeConfig(t.dir, wfm.url, ["api: {enabled: false}", "poll: {interval: 1h}"]);
    const dataDir = join(t.dir, "data");

    const first = spawnCli(["run", "--config", config]);
    await waitFor("the first agent to start", () => started(first.lines()), 20_000, first.stdout);

    const second = spawnCli(["run", "--config", config]);
    expect(await exitWithin(second)).toBe(1);
    const fatal = second.lines().find((l) => l.level === "fatal");
    expect(fatal).toMatchObject({ code: "DATA_DIR_IN_USE", dir: dataDir, pid: String(first.pid) });
    expect(String(fatal!.msg)).toContain(`data directory ${dataDir} is in use by another margo-agent (pid ${first.pid})`);
    // It stopped before it did anything an agent does.
    expect(started(second.lines())).toBe(false);
    expect(second.lines().some((l) => String(l.msg).startsWith("device identity"))).toBe(false);

    // The first is unaffected and still running.
    expect(first.proc.exitCode).toBeNull();
    // kill -9: the kernel drops the lock with the process; nothing stale is left to clean up.
    first.proc.kill("SIGKILL");
    await first.exited;
    const third = spawnCli(["run", "--config", config]);
    await waitFor("the third agent to start after the kill -9", () => started(third.lines()), 20_000, third.stdout);
    third.proc.kill("SIGTERM");
    expect(await exitWithin(third)).toBe(0);
  }, 90_000);

  test("the same directory reached through a symlink is the same directory", async () => {
    const t = tempDir("margo-lock-");
    dirs.push(t);
    const a = writeConfig(t.dir, wfm.url, ["api: {enabled: false}", "poll: {interval: 1h}"], "a.yaml");
    const first = spawnCli(["run", "--config", a]);
    await waitFor("the first agent to start", () => started(first.lines()), 20_000, first.stdout);
    const link = join(t.dir, "link");
    symlinkSync(join(t.dir, "data"), link);
    const second = spawnCli(["run", "--config", a, "--data-dir", link]);
    expect(await exitWithin(second)).toBe(1);
    expect(second.lines().find((l) => l.level === "fatal")).toMatchObject({ code: "DATA_DIR_IN_USE", pid: String(first.pid) });
    expect(realpathSync(link)).toBe(realpathSync(join(t.dir, "data")));
    first.proc.kill("SIGTERM");
    expect(await exitWithin(first)).toBe(0);
  }, 90_000);
});
