/**
 * Issue 16 item 10: `margo-agent check` diagnoses a device and separates
 * errors from warnings, exit 0/1/2, --json. Each finding is provoked for real:
 * a WFM whose TLS certificate expires in 10 days and whose clock is 5 minutes
 * off, a WFM that no longer knows the client, one that does not answer, a disk
 * below the reserve, a broken configuration, the agent stopped; and on a real
 * engine, with the agent running, every check passes. The screens of `check`
 * and `status` are read in a real terminal (tmux).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrCreateIdentity } from "../../../src/identity/load-or-create.ts";
import { describeWithEngine, engineStatus } from "../../support/engines.ts";
import { Terminal, tmuxTool } from "../../support/tmux.ts";
import { describeRequiring } from "../build/requirement.ts";
import { tempDir } from "../api/agent-fixture.ts";
import { cli, deploymentYaml, type Field, ROOT, startAgent, startField, stopAgent, stopField, waitForState, writeConfig, writePackage } from "./harness.ts";

interface Finding {
  check: string;
  level: string;
  message: string;
  code?: string;
}
const findingOf = (out: string, check: string) => (JSON.parse(out).checks as Finding[]).find((c) => c.check === check)!;

async function checkJson(f: Pick<Field, "config" | "root">, ...extra: string[]) {
  const r = await cli(f as Field, "check", "--json", ...extra);
  return { code: r.code, report: JSON.parse(r.stdout) as { ok: boolean; errors: number; warnings: number; checks: Finding[] }, out: r.stdout };
}

describe("a simulated device", () => {
  let f: Field;
  beforeAll(async () => {
    f = await startField({ runtime: "simulated" });
    writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
    writeFileSync(join(f.wfmDir, "app.yaml"), deploymentYaml("checked"));
    startAgent(f);
    await waitForState(f, "checked", "installed");
  }, 60_000);
  afterAll(() => stopField(f));

  test("running: the simulated runtime is a warning (exit 1), the rest passes", async () => {
    const { code, report, out } = await checkJson(f);
    expect(code).toBe(1);
    expect(report.errors).toBe(0);
    expect(findingOf(out, "engine")).toMatchObject({ level: "warning" });
    for (const c of ["config", "files", "dataDir", "lock", "store", "journal", "disk", "identity", "wfm", "clock", "client", "agent"]) expect(findingOf(out, c).level).toBe("ok");
    expect(findingOf(out, "lock").message).toMatch(/^held by a running agent \(pid \d+\)$/);
    expect(findingOf(out, "client").message).toContain("the WFM accepts clientId dev-");
  }, 30_000);

  test("stopped: the lock is free and the agent does not answer (warnings)", async () => {
    expect(await stopAgent(f)).toBe(0);
    const { code, out } = await checkJson(f);
    expect(code).toBe(1);
    expect(findingOf(out, "lock")).toMatchObject({ level: "warning" });
    expect(findingOf(out, "agent").message).toStartWith("not running: no agent answers");
    startAgent(f);
  }, 30_000);

  test("a disk below packages.reserve is an error (exit 2, DISK_SPACE_LOW)", async () => {
    const { code, out } = await checkJson(f, "--set", "packages.reserve=1000000GiB");
    expect(code).toBe(2);
    expect(findingOf(out, "disk")).toMatchObject({ level: "error", code: "DISK_SPACE_LOW" });
  }, 30_000);

  test("a WFM that does not answer is an error (WFM_UNREACHABLE)", async () => {
    const { code, out } = await checkJson(f, "--wfm-url", "http://127.0.0.1:1");
    expect(code).toBe(2);
    expect(findingOf(out, "wfm")).toMatchObject({ level: "error", code: "WFM_UNREACHABLE" });
  }, 30_000);

  test("an invalid configuration is an error naming the key (exit 2)", async () => {
    const { code, out } = await checkJson(f, "--set", "poll.interval=5x");
    expect(code).toBe(2);
    expect(findingOf(out, "config")).toMatchObject({ level: "error", code: "CONFIG_INVALID" });
    expect(findingOf(out, "config").message).toContain("poll.interval");
  }, 30_000);

  describeRequiring(tmuxTool, "in a terminal", () => {
    test("check shows one coloured line per check and the verdict", async () => {
      const term = new Terminal([process.execPath, "src/cli.ts", "check", "--config", f.config], { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.root }, width: 200, height: 40 });
      try {
        expect(await term.waitForExit(30_000)).toBe(1);
        const screen = term.history();
        expect(screen).toMatch(/^margo-agent check \(config .*agent\.yaml\)$/m);
        expect(screen).toMatch(/^ {2}ok {7}wfm {7}http:\/\/127\.0\.0\.1:\d+ answers/m);
        expect(screen).toMatch(/^ {2}warning {2}engine {4}runtime: simulated/m);
        expect(screen).toMatch(/^0 error\(s\), 1 warning\(s\): the agent can run; look at the warnings$/m);
        expect(term.screenWithColours()).toContain("\x1b[33mwarning");
      } finally {
        term.close();
      }
    }, 60_000);

    test("status shows the header and the deployments, in colour", async () => {
      const term = new Terminal([process.execPath, "src/cli.ts", "status", "--config", f.config], { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.root }, width: 160, height: 30 });
      try {
        expect(await term.waitForExit(30_000)).toBe(0);
        const screen = term.history();
        expect(screen).toMatch(/^agent {12}margo-agent \S+ \(\S+\), up \d+[smh]$/m);
        expect(screen).toMatch(/^runtime {10}simulated \(no containers run\)$/m);
        expect(screen).toMatch(/^ID {7}NAME {5}STATE {6}SINCE +ERROR$/m);
        expect(screen).toMatch(/^checked {2}checked {2}installed {2}\d+[smh] ago$/m);
        // Colour on a terminal (green for installed), never on a pipe (cli-status.test.ts).
        expect(term.screenWithColours()).toContain("\x1b[32minstalled");
      } finally {
        term.close();
      }
    }, 60_000);
  });
});

const openssl = Bun.which("openssl");
describe.skipIf(!openssl)("a WFM with a certificate expiring soon, a clock 5 minutes off, that no longer knows the client", () => {
  const t = tempDir("margo-check-tls-");
  let server: ReturnType<typeof Bun.serve>;
  const config = join(t.dir, "agent.yaml");
  beforeAll(async () => {
    const key = join(t.dir, "key.pem");
    const cert = join(t.dir, "cert.pem");
    const made = Bun.spawnSync([openssl!, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "10", "-subj", "/CN=wfm-check", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") },
      fetch(req) {
        const date = new Date(Date.now() - 5 * 60_000).toUTCString();
        if (new URL(req.url).pathname.startsWith("/api/v1/clients/")) {
          return Response.json({ type: "about:blank", title: "client not trusted", status: 403, detail: "unknown keyid" }, { status: 403, headers: { date, "content-type": "application/problem+json" } });
        }
        return new Response("margo WFM", { headers: { date } });
      },
    });
    const dataDir = join(t.dir, "data");
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // A device that onboarded earlier: its key and certificate are there, its clientId configured.
    await loadOrCreateIdentity({ dir: dataDir, deviceId: "check-device" });
    writeConfig({ config, wfmUrl: `https://127.0.0.1:${server.port}`, dataDir, listen: `unix:${join(t.dir, "api.sock")}`, runtime: "simulated", extra: [] });
    writeFileSync(config, readFileSync(config, "utf8").replace("  allowInsecureHttp: true\n", `  caFile: ${cert}\n  clientId: dev-check\n`));
  });
  afterAll(async () => {
    await server?.stop(true);
    t.remove();
  });

  test("tls is a warning, the clock and the client are errors, each with its code", async () => {
    const { code, out } = await checkJson({ config, root: t.dir });
    expect(code).toBe(2);
    const tls = findingOf(out, "tls");
    expect(tls.level).toBe("warning");
    expect(tls.message).toMatch(/certificate of wfm-check \(issued by wfm-check\) expires in (9|10) day\(s\)/);
    expect(findingOf(out, "clock")).toMatchObject({ level: "error", code: "CLOCK_SKEW" });
    expect(findingOf(out, "clock").message).toMatch(/device clock (29\d|30\d) s ahead of the WFM/);
    const client = findingOf(out, "client");
    expect(client).toMatchObject({ level: "error", code: "IDENTITY_REJECTED" });
    expect(client.message).toContain("the WFM does not accept clientId dev-check");
    expect(client.message).toContain("wfm.clientId is configured");
  }, 30_000);

  test("a certificate the device does not trust is an error", async () => {
    const { code, out } = await checkJson({ config, root: t.dir }, "--set", "wfm.caFile=/etc/ssl/certs/ca-certificates.crt");
    expect(code).toBe(2);
    expect(findingOf(out, "tls")).toMatchObject({ level: "error", code: "WFM_UNREACHABLE" });
    expect(findingOf(out, "tls").message).toContain("is not trusted by the system store and /etc/ssl/certs/ca-certificates.crt");
  }, 30_000);
});

const podman = await engineStatus("podman");
describeWithEngine(podman, "a Podman device with the agent running", () => {
  let f: Field;
  beforeAll(async () => {
    f = await startField({ runtime: "podman" });
    startAgent(f);
    const deadline = Date.now() + 30_000;
    while (!(await cli(f, "status")).stdout.includes("as dev-")) {
      if (Date.now() > deadline) throw new Error("the agent did not onboard");
      await Bun.sleep(200);
    }
  }, 60_000);
  afterAll(() => stopField(f));

  test("every check passes: exit 0", async () => {
    const { code, report, out } = await checkJson(f);
    expect(report.checks.filter((c) => c.level !== "ok" && c.level !== "skipped")).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(findingOf(out, "engine").message).toMatch(/^runtime podman: podman \d+\.\d+\.\d+; docker-compose /);
  }, 60_000);
});
