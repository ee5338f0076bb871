/**
 * The OpenRC and SysV scripts and install.sh parse as POSIX sh, and the SysV
 * script really starts, reports and stops a daemon: with Debian's
 * start-stop-daemon, with BusyBox's, and with neither.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeRequiring, requireTool } from "../build/requirement.ts";
import { serviceEnvironment } from "../../../build/bench/service-env.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const scripts = ["init/sysv/margo-agent", "init/openrc/margo-agent", "init/install.sh"];

describe("shell syntax", () => {
  for (const script of scripts) {
    test(`sh -n ${script}`, () => {
      const r = Bun.spawnSync(["sh", "-n", join(repoRoot, script)], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
    });
  }

  test("the SysV script has a complete LSB header", () => {
    const text = readFileSync(join(repoRoot, "init/sysv/margo-agent"), "utf8");
    for (const key of ["Provides:", "Required-Start:", "Required-Stop:", "Default-Start:", "Default-Stop:", "Short-Description:"]) {
      expect(text).toMatch(new RegExp(`^# ${key}\\s+\\S`, "m"));
    }
  });
});

let work: string;
let initScript: string;
let pidfile: string;
let logfile: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "margo-sysv-"));
  // A daemon that behaves like the agent: runs until SIGTERM, logs to stdout.
  const stub = join(work, "stub");
  writeFileSync(stub, '#!/bin/sh\necho "stub started: $*"\necho "stub env: BUN_JSC_useJIT=$BUN_JSC_useJIT"\ntrap \'echo "stub got TERM"; exit 0\' TERM\nwhile :; do sleep 1; done\n');
  chmodSync(stub, 0o755);
  writeFileSync(join(work, "config.yaml"), "wfm:\n  url: https://wfm.example.com\n");
  pidfile = join(work, "agent.pid");
  logfile = join(work, "agent.log");
  // The script's paths are plain assignments at the top; point them into the sandbox.
  const original = readFileSync(join(repoRoot, "init/sysv/margo-agent"), "utf8");
  const patched = original
    .replace(/^DAEMON=.*$/m, `DAEMON=${stub}`)
    .replace(/^CONFIG=.*$/m, `CONFIG=${join(work, "config.yaml")}`)
    .replace(/^PIDFILE=.*$/m, `PIDFILE=${pidfile}`)
    .replace(/^LOGFILE=.*$/m, `LOGFILE=${logfile}`)
    .replace(/^DATADIR=.*$/m, `DATADIR=${join(work, "data")}`)
    .replace(/^\[ -r \/etc\/default\/margo-agent \].*$/m, "");
  expect(patched).not.toContain("/usr/bin/margo-agent");
  initScript = join(work, "margo-agent");
  writeFileSync(initScript, patched);
});

afterAll(() => {
  // Never leave a stub running, whatever failed.
  if (existsSync(pidfile)) {
    const pid = Number(readFileSync(pidfile, "utf8"));
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
});

function service(action: string, path: string): { code: number; out: string } {
  const r = Bun.spawnSync(["sh", initScript, action], { env: { PATH: path }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

/** A PATH with only the tools the script needs, plus `extra` links (name -> target). */
function pathWith(name: string, extra: Record<string, string>): string {
  const dir = join(work, `path-${name}`);
  mkdirSync(dir, { recursive: true });
  for (const tool of ["sh", "cat", "sleep", "kill", "mkdir", "chmod", "rm"]) {
    const found = Bun.which(tool);
    if (found && !existsSync(join(dir, tool))) symlinkSync(found, join(dir, tool));
  }
  for (const [tool, target] of Object.entries(extra)) symlinkSync(target, join(dir, tool));
  return dir;
}

function lifecycle(path: string): void {
  rmSync(logfile, { force: true });
  expect(service("status", path).code).toBe(3);
  const start = service("start", path);
  expect(start.out).toContain("done");
  expect(start.code).toBe(0);
  const status = service("status", path);
  expect(status.code).toBe(0);
  const pid = Number(readFileSync(pidfile, "utf8"));
  expect(status.out).toContain(`running (pid ${pid})`);
  // The pid in the file is the daemon itself (sh -c exec), so TERM reaches it.
  expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("run\0--config\0");
  expect(service("start", path).out).toContain("already running");
  expect(service("stop", path).code).toBe(0);
  expect(existsSync(`/proc/${pid}`)).toBe(false);
  expect(existsSync(pidfile)).toBe(false);
  expect(service("status", path).code).toBe(3);
  const log = readFileSync(logfile, "utf8");
  expect(log).toContain(`stub started: run --config ${join(work, "config.yaml")}`);
  expect(log).toContain("stub got TERM");
  // The service's environment (init/margo-agent.service's Environment=) reaches the daemon.
  expect(log).toContain(`stub env: BUN_JSC_useJIT=${serviceEnvironment(repoRoot).BUN_JSC_useJIT}`);
}

describe("SysV script lifecycle", () => {
  test("without start-stop-daemon", () => lifecycle(pathWith("plain", {})), 20_000);

  test("a stale pidfile is reported as dead (LSB status 1)", () => {
    writeFileSync(pidfile, "999999\n");
    const path = pathWith("plain", {});
    expect(service("status", path).code).toBe(1);
    expect(service("stop", path).code).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });

  test("a missing configuration fails start with a clear message", () => {
    const path = pathWith("plain", {});
    const config = join(work, "config.yaml");
    const saved = readFileSync(config);
    rmSync(config);
    try {
      const r = service("start", path);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain("is missing: install a configuration first");
    } finally {
      writeFileSync(config, saved);
    }
  });
});

const debianSsd = Bun.which("start-stop-daemon");
describeRequiring(debianSsd ? { available: true } : { available: false, reason: "start-stop-daemon not found (Debian package dpkg)" }, "SysV script with Debian's start-stop-daemon", () => {
  test("start, status, stop", () => lifecycle(pathWith("debian", { "start-stop-daemon": debianSsd as string })), 20_000);
});

const busybox = requireTool("busybox", "Debian package busybox");
describeRequiring(busybox, "SysV script with BusyBox's start-stop-daemon", () => {
  test("start, status, stop", () => lifecycle(pathWith("busybox", { "start-stop-daemon": Bun.which("busybox") as string })), 20_000);
});
