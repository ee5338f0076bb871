/**
 * Issue 10 item 12: `api.listen: unix:PATH` deleted whatever was at PATH — a
 * regular file, another agent's state.db. Now only a stale socket (a socket
 * nobody answers on) is removed; anything else is left as it was and `run`
 * refuses to start, saying what is there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

function setup(socketPath: (dir: string) => string): { dir: string; path: string; config: string } {
  const t = tempDir("margo-sock-");
  dirs.push(t);
  const path = socketPath(t.dir);
  return { dir: t.dir, path, config: writeConfig(t.dir, wfm.url, [`api: {listen: "unix:${path}"}`, "poll: {interval: 1h}"]) };
}

async function refusedWith(config: string, ...fragments: string[]): Promise<void> {
  const run = spawnCli(["run", "--config", config]);
  expect(await exitWithin(run)).toBe(3);
  const fatal = run.lines().find((l) => l.level === "fatal");
  expect(fatal?.code).toBe("CONFIG_INVALID");
  for (const f of fragments) expect(String(fatal?.msg)).toContain(f);
}

describe("api.listen unix:PATH never deletes what is not a stale socket", () => {
  test("a regular file at PATH is kept, byte for byte, and run refuses to start", async () => {
    const { path, config } = setup((d) => join(d, "notes.txt"));
    writeFileSync(path, "an operator's notes\n");
    await refusedWith(config, `unix:${path}`, "is a regular file, not a socket", "refusing to remove it");
    expect(readFileSync(path, "utf8")).toBe("an operator's notes\n");
  }, 60_000);

  test("another agent's state.db at PATH is kept and still opens", async () => {
    const { dir, path, config } = setup((d) => join(d, "other", "state.db"));
    mkdirSync(join(dir, "other"));
    const other = new Database(path);
    other.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('etag', 'precious')");
    other.close();
    await refusedWith(config, "is a regular file");
    const again = new Database(path, { readonly: true });
    expect(again.query("SELECT value FROM meta WHERE key = 'etag'").get()).toEqual({ value: "precious" });
    again.close();
  }, 60_000);

  test("a live socket (another process answers on it) is kept and keeps answering", async () => {
    const { path, config } = setup((d) => join(d, "live.sock"));
    const live = Bun.serve({ unix: path, fetch: () => new Response("still here") });
    try {
      await refusedWith(config, "a process is listening on");
      const res = await fetch("http://localhost/", { unix: path } as RequestInit);
      expect(await res.text()).toBe("still here");
    } finally {
      await live.stop(true);
    }
  }, 60_000);

  test("a stale socket (its server was killed with -9) is removed and the agent listens there", async () => {
    const { path, config } = setup((d) => join(d, "api.sock"));
    // A real stale socket: a process bound it and died without removing it.
    const holder = Bun.spawn([process.execPath, "-e", `Bun.serve({ unix: ${JSON.stringify(path)}, fetch: () => new Response("x") }); console.log("bound")`], { stdout: "pipe" });
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // "bound"
    holder.kill("SIGKILL");
    await holder.exited;
    expect(lstatSync(path).isSocket()).toBe(true);

    const run = spawnCli(["run", "--config", config]);
    await waitFor("the API to listen on the socket", () => run.lines().some((l) => l.msg === "local API listening"), 20_000, run.stdout);
    const res = await fetch("http://localhost/v1/status", { unix: path } as RequestInit);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { agent?: unknown }).agent).toBeDefined();
    run.proc.kill("SIGTERM");
    expect(await exitWithin(run)).toBe(0);
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
  }, 60_000);
});
