/**
 * Issue 10 item 8: a corrupt state.db must end `margo-agent run` with a non-zero
 * exit and STORE_CORRUPT in its JSON log, naming the file, even with the local
 * API enabled (which used to keep a process alive that answered /healthz 503
 * and never polled, so systemd's Restart=on-failure never fired).
 * The file is damaged for real: a populated database, then bytes overwritten
 * in the middle of its pages.
 *
 * Invariants held here (docs/architecture.md): INV-STORE-1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
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

/** A data dir the agent created and used once (identity, schema), with a 10,000-report journal added. */
async function usedDataDir(): Promise<{ dir: string; config: string; db: string }> {
  const t = tempDir("margo-store-");
  dirs.push(t);
  const config = writeConfig(t.dir, wfm.url, ["api: {listen: '127.0.0.1:0'}", "poll: {interval: 1h}"]);
  const first = spawnCli(["run", "--config", config]);
  await waitFor("the first start to finish its boot", () => first.lines().some((l) => l.msg === "agent starting"), 20_000, first.stdout);
  first.proc.kill("SIGTERM");
  expect(await exitWithin(first)).toBe(0);
  const db = join(t.dir, "data", "state.db");
  const sql = new Database(db);
  const body = JSON.stringify({ pad: "p".repeat(400) });
  sql.transaction(() => {
    const insert = sql.prepare("INSERT INTO journal (deployment_id, state, body, wall_ms, mono_ms, boot_id) VALUES (?, 'installing', ?, 0, 0, 'b')");
    for (let i = 0; i < 10_000; i++) insert.run(`dep-${i % 100}`, body);
  })();
  sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sql.close();
  return { dir: t.dir, config, db };
}

/** Overwrites 64 bytes in the middle of every page but the first (the header stays valid: SQLite opens the file). */
function damagePages(db: string): void {
  const size = statSync(db).size;
  const fd = openSync(db, "r+");
  try {
    for (let page = 1; page < size / 4096; page++) writeSync(fd, new Uint8Array(64).fill(0xa5), 0, 64, page * 4096 + 2048);
  } finally {
    closeSync(fd);
  }
}

function fatalLine(lines: Record<string, unknown>[]): Record<string, unknown> | undefined {
  return lines.find((l) => l.level === "fatal" || l.level === 60);
}

describe("a corrupt state.db", () => {
  test("bytes overwritten in the middle of pages: run exits 1 with STORE_CORRUPT naming the file, the API enabled", async () => {
    const { config, db } = await usedDataDir();
    damagePages(db);
    const polls = wfm.polls;
    const run = spawnCli(["run", "--config", config]);
    expect(await exitWithin(run)).toBe(1);
    const fatal = fatalLine(run.lines());
    expect(fatal).toMatchObject({ code: "STORE_CORRUPT", path: db });
    expect(String(fatal!.msg)).toContain(db);
    expect(String(fatal!.msg)).toContain("integrity check");
    // It stopped before anything else: no API listener, no poll.
    expect(run.lines().some((l) => l.msg === "local API listening")).toBe(false);
    expect(wfm.polls).toBe(polls);
  }, 60_000);

  test("a file that is not a database at all (header overwritten): STORE_CORRUPT, exit 1", async () => {
    const { config, db } = await usedDataDir();
    const fd = openSync(db, "r+");
    writeSync(fd, new TextEncoder().encode("this is not an SQLite header!!!!"), 0, 32, 0);
    closeSync(fd);
    const run = spawnCli(["run", "--config", config]);
    expect(await exitWithin(run)).toBe(1);
    expect(fatalLine(run.lines())).toMatchObject({ code: "STORE_CORRUPT", path: db });
  }, 60_000);

  test("a failure in the boot reconcile, past the integrity check, still ends the process (the API does not keep it alive)", async () => {
    const { config, db } = await usedDataDir();
    // Structurally sound, semantically broken: a stored row the boot reconcile cannot read.
    const sql = new Database(db);
    sql.exec(
      "INSERT INTO deployments (id, name, digest, yaml, state, components, manifest_version, since_ms) VALUES ('d1', 'x', 'sha256:00', 'y', 'installed', 'not json', '1', 0)",
    );
    sql.close();
    const run = spawnCli(["run", "--config", config]);
    expect(await exitWithin(run)).toBe(1);
    expect(run.lines().some((l) => l.msg === "local API listening")).toBe(true);
    const fatal = fatalLine(run.lines());
    expect(fatal).toBeDefined();
    expect(fatal!.stage).toBe("agent start");
  }, 60_000);

  test("an intact database starts as before", async () => {
    const { config } = await usedDataDir();
    const run = spawnCli(["run", "--config", config]);
    await waitFor("a poll", () => run.lines().some((l) => l.msg === "agent starting"), 20_000, run.stdout);
    run.proc.kill("SIGTERM");
    expect(await exitWithin(run)).toBe(0);
    expect(fatalLine(run.lines())).toBeUndefined();
  }, 60_000);
});
