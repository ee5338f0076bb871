/**
 * `systemd-analyze verify` accepts the unit as install.sh installs it. It runs
 * with --root on a DESTDIR tree that holds a stub executable at ExecStart's path
 * and a copy of the host's units (the unit pulls in sysinit.target and friends,
 * which verify must find under the root).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeRequiring, requireTool, type Requirement } from "../build/requirement.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const hostUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "sysinit.target")));

function requirement(): Requirement {
  const tool = requireTool("systemd-analyze", "Debian package systemd");
  if (!tool.available) return tool;
  if (!hostUnits) return { available: false, reason: "no sysinit.target under /usr/lib/systemd/system (Debian package systemd)" };
  return tool;
}

let dest: string;

beforeAll(() => {
  dest = mkdtempSync(join(tmpdir(), "margo-verify-"));
});

afterAll(() => {
  rmSync(dest, { recursive: true, force: true });
});

function verify(root: string): { code: number; stderr: string } {
  const r = Bun.spawnSync(["systemd-analyze", "verify", `--root=${root}`, "margo-agent.service"], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stderr: r.stderr.toString() + r.stdout.toString() };
}

describeRequiring(requirement(), "systemd unit", () => {
  test("systemd-analyze verify accepts the installed unit without warnings", () => {
    const stub = join(dest, "stub");
    writeFileSync(stub, "#!/bin/sh\nexit 0\n");
    chmodSync(stub, 0o755);
    const config = join(dest, "config.yaml");
    writeFileSync(config, "wfm:\n  url: https://wfm.example.com\n");
    const root = join(dest, "root");
    const r = Bun.spawnSync(["sh", join(repoRoot, "init/install.sh"), "--binary", stub, "--config", config], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DESTDIR: root },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    // The host's units go to /lib, ours is in /usr/lib: verify must search both, as systemd does.
    mkdirSync(join(root, "lib/systemd/system"), { recursive: true });
    cpSync(hostUnits as string, join(root, "lib/systemd/system"), { recursive: true, verbatimSymlinks: true });

    const ok = verify(root);
    // Unknown keys and unparsable values are only warnings (exit 0), so the output must be empty too.
    expect(ok.stderr.trim()).toBe("");
    expect(ok.code).toBe(0);
  }, 30_000);

  test("and it does check ExecStart: without the executable it fails", () => {
    const root = join(dest, "root");
    rmSync(join(root, "usr/bin/margo-agent"));
    const bad = verify(root);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("/usr/bin/margo-agent");
  }, 30_000);
});
