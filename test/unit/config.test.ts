import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFileProblems } from "../../src/config/files.ts";
import { configKeys, envNameFor, loadConfig, MAX_CONFIG_BYTES } from "../../src/config/load.ts";
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

const valid = ["wfm.url=https://wfm.example.com"];
const load = (sets: string[], env: Record<string, string> = {}) => loadConfig({ env, sets: [...valid, ...sets] });

describe("durations have a floor and a ceiling (issue 10 item 10)", () => {
  test.each([
    ["poll.interval", "99ms", "7d1s", "100ms", "7d"],
    ["reconcile.driftInterval", "999ms", "8d", "1s", "7d"],
    ["journal.retryMax", "0s", "25h", "1s", "1d"],
    ["wfm.requestTimeout", "0s", "2h", "1s", "1h"],
  ])("%s refuses %s and %s, accepts %s and %s", (key, low, high, min, max) => {
    expect(problems(() => load([`${key}=${low}`]))).toContain(`${key}: "${low}" must be`);
    expect(problems(() => load([`${key}=${high}`]))).toContain(`${key}: "${high}" must be`);
    expect(() => load([`${key}=${min}`, `${key}=${max}`])).not.toThrow();
  });

  test("the values of the issue are refused: 30d, 25d, 0s", () => {
    const msg = problems(() => load(["poll.interval=30d", "reconcile.driftInterval=25d", "journal.retryMax=0s"]));
    expect(msg).toContain('poll.interval: "30d" must be between 100ms and 7d');
    expect(msg).toContain('reconcile.driftInterval: "25d" must be 0 (off) or between 1s and 7d');
    expect(msg).toContain('journal.retryMax: "0s" must be between 1s and 1d');
  });

  test("driftInterval 0 still means off; a huge number of days is refused, not rounded", () => {
    expect(load(["reconcile.driftInterval=0"]).reconcile.driftInterval).toBe(0);
    expect(problems(() => load([`poll.interval=${"9".repeat(400)}d`]))).toContain("poll.interval");
  });
});

describe("one validation for check and run: rules the start used to apply alone (issue 10 item 15)", () => {
  test("wfm.url: no #fragment, no userinfo, no ?query", () => {
    expect(problems(() => load(["wfm.url=https://wfm.example.com/#x"]))).toContain("must not have a #fragment");
    expect(problems(() => load(["wfm.url=https://wfm.example.com#"]))).toContain("must not have a #fragment");
    expect(problems(() => load(["wfm.url=https://user:pw@wfm.example.com"]))).toContain("must not carry credentials");
    expect(problems(() => load(["wfm.url=https://@wfm.example.com"]))).toContain("must not carry credentials");
    expect(problems(() => load(["wfm.url=https://wfm.example.com/?a=b"]))).toContain("must not have a ?query");
    expect(load(["wfm.url=https://wfm.example.com/margo/"]).wfm.url).toBe("https://wfm.example.com/margo/");
  });

  test("plain http only with allowInsecureHttp and towards loopback", () => {
    expect(problems(() => load(["wfm.url=http://127.0.0.1:8080"]))).toContain("plain http is refused");
    expect(problems(() => load(["wfm.url=http://wfm.example.com", "wfm.allowInsecureHttp=true"]))).toContain("towards a WFM that is not on loopback");
    expect(load(["wfm.url=http://127.0.0.1:8080", "wfm.allowInsecureHttp=true"]).wfm.allowInsecureHttp).toBe(true);
    expect(load(["wfm.url=http://[::1]:8080", "wfm.allowInsecureHttp=true"]).wfm.url).toBe("http://[::1]:8080");
  });

  test("api.listen: ports up to 65535, absolute unix paths, a token off loopback", () => {
    expect(problems(() => load(["api.listen=127.0.0.1:99999"]))).toContain("has a port above 65535");
    expect(problems(() => load(["api.listen=127.0.0.1:65536"]))).toContain("has a port above 65535");
    expect(load(["api.listen=127.0.0.1:65535"]).api.listen).toBe("127.0.0.1:65535");
    expect(problems(() => load(["api.listen=unix:api.sock"]))).toContain("must name an absolute socket path");
    expect(problems(() => load([`api.listen=unix:/${"x".repeat(120)}`]))).toContain("too long");
    expect(problems(() => load(["api.listen=0.0.0.0:7480"]))).toMatch(/api\.listen: "0\.0\.0\.0:7480" is not a loopback address, so api\.token must be set/);
    expect(load(["api.listen=0.0.0.0:7480", "api.enabled=false"]).api.enabled).toBe(false);
    expect(load(["api.listen=0.0.0.0:7480", "api.token=0123456789abcdef"]).api.token).toBe("0123456789abcdef");
  });

  test("api.token: whitespace only, or with spaces, is refused", () => {
    expect(problems(() => load([`api.token=${" ".repeat(20)}`]))).toContain("must be printable ASCII without spaces");
    expect(problems(() => load(["api.token=correct horse battery staple"]))).toContain("must be printable ASCII without spaces");
    expect(problems(() => load(["api.token=tab\tseparated-token-123"]))).toContain("must be printable ASCII");
  });
});

describe("variables and flags are typed by the key, not as YAML (issue 10 item 15)", () => {
  test("a string key takes the text: clientId 007, a token 'null', a path 'true'", () => {
    expect(load([], { MARGO_AGENT_WFM_CLIENT_ID: "007" }).wfm.clientId).toBe("007");
    expect(load(["wfm.clientId=007"]).wfm.clientId).toBe("007");
    expect(problems(() => loadConfig({ file: file("tok.yaml", "wfm: {url: https://x.example}\napi: {listen: '0.0.0.0:7480', token: a-real-token-0123456789}\n"), env: { MARGO_AGENT_API_TOKEN: "null" } }))).toContain(
      'api.token: "null" must be at least 16 characters (in environment variable MARGO_AGENT_API_TOKEN)',
    );
    expect(load([], { MARGO_AGENT_DATA_DIR: "true" }).dataDir).toBe("true");
  });

  test("booleans, numbers, durations and lists", () => {
    const c = load(["poll.jitter=0.25", "journal.maxEntries=500", "poll.interval=45", "policy.allowedBindPaths=[/srv/a, /srv/b]"], { MARGO_AGENT_API_ENABLED: "false" });
    expect([c.api.enabled, c.poll.jitter, c.journal.maxEntries, c.poll.interval]).toEqual([false, 0.25, 500, 45_000]);
    expect(c.policy.allowedBindPaths).toEqual(["/srv/a", "/srv/b"]);
    expect(problems(() => load(["poll.jitter=lots"]))).toContain('poll.jitter: "lots"');
    expect(problems(() => load(["api.enabled=yes"]))).toContain('api.enabled: "yes"');
  });
});

describe("the config file is bounded and regular (issue 10 item 15)", () => {
  test("/dev/zero, a FIFO and a directory are refused without reading them; 2 MiB is too large", () => {
    expect(problems(() => loadConfig({ file: "/dev/zero" }))).toContain("/dev/zero is a character device, not a regular file");
    const fifo = join(dir, "fifo.yaml");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(problems(() => loadConfig({ file: fifo }))).toContain("is a FIFO, not a regular file");
    expect(problems(() => loadConfig({ file: dir }))).toContain("is a directory");
    const huge = file("huge.yaml", `wfm: {url: https://x.example}\n${"#".repeat(2 * 1024 * 1024)}\n`);
    expect(problems(() => loadConfig({ file: huge }))).toContain(`is larger than ${MAX_CONFIG_BYTES} bytes`);
  });
});

describe("files the config names (issue 10 item 13; profile v1, rc3 is test/unit/protocol/config-profile.test.ts)", () => {
  const v1 = (sets: string[]) => load(["wfm.profile=v1", ...sets]);
  const codes = (sets: string[]) => configFileProblems(v1(sets)).map((p) => [p.code, p.key]);

  test("wfm.caFile: missing, not PEM, or a PEM without a valid certificate: CA_FILE_INVALID naming the file", () => {
    expect(codes([`wfm.caFile=${join(dir, "nope.pem")}`])).toEqual([["CA_FILE_INVALID", "wfm.caFile"]]);
    expect(configFileProblems(v1([`wfm.caFile=${join(dir, "nope.pem")}`]))[0]!.message).toContain(`${join(dir, "nope.pem")} does not exist`);
    expect(codes([`wfm.caFile=${file("text.pem", "hello\n")}`])).toEqual([["CA_FILE_INVALID", "wfm.caFile"]]);
    const fake = file("fake.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    expect(configFileProblems(v1([`wfm.caFile=${fake}`]))[0]!.message).toContain("certificate 1 of 1 is not a valid X.509 certificate");
    expect(codes(["wfm.caFile=/dev/zero"])).toEqual([["CA_FILE_INVALID", "wfm.caFile"]]);
  });

  test.skipIf(!existsSync("/etc/ssl/certs/ca-certificates.crt"))("the system CA bundle is a valid caFile", () => {
    expect(codes(["wfm.caFile=/etc/ssl/certs/ca-certificates.crt"])).toEqual([]);
  });

  test("a provisioned identity: both files must be there and PEM (IDENTITY_INVALID), never quoting a key", () => {
    const secret = file("key.pem", "-----BEGIN RSA PUBLIC KEY-----\nc2VjcmV0IGJ5dGVz\n-----END RSA PUBLIC KEY-----\n");
    const found = configFileProblems(v1([`identity.keyFile=${secret}`, `identity.certFile=${join(dir, "missing-cert.pem")}`]));
    expect(found.map((p) => [p.code, p.key])).toEqual([["IDENTITY_INVALID", "identity.keyFile"], ["IDENTITY_INVALID", "identity.certFile"]]);
    expect(found[0]!.message).toContain('holds no PEM "PRIVATE KEY" block');
    expect(found.map((p) => p.message).join()).not.toContain("c2VjcmV0");
    expect(found[1]!.message).toContain("does not exist");
  });

  test("no files named: nothing to check", () => {
    expect(configFileProblems(v1([]))).toEqual([]);
  });
});
