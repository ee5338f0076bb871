/**
 * `npm run build` end to end: every target is compiled once (into a temp
 * outdir), then the x64 executable runs natively and the arm64 one under
 * qemu user-mode emulation, and both must print what the source CLI prints.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ALL_TARGETS } from "../../../build/targets.ts";
import { readEmbeddedVersion } from "../../../build/version.ts";
import { describeRequiring, requireTool, type Requirement } from "./requirement.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const expected = readEmbeddedVersion(repoRoot);
const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";
/** The deployment id in examples/hello/hello-world.yaml. */
const HELLO_ID = "4f1c2a9e-6b1d-4c55-9a3e-0d7b8e2f5a10";

let outdir: string;
let build: { code: number; output: string };
let invalidConfig: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(argv: string[]): Run {
  // Environment without MARGO_AGENT_* overrides, so every run reads only the file.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MARGO_AGENT_"))) as Record<string, string>;
  const r = Bun.spawnSync(argv, { cwd: repoRoot, env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function envWithoutOverrides(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MARGO_AGENT_"))) as Record<string, string>;
}

const readText = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");

/** Polls `probe` until it returns a value; bounded, and the failure names what it waited for. */
async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, context: () => string = () => "", timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await Bun.sleep(100);
  }
}

/** The exit code, or null when the process did not exit in time. */
async function exitWithin(proc: Subprocess, ms: number): Promise<number | null> {
  return Promise.race([proc.exited, Bun.sleep(ms).then(() => null)]);
}

const source = (...args: string[]) => run([process.execPath, join(repoRoot, "src/cli.ts"), ...args]);
const exe = (name: string) => join(outdir, name);

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "margo-build-"));
  invalidConfig = join(outdir, "invalid.yaml");
  writeFileSync(invalidConfig, "wfm:\n  url: ftp://wfm.example.com\npoll:\n  interval: soon\n");
  const r = Bun.spawnSync([process.execPath, join(repoRoot, "build/build.ts"), "--outdir", outdir], {
    cwd: repoRoot,
    stdout: "pipe",
    stderr: "pipe",
  });
  build = { code: r.exitCode ?? -1, output: r.stdout.toString() + r.stderr.toString() };
}, 180_000);

afterAll(() => {
  // About 100 MiB per executable: do not leave them in /tmp.
  rmSync(outdir, { recursive: true, force: true });
});

describe("npm run build", () => {
  test("builds every target and lists them in SHA256SUMS", () => {
    if (build.code !== 0) throw new Error(`build/build.ts exited ${build.code}:\n${build.output}`);
    const sums = readFileSync(join(outdir, "SHA256SUMS"), "utf8");
    for (const t of ALL_TARGETS) {
      expect(sums).toMatch(new RegExp(`^[0-9a-f]{64}  ${t.fileName}$`, "m"));
      expect(build.output).toMatch(new RegExp(`^${t.fileName}\\s+\\d+\\s+\\d+\\.\\d$`, "m"));
    }
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: outdir, stdout: "pipe", stderr: "pipe" });
    expect(check.exitCode).toBe(0);
  });

  test("musl executables ask for the musl loader, glibc ones for glibc's", () => {
    // The ELF interpreter path sits in the first pages of the file.
    const head = (name: string) => readFileSync(exe(name)).subarray(0, 64 * 1024).toString("latin1");
    expect(head("margo-agent-linux-x64")).toContain("/lib64/ld-linux-x86-64.so.2");
    expect(head("margo-agent-linux-arm64")).toContain("/lib/ld-linux-aarch64.so.1");
    expect(head("margo-agent-linux-x64-musl")).toContain("/lib/ld-musl-x86_64.so.1");
    expect(head("margo-agent-linux-arm64-musl")).toContain("/lib/ld-musl-aarch64.so.1");
  });
});

describe("x64 executable", () => {
  const x64 = () => exe("margo-agent-linux-x64");

  test("version embeds the package version and the git commit", () => {
    const r = run([x64(), "version"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(expected.version);
    expect(r.stdout).toContain(expected.commit);
  });

  test("version --json is the source CLI's, with the build's commit and compiled: true", () => {
    const fromSource = JSON.parse(source("version", "--json").stdout) as Record<string, unknown>;
    const built = JSON.parse(run([x64(), "version", "--json"]).stdout) as Record<string, unknown>;
    expect(fromSource.commit).toBe("dev");
    expect(built).toEqual({ ...fromSource, commit: expected.commit, compiled: true });
  });

  test("config check init/config.yaml prints what the source CLI prints", () => {
    // The shipped example is rc3 and names no SVID (provisioned per device): both refuse it alike;
    // as a v1 configuration it is valid.
    expect(run([x64(), "config", "check", "--config", "init/config.yaml"])).toEqual(source("config", "check", "--config", "init/config.yaml"));
    const want = source("config", "check", "--config", "init/config.yaml", "--set", "wfm.profile=v1");
    expect(want.code).toBe(0);
    expect(run([x64(), "config", "check", "--config", "init/config.yaml", "--set", "wfm.profile=v1"])).toEqual(want);
  });

  test("an invalid configuration fails the same way as from source", () => {
    const want = source("config", "check", "--config", invalidConfig);
    expect(want.code).not.toBe(0);
    expect(run([x64(), "config", "check", "--config", invalidConfig])).toEqual(want);
  });

  test("syncs examples/hello from its own `dev-wfm` with `run` (simulated): installed, then removed when the YAML goes", async () => {
    const work = mkdtempSync(join(tmpdir(), "margo-exe-sync-"));
    const children: Subprocess[] = [];
    try {
      const appDir = join(work, "wfm");
      cpSync(join(repoRoot, "examples/hello"), appDir, { recursive: true });
      const wfmLog = join(work, "dev-wfm.log");
      const agentLog = join(work, "agent.log");
      const wfmProc = Bun.spawn([x64(), "dev-wfm", "--profile", "v1", "--state", join(work, "wfm-state"), "--dir", appDir, "--listen", "127.0.0.1:0"], { stdout: Bun.file(wfmLog), stderr: Bun.file(join(work, "dev-wfm.err")), stdin: "ignore" });
      children.push(wfmProc);
      // Port 0: the dev WFM says where it listens in its first log lines.
      const listening = await waitFor("the dev WFM to listen", () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(readText(wfmLog))?.[1]);
      const config = join(work, "agent.yaml");
      writeFileSync(
        config,
        `wfm:\n  profile: v1\n  url: ${listening}\n  allowInsecureHttp: true\ndataDir: ${join(work, "data")}\nruntime: simulated\npoll:\n  interval: 200ms\n  jitter: 0\npackages:\n  allowInsecureHttp: true\n  reserve: 64MiB\napi:\n  enabled: false\n`,
      );
      const agentProc = Bun.spawn([x64(), "run", "--config", config], { stdout: Bun.file(agentLog), stderr: Bun.file(join(work, "agent.err")), stdin: "ignore", env: envWithoutOverrides() });
      children.push(agentProc);
      const logs = () => `agent log:\n${readText(agentLog)}${readText(join(work, "agent.err"))}\ndev WFM log:\n${readText(wfmLog)}`;

      const states = async () => {
        const reports = (await (await fetch(`${listening}/api/dev/reports`)).json()) as { deploymentId: string; body: { status: { state: string } } }[];
        return reports.filter((r) => r.deploymentId === HELLO_ID).map((r) => r.body.status.state);
      };
      const reached = (state: string) => async () => ((await states()).includes(state) ? true : undefined);
      await waitFor("installed", reached("installed"), logs);
      for (const f of readdirSync(appDir)) if (/\.ya?ml$/.test(f)) rmSync(join(appDir, f));
      await waitFor("removed", reached("removed"), logs);

      // Each state in the order a device goes through them (an in-between state may repeat, e.g. installing per component).
      const seen = await states();
      const firsts = ["pending", "installing", "installed", "removing", "removed"].map((s) => seen.indexOf(s));
      expect(firsts.every((i) => i >= 0)).toBe(true);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
      expect(seen.includes("failed")).toBe(false);

      // SIGTERM: both stop by themselves, exit 0.
      agentProc.kill("SIGTERM");
      expect(await exitWithin(agentProc, 10_000)).toBe(0);
      wfmProc.kill("SIGTERM");
      expect(await exitWithin(wfmProc, 10_000)).toBe(0);
      expect(readText(agentLog)).toContain('"msg":"stopping"');
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});

function qemuRequirement(): Requirement {
  const tool = requireTool("qemu-aarch64", "Debian packages qemu-user and libc6-arm64-cross");
  if (!tool.available) return tool;
  if (!existsSync(join(AARCH64_SYSROOT, "lib/ld-linux-aarch64.so.1"))) {
    return { available: false, reason: `${AARCH64_SYSROOT}/lib/ld-linux-aarch64.so.1 missing (Debian package libc6-arm64-cross)` };
  }
  return tool;
}

describeRequiring(qemuRequirement(), "arm64 executable under qemu-aarch64", () => {
  const arm64 = (...args: string[]) => run(["qemu-aarch64", "-L", AARCH64_SYSROOT, exe("margo-agent-linux-arm64"), ...args]);

  test("version reports the build and linux-arm64", () => {
    const r = arm64("version", "--json");
    expect(r.code).toBe(0);
    const fromSource = JSON.parse(source("version", "--json").stdout) as Record<string, unknown>;
    expect(JSON.parse(r.stdout)).toEqual({ ...fromSource, commit: expected.commit, compiled: true, platform: "linux-arm64" });
  }, 60_000);

  test("config check prints what the source CLI prints", () => {
    const want = source("config", "check", "--config", "init/config.yaml", "--set", "wfm.profile=v1");
    expect(arm64("config", "check", "--config", "init/config.yaml", "--set", "wfm.profile=v1")).toEqual(want);
    const wantInvalid = source("config", "check", "--config", invalidConfig);
    expect(arm64("config", "check", "--config", invalidConfig)).toEqual(wantInvalid);
  }, 60_000);
});
