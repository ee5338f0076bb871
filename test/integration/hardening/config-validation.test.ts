/**
 * Issue 10 items 10, 13 and 15 (config part): `config check` accepted what `run`
 * refused (or what made `run` misbehave: a 30d interval polled continuously, a
 * 0s retry cap hammered the WFM, a missing CA surfaced as STORE_CORRUPT). Now
 * both go through one validation path. Every bad configuration below is run
 * through both real commands: each exits 3 and names the key with the same
 * code, and `run` touches nothing (its dataDir is never created).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import type { ErrorCode } from "../../../src/errors/codes.ts";
import { countingWfm, type CountingWfm, exitWithin, spawnCli, tempDir, waitFor } from "./startup-harness.ts";

let wfm: CountingWfm;
const root = tempDir("margo-cfgval-");

beforeAll(() => {
  wfm = countingWfm();
});
afterAll(async () => {
  await wfm.stop();
  root.remove();
});

type Tree = Record<string, unknown>;
const base = (dir: string): Tree => ({
  wfm: { profile: "v1", url: wfm.url, clientId: "dev-1", allowInsecureHttp: true, requestTimeout: "5s" },
  dataDir: join(dir, "data"),
  runtime: "simulated",
  device: { id: "cfg-dev" },
  poll: { interval: "1h" },
  api: { enabled: false },
});

function merge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === "object" && !Array.isArray(v) && a[k] && typeof a[k] === "object" ? merge(a[k] as Tree, v as Tree) : v;
  }
  return out;
}

interface Case {
  name: string;
  /** Changes to the valid base configuration. */
  change?: (dir: string) => Tree;
  env?: Record<string, string>;
  /** Instead of a written file: this path as --config. */
  configPath?: (dir: string) => string;
  key: string;
  code: ErrorCode;
}

let n = 0;
const CASES: Case[] = [
  { name: "poll.interval: 30d (overflowed the timer: thousands of polls a second)", change: () => ({ poll: { interval: "30d" } }), key: "poll.interval", code: "CONFIG_INVALID" },
  { name: "reconcile.driftInterval: 25d (drift checks without pause)", change: () => ({ reconcile: { driftInterval: "25d" } }), key: "reconcile.driftInterval", code: "CONFIG_INVALID" },
  { name: "journal.retryMax: 0s (216 POSTs in 5 s against a 503)", change: () => ({ journal: { retryMax: "0s" } }), key: "journal.retryMax", code: "CONFIG_INVALID" },
  { name: "wfm.requestTimeout: 0s", change: () => ({ wfm: { requestTimeout: "0s" } }), key: "wfm.requestTimeout", code: "CONFIG_INVALID" },
  { name: "a non-loopback api.listen without api.token", change: () => ({ api: { enabled: true, listen: "0.0.0.0:7480" } }), key: "api.listen", code: "CONFIG_INVALID" },
  { name: "api.listen port 99999", change: () => ({ api: { enabled: true, listen: "127.0.0.1:99999" } }), key: "api.listen", code: "CONFIG_INVALID" },
  { name: "a relative unix: path", change: () => ({ api: { enabled: true, listen: "unix:run/api.sock" } }), key: "api.listen", code: "CONFIG_INVALID" },
  { name: "plain http to a non-loopback WFM, allowInsecureHttp set", change: () => ({ wfm: { url: "http://192.0.2.10:8080" } }), key: "wfm.url", code: "CONFIG_INVALID" },
  { name: "plain http without allowInsecureHttp", change: () => ({ wfm: { allowInsecureHttp: false } }), key: "wfm.url", code: "CONFIG_INVALID" },
  { name: "a whitespace-only api.token", change: () => ({ api: { enabled: true, token: " ".repeat(24) } }), key: "api.token", code: "CONFIG_INVALID" },
  { name: "MARGO_AGENT_API_TOKEN=null (was YAML null: the token silently off)", change: () => ({ api: { enabled: true, listen: "0.0.0.0:7480", token: "a-real-token-0123456789" } }), env: { MARGO_AGENT_API_TOKEN: "null" }, key: "api.token", code: "CONFIG_INVALID" },
  { name: "wfm.url with a #fragment", change: () => ({ wfm: { url: `${wfm.url}/#frag` } }), key: "wfm.url", code: "CONFIG_INVALID" },
  { name: "wfm.url with userinfo", change: () => ({ wfm: { url: wfm.url.replace("http://", "http://admin:secret@") } }), key: "wfm.url", code: "CONFIG_INVALID" },
  { name: "a missing wfm.caFile (was: run failed with STORE_CORRUPT)", change: (d) => ({ wfm: { caFile: join(d, "no-such-ca.pem") } }), key: "wfm.caFile", code: "CA_FILE_INVALID" },
  {
    name: "a wfm.caFile that is not PEM",
    change: (d) => {
      writeFileSync(join(d, "ca.pem"), "not a certificate\n");
      return { wfm: { caFile: join(d, "ca.pem") } };
    },
    key: "wfm.caFile",
    code: "CA_FILE_INVALID",
  },
  { name: "a provisioned identity.keyFile that does not exist", change: (d) => ({ identity: { keyFile: join(d, "key.pem"), certFile: join(d, "cert.pem") } }), key: "identity.keyFile", code: "IDENTITY_INVALID" },
  { name: "--config /dev/zero (grew to 6.8 GB)", configPath: () => "/dev/zero", key: "/dev/zero", code: "CONFIG_INVALID" },
  {
    name: "--config a FIFO (blocked for ever)",
    configPath: (d) => {
      const fifo = join(d, "config.fifo");
      expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
      return fifo;
    },
    key: "config.fifo",
    code: "CONFIG_INVALID",
  },
  {
    name: "a 2 MiB config file",
    configPath: (d) => {
      const f = join(d, "huge.yaml");
      writeFileSync(f, `${YAML.stringify(base(d))}${"# padding\n".repeat(210_000)}`);
      return f;
    },
    key: "huge.yaml",
    code: "CONFIG_INVALID",
  },
];

function prepare(c: Case): { dir: string; config: string } {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  if (c.configPath) return { dir, config: c.configPath(dir) };
  const config = join(dir, "config.yaml");
  writeFileSync(config, YAML.stringify(merge(base(dir), c.change?.(dir) ?? {})));
  return { dir, config };
}

describe("config check and run give the same verdict", () => {
  test.each(CASES.map((c) => [c.name, c] as const))("%s: both exit 3 naming the key", async (_name, c) => {
    const { dir, config } = prepare(c);
    const check = spawnCli(["config", "check", "--json", "--config", config], c.env);
    expect(await exitWithin(check)).toBe(3);
    const verdict = JSON.parse(check.stdout()) as { valid: boolean; code: string; problems: string[] };
    expect(verdict.valid).toBe(false);
    expect(verdict.code).toBe(c.code);
    expect(verdict.problems.join("\n")).toContain(c.key);

    const run = spawnCli(["run", "--config", config], c.env);
    expect(await exitWithin(run)).toBe(3);
    expect(run.stderr()).toContain(c.key);
    if (c.code !== "CONFIG_INVALID") expect(run.stderr()).toContain(c.code);
    expect(run.stderr()).not.toContain("STORE_CORRUPT");
    // Refused before anything was touched.
    expect(existsSync(join(dir, "data"))).toBe(false);
  }, 60_000);

  test("the valid base configuration passes both: check exits 0, run starts and polls", async () => {
    const { config } = prepare({ name: "valid", key: "", code: "CONFIG_INVALID" });
    const check = spawnCli(["config", "check", "--json", "--config", config], { MARGO_AGENT_WFM_CLIENT_ID: "dev-1" });
    expect(await exitWithin(check)).toBe(0);
    expect(JSON.parse(check.stdout()).valid).toBe(true);
    const polls = wfm.polls;
    const run = spawnCli(["run", "--config", config], { MARGO_AGENT_WFM_CLIENT_ID: "dev-1" });
    await waitFor("a poll", () => wfm.polls > polls, 20_000, run.stdout);
    run.proc.kill("SIGTERM");
    expect(await exitWithin(run)).toBe(0);
  }, 60_000);

  test("a string key takes the variable's text: clientId 007 stays \"007\" (YAML typing made it the number 7 and refused it)", async () => {
    const { config } = prepare({ name: "007", key: "", code: "CONFIG_INVALID" });
    const check = spawnCli(["config", "check", "--json", "--config", config], { MARGO_AGENT_WFM_CLIENT_ID: "007" });
    expect(await exitWithin(check)).toBe(0);
    expect(JSON.parse(check.stdout()).config.wfm.clientId).toBe("007");
  }, 60_000);
});
