import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configKeys, envNameFor, loadConfig } from "../../src/config/load.ts";
import { AgentError } from "../../src/errors/index.ts";
import { parseDuration } from "../../src/util/duration.ts";

const dir = mkdtempSync(join(tmpdir(), "cfg-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return (e as AgentError).message;
  }
  throw new Error("expected a config error");
}

describe("config", () => {
  test("the shipped example is valid", () => {
    const c = loadConfig({ file: join(import.meta.dir, "../../init/config.yaml") });
    expect(c.poll.interval).toBe(30_000);
    expect(c.api.listen).toBe("127.0.0.1:7480");
  });

  test("file < environment < flags", () => {
    const f = file("a.yaml", "wfm: {url: https://a.example}\npoll: {interval: 10s}\n");
    const c = loadConfig({ file: f, env: { MARGO_AGENT_POLL_INTERVAL: "20s", MARGO_AGENT_LOG_LEVEL: "debug" }, sets: ["poll.interval=5m"] });
    expect([c.poll.interval, c.log.level, c.wfm.url]).toEqual([300_000, "debug", "https://a.example"]);
  });

  test("every error names the key, the value and the source", () => {
    const f = file("b.yaml", "wfm: {url: 'ftp://x'}\nruntime: docker\npoll: {interval: 5x, jitter: 2}\n");
    const msg = problems(() => loadConfig({ file: f }));
    expect(msg).toContain(`wfm.url: "ftp://x"`);
    expect(msg).toContain(`runtime: "docker" must be one of auto, podman, compose, simulated (in ${f})`);
    expect(msg).toContain(`poll.interval: "5x"`);
    expect(msg).toContain(`poll.jitter: 2`);
    expect(problems(() => loadConfig({ file: f, env: { MARGO_AGENT_RUNTIME: "k8s" } }))).toContain("environment variable MARGO_AGENT_RUNTIME");
  });

  test("unknown keys, variables and flags are refused", () => {
    expect(problems(() => loadConfig({ file: file("c.yaml", "wfm: {url: https://x, urll: 1}\n") }))).toContain("wfm.urll: unknown key");
    expect(problems(() => loadConfig({ env: { MARGO_AGENT_WFM_URL: "https://x", MARGO_AGENT_POLL_INTERVALL: "1s" } }))).toContain("MARGO_AGENT_POLL_INTERVALL: unknown variable");
    expect(problems(() => loadConfig({ sets: ["wfm.url=https://x", "nope=1"] }))).toContain('unknown key "nope"');
  });

  test("malformed YAML is reported with file, line and column", () => {
    expect(problems(() => loadConfig({ file: file("d.yaml", "wfm:\n  url: [\n") }))).toMatch(/d\.yaml:\d+:\d+: invalid YAML/);
    expect(problems(() => loadConfig({ file: join(dir, "missing.yaml") }))).toContain("cannot read");
  });

  test("a missing wfm.url is named", () => {
    expect(problems(() => loadConfig({ file: file("e.yaml", "runtime: simulated\n") }))).toContain("wfm");
  });

  test("env names follow the keys", () => {
    expect(envNameFor("wfm.caFile")).toBe("MARGO_AGENT_WFM_CA_FILE");
    expect(configKeys()).toContain("journal.maxEntries");
  });

  test("durations in Go's form and ours", () => {
    expect(parseDuration("5m0s")).toBe(300_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("45")).toBe(45_000);
    expect(parseDuration("5 m")).toBeUndefined();
    expect(parseDuration("m5")).toBeUndefined();
  });
});
