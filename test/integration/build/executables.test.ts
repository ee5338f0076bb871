/**
 * `npm run build` end to end: every target is compiled once (into a temp
 * outdir), then the x64 executable runs natively and the arm64 one under
 * qemu user-mode emulation, and both must print what the source CLI prints.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ALL_TARGETS } from "../../../build/targets.ts";
import { readEmbeddedVersion } from "../../../build/version.ts";
import { describeRequiring, requireTool, type Requirement } from "./requirement.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const expected = readEmbeddedVersion(repoRoot);
const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";

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
    const want = source("config", "check", "--config", "init/config.yaml");
    expect(want.code).toBe(0);
    expect(run([x64(), "config", "check", "--config", "init/config.yaml"])).toEqual(want);
  });

  test("an invalid configuration fails the same way as from source", () => {
    const want = source("config", "check", "--config", invalidConfig);
    expect(want.code).not.toBe(0);
    expect(run([x64(), "config", "check", "--config", invalidConfig])).toEqual(want);
  });

  test.todo("syncs a deployment from `margo-agent dev-wfm` with `margo-agent run` (the lead adds it with the sync loop)");
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
    const want = source("config", "check", "--config", "init/config.yaml");
    expect(arm64("config", "check", "--config", "init/config.yaml")).toEqual(want);
    const wantInvalid = source("config", "check", "--config", invalidConfig);
    expect(arm64("config", "check", "--config", invalidConfig)).toEqual(wantInvalid);
  }, 60_000);
});
