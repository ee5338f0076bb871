/**
 * The GitOps keys (src/config/schema.ts, src/config/git-rules.ts): credentials
 * only from files, transports and paths that cannot be turned against the
 * device, and the rules `config check` and `run` share.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFileProblems } from "../../../src/config/files.ts";
import { configKeys, envNameFor, loadConfig } from "../../../src/config/load.ts";
import { devicePath } from "../../../src/gitops/settings.ts";

const dir = mkdtempSync(join(tmpdir(), "gitcfg-"));
const base = ["wfm.url=https://wfm.example.com", "desiredState.source=git"];
const load = (...sets: string[]) => loadConfig({ sets: [...base, ...sets] });
function refusal(...sets: string[]): string {
  try {
    load(...sets);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`accepted: ${sets.join(" ")}`);
}

describe("GitOps configuration", () => {
  test("defaults: the WFM is the source; git keys are listed with their variables", () => {
    const c = loadConfig({ sets: ["wfm.url=https://wfm.example.com"] });
    expect(c.desiredState.source).toBe("wfm");
    expect(c.git).toMatchObject({ url: null, ref: "main", path: "devices/{deviceId}", allowRewrite: false, verify: { mode: "none", keysFile: null } });
    expect(c.git.limits).toEqual({ fetchBytes: 64 * 1024 * 1024, files: 1000, timeout: 120_000, historyDepth: 1000 });
    expect(configKeys()).toContain("git.verify.keysFile");
    expect(envNameFor("git.limits.fetchBytes")).toBe("MARGO_AGENT_GIT_LIMITS_FETCH_BYTES");
  });

  test("the shipped init/config.yaml documents every git key", async () => {
    const text = await Bun.file(join(import.meta.dir, "../../../init/config.yaml")).text();
    for (const key of configKeys().filter((k) => k.startsWith("git.") || k.startsWith("desiredState."))) {
      const leaf = key.split(".").at(-1)!;
      expect(text).toMatch(new RegExp(`^\\s*#?\\s*${leaf}:`, "m"));
    }
  });

  test("git.url: https, ssh and scp-like forms; no credentials, no file://, git://, ext:: or option-like text", () => {
    expect(load("git.url=https://git.example.com/fleet.git").git.url).toBe("https://git.example.com/fleet.git");
    expect(load("git.url=ssh://git@git.example.com/fleet.git", "git.sshKeyFile=/k", "git.knownHostsFile=/h").git.url).toContain("ssh://");
    expect(load("git.url=git@git.example.com:fleet.git", "git.sshKeyFile=/k", "git.knownHostsFile=/h").git.url).toContain("git@");
    expect(refusal("git.url=https://bot:secret@git.example.com/fleet.git")).toContain("must not carry credentials");
    expect(refusal("git.url=file:///srv/fleet.git")).toContain("file://, git:// and ext:: are refused");
    expect(refusal("git.url=git://git.example.com/fleet.git")).toContain("refused");
    expect(refusal("git.url=ext::sh -c touch% /tmp/pwned")).toContain("git.url");
    expect(refusal("git.url=-uhttps://x")).toContain("git.url");
    // Read as an option by git or ssh if it got through.
    expect(refusal("git.url=-oProxyCommand=touch@h:/tmp/pwned", "git.sshKeyFile=/k", "git.knownHostsFile=/h")).toContain("git.url");
    expect(refusal("git.url=ssh://-oProxyCommand=x/f.git", "git.sshKeyFile=/k", "git.knownHostsFile=/h")).toContain("starting with -");
    expect(refusal("git.url=git@-oProxyCommand=x:f.git", "git.sshKeyFile=/k", "git.knownHostsFile=/h")).toContain("git.url");
  });

  test("source git needs git.url; plain http only to loopback with allowInsecureHttp", () => {
    expect(refusal()).toContain("git.url: null is required with desiredState.source: git");
    expect(refusal("git.url=http://git.example.com/f.git", "git.allowInsecureHttp=true")).toContain("not loopback");
    expect(refusal("git.url=http://127.0.0.1:8080/f.git")).toContain("plain http is refused");
    expect(load("git.url=http://127.0.0.1:8080/f.git", "git.allowInsecureHttp=true").git.allowInsecureHttp).toBe(true);
  });

  test("ssh needs its key and known_hosts, each a plain path; tokens are for https", () => {
    expect(refusal("git.url=ssh://git@h/f.git")).toContain("git.sshKeyFile");
    expect(refusal("git.url=ssh://git@h/f.git", "git.sshKeyFile=/k")).toContain("StrictHostKeyChecking=yes");
    expect(refusal("git.url=ssh://git@h/f.git", "git.sshKeyFile=/k'; touch /tmp/x; '", "git.knownHostsFile=/h")).toContain("it is passed to ssh");
    expect(refusal("git.url=ssh://git@h/f.git", "git.sshKeyFile=/k", "git.knownHostsFile=/h", "git.tokenFile=/t")).toContain("https URLs only");
    expect(refusal("git.url=https://h/f.git", "git.sshKeyFile=/k")).toContain("ssh URLs only");
  });

  test("git.path: relative, no . or .., only the {deviceId} placeholder; a device id cannot climb out", () => {
    expect(refusal("git.url=https://h/f.git", "git.path=../etc")).toContain("must not contain . or .. segments");
    expect(refusal("git.url=https://h/f.git", "git.path=/abs")).toContain("git.path");
    expect(refusal("git.url=https://h/f.git", "git.path=devices/{clientId}")).toContain("only the placeholder {deviceId}");
    expect(devicePath("fleet/{deviceId}", "line-3/press-7")).toBe("fleet/line-3/press-7");
    expect(() => devicePath("fleet/{deviceId}", "..")).toThrow("not a relative path inside the repository");
  });

  test("git.ref: branch or tag names only", () => {
    expect(load("git.url=https://h/f.git", "git.ref=refs/tags/v1.2").git.ref).toBe("refs/tags/v1.2");
    for (const bad of ["-x", "a..b", "main.lock", "a b", "@{1}", "x/"]) expect(refusal("git.url=https://h/f.git", `git.ref=${bad}`)).toContain("git.ref");
  });

  test("git.verify needs its keys file; files are checked the way run reads them, their content never quoted", () => {
    expect(refusal("git.url=https://h/f.git", "git.verify.mode=gpg")).toContain("git.verify.keysFile");
    const token = join(dir, "token");
    writeFileSync(token, "abc def-SECRET\n");
    const c = load("git.url=https://h/f.git", `git.tokenFile=${token}`, `git.verify.mode=ssh`, `git.verify.keysFile=${join(dir, "missing")}`);
    const found = configFileProblems(c).map((p) => `${p.key}: ${p.message}`);
    expect(found.some((p) => p.startsWith("git.tokenFile:") && p.includes("one line of printable ASCII"))).toBe(true);
    expect(found.some((p) => p.startsWith("git.verify.keysFile:") && p.includes("does not exist"))).toBe(true);
    expect(found.join("\n")).not.toContain("SECRET");
  });
});
