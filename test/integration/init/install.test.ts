/**
 * init/install.sh into a DESTDIR: the tree image builders get, its modes, and
 * that nothing on the running system is touched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeRequiring, requireTool } from "../build/requirement.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const initDir = join(repoRoot, "init");

let work: string;
let stub: string;
let config: string;

function mode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs install.sh from `scriptDir` (default: the repo's init/) with a clean environment. */
function install(args: string[], env: Record<string, string>, opts: { scriptDir?: string; shell?: string[] } = {}): Run {
  const script = join(opts.scriptDir ?? initDir, "install.sh");
  const r = Bun.spawnSync([...(opts.shell ?? ["sh"]), script, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function expectOk(r: Run): void {
  if (r.code !== 0) throw new Error(`install.sh exited ${r.code}\n${r.stdout}\n${r.stderr}`);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "margo-install-"));
  stub = join(work, "margo-agent-stub");
  writeFileSync(stub, "#!/bin/sh\necho stub\n");
  chmodSync(stub, 0o755);
  config = join(work, "config.yaml");
  writeFileSync(config, "wfm:\n  url: https://wfm.example.com\n");
  writeFileSync(join(work, "ca.pem"), "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  writeFileSync(join(work, "cert.pem"), "-----BEGIN CERTIFICATE-----\nDEV\n-----END CERTIFICATE-----\n");
  writeFileSync(join(work, "key.pem"), "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n");
  chmodSync(join(work, "key.pem"), 0o644);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("install.sh into DESTDIR", () => {
  test("lays out the full tree with the right modes (--init all --enable)", () => {
    const dest = join(work, "full");
    // A systemctl that leaves a mark: with DESTDIR it must never run.
    const fakeBin = join(work, "fakebin");
    mkdirSync(fakeBin, { recursive: true });
    const marker = join(work, "systemctl-ran");
    for (const tool of ["systemctl", "rc-update", "update-rc.d"]) {
      writeFileSync(join(fakeBin, tool), `#!/bin/sh\necho "${tool} $*" >> ${marker}\n`);
      chmodSync(join(fakeBin, tool), 0o755);
    }
    const r = install(
      ["--binary", stub, "--config", config, "--ca", join(work, "ca.pem"), "--cert", join(work, "cert.pem"), "--key", join(work, "key.pem"), "--init", "all", "--enable"],
      { DESTDIR: dest, PATH: `${fakeBin}:${process.env.PATH}` },
    );
    expectOk(r);
    expect(existsSync(marker)).toBe(false);

    const at = (p: string) => join(dest, p);
    expect(mode(at("usr/bin/margo-agent"))).toBe("0755");
    expect(readFileSync(at("usr/bin/margo-agent"), "utf8")).toBe(readFileSync(stub, "utf8"));
    expect(mode(at("etc/margo-agent"))).toBe("0750");
    expect(mode(at("etc/margo-agent/config.yaml"))).toBe("0640");
    expect(readFileSync(at("etc/margo-agent/config.yaml"), "utf8")).toBe(readFileSync(config, "utf8"));
    expect(mode(at("etc/margo-agent/device-key.pem"))).toBe("0600");
    expect(readFileSync(at("etc/margo-agent/device-key.pem"), "utf8")).toContain("SECRET");
    expect(mode(at("etc/margo-agent/device-cert.pem"))).toBe("0644");
    expect(mode(at("etc/margo-agent/ca.pem"))).toBe("0644");
    expect(mode(at("var/lib/margo-agent"))).toBe("0700");

    const unit = at("usr/lib/systemd/system/margo-agent.service");
    expect(mode(unit)).toBe("0644");
    expect(readFileSync(unit, "utf8")).toBe(readFileSync(join(initDir, "margo-agent.service"), "utf8"));
    const wants = at("etc/systemd/system/multi-user.target.wants/margo-agent.service");
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe("/usr/lib/systemd/system/margo-agent.service");

    expect(mode(at("etc/init.d/margo-agent"))).toBe("0755");
    expect(readFileSync(at("etc/init.d/margo-agent"), "utf8")).toStartWith("#!/sbin/openrc-run");
    expect(readlinkSync(at("etc/runlevels/default/margo-agent"))).toBe("/etc/init.d/margo-agent");
    expect(mode(at("etc/init.d/margo-agent.sysv"))).toBe("0755");
    expect(readFileSync(at("etc/init.d/margo-agent.sysv"), "utf8")).toContain("### BEGIN INIT INFO");
    expect(mode(at("usr/share/doc/margo-agent/README.md"))).toBe("0644");
  });

  test("default --init systemd installs no init.d scripts and enables nothing", () => {
    const dest = join(work, "default");
    expectOk(install(["--binary", stub, "--config", config], { DESTDIR: dest }));
    expect(existsSync(join(dest, "usr/lib/systemd/system/margo-agent.service"))).toBe(true);
    expect(existsSync(join(dest, "etc/init.d"))).toBe(false);
    expect(existsSync(join(dest, "etc/systemd/system/multi-user.target.wants"))).toBe(false);
    expect(existsSync(join(dest, "etc/margo-agent/device-key.pem"))).toBe(false);
  });

  test("never overwrites an existing configuration", () => {
    const dest = join(work, "keep");
    expectOk(install(["--binary", stub, "--config", config], { DESTDIR: dest }));
    const installed = join(dest, "etc/margo-agent/config.yaml");
    writeFileSync(installed, "wfm:\n  url: https://edited.example.com\n");
    const again = install(["--binary", stub, "--config", config], { DESTDIR: dest });
    expectOk(again);
    expect(again.stdout).toContain("keeping existing");
    expect(readFileSync(installed, "utf8")).toContain("edited.example.com");
  });

  test("PREFIX moves the executable and unit, and the installed scripts name the new path", () => {
    const dest = join(work, "prefix");
    expectOk(install(["--binary", stub, "--config", config, "--init", "all"], { DESTDIR: dest, PREFIX: "/opt/margo" }));
    expect(mode(join(dest, "opt/margo/bin/margo-agent"))).toBe("0755");
    const unit = readFileSync(join(dest, "opt/margo/lib/systemd/system/margo-agent.service"), "utf8");
    expect(unit).toContain("ExecStart=/opt/margo/bin/margo-agent run --config /etc/margo-agent/config.yaml");
    expect(unit).not.toContain("/usr/bin/margo-agent");
    expect(readFileSync(join(dest, "etc/init.d/margo-agent"), "utf8")).toContain('command="/opt/margo/bin/margo-agent"');
    expect(readFileSync(join(dest, "etc/init.d/margo-agent.sysv"), "utf8")).toContain("DAEMON=/opt/margo/bin/margo-agent");
    // /etc and /var do not move with PREFIX.
    expect(existsSync(join(dest, "etc/margo-agent/config.yaml"))).toBe(true);
    expect(existsSync(join(dest, "var/lib/margo-agent"))).toBe(true);
  });

  test("--unitdir puts the unit where a Yocto recipe wants it", () => {
    const dest = join(work, "unitdir");
    expectOk(install(["--binary", stub, "--config", config, "--unitdir", "/lib/systemd/system"], { DESTDIR: dest }));
    expect(existsSync(join(dest, "lib/systemd/system/margo-agent.service"))).toBe(true);
  });

  test("the default executable matches the target's architecture and libc", () => {
    // A copy of the repo layout, so the real dist/ does not matter.
    const fakeRepo = join(work, "repo");
    cpSync(initDir, join(fakeRepo, "init"), { recursive: true });
    writeFileSync(join(fakeRepo, "init/config.yaml"), readFileSync(config));
    mkdirSync(join(fakeRepo, "dist"), { recursive: true });
    writeFileSync(join(fakeRepo, "dist/margo-agent-linux-arm64"), "glibc arm64\n");
    writeFileSync(join(fakeRepo, "dist/margo-agent-linux-arm64-musl"), "musl arm64\n");
    const scriptDir = join(fakeRepo, "init");

    const glibc = join(work, "arch-glibc");
    expectOk(install([], { DESTDIR: glibc, ARCH: "arm64" }, { scriptDir }));
    expect(readFileSync(join(glibc, "usr/bin/margo-agent"), "utf8")).toBe("glibc arm64\n");
    // With no --config, init/config.yaml beside the script is installed.
    expect(readFileSync(join(glibc, "etc/margo-agent/config.yaml"), "utf8")).toBe(readFileSync(config, "utf8"));

    const musl = join(work, "arch-musl");
    mkdirSync(join(musl, "lib"), { recursive: true });
    writeFileSync(join(musl, "lib/ld-musl-aarch64.so.1"), "");
    // Build systems' own spelling of the architecture works too.
    expectOk(install([], { DESTDIR: musl, ARCH: "aarch64" }, { scriptDir }));
    expect(readFileSync(join(musl, "usr/bin/margo-agent"), "utf8")).toBe("musl arm64\n");

    const missing = install(["--arch", "x64"], { DESTDIR: join(work, "arch-missing") }, { scriptDir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("dist/margo-agent-linux-x64 not found: run 'npm run build' first, or pass --binary FILE");
  });

  test("the repo's own default configuration is init/config.yaml", () => {
    const dest = join(work, "repo-default");
    const r = install(["--binary", stub], { DESTDIR: dest });
    if (existsSync(join(initDir, "config.yaml"))) {
      expectOk(r);
      expect(readFileSync(join(dest, "etc/margo-agent/config.yaml"), "utf8")).toBe(readFileSync(join(initDir, "config.yaml"), "utf8"));
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("init/config.yaml does not exist");
    }
  });

  test("refuses bad usage with a message that names the problem", () => {
    const bad = (args: string[], env: Record<string, string> = {}) => install(args, { DESTDIR: join(work, "bad"), ...env });
    expect(bad(["--binary", stub, "--config", config, "--init", "upstart"]).stderr).toContain("--init must be systemd, openrc, sysv, all or none, not 'upstart'");
    expect(bad(["--binary", stub, "--config", config, "--start"]).stderr).toContain("--start cannot be used with DESTDIR");
    expect(bad(["--binary", join(work, "nope"), "--config", config]).stderr).toContain("does not exist");
    expect(bad(["--binary"]).stderr).toContain("--binary needs a value");
    expect(bad(["--frobnicate"]).code).toBe(1);
    expect(bad(["--binary", stub, "--config", config], { PREFIX: "usr" }).stderr).toContain("PREFIX must be an absolute path");
  });

  test("--help prints the usage", () => {
    const r = install(["--help"], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--binary FILE");
    expect(r.stdout).toContain("DESTDIR");
  });
});

describeRequiring(requireTool("busybox", "Debian package busybox"), "install.sh under BusyBox sh", () => {
  test("installs the same tree", () => {
    const dest = join(work, "busybox");
    expectOk(install(["--binary", stub, "--config", config, "--key", join(work, "key.pem"), "--init", "all", "--enable"], { DESTDIR: dest }, { shell: ["busybox", "sh"] }));
    expect(mode(join(dest, "usr/bin/margo-agent"))).toBe("0755");
    expect(mode(join(dest, "etc/margo-agent/config.yaml"))).toBe("0640");
    expect(mode(join(dest, "etc/margo-agent/device-key.pem"))).toBe("0600");
    expect(mode(join(dest, "var/lib/margo-agent"))).toBe("0700");
    expect(existsSync(join(dest, "etc/init.d/margo-agent.sysv"))).toBe(true);
  });
});
