/**
 * Everything git reads comes from files the agent writes in dataDir/gitops, never
 * from the command line or an environment another process could see:
 *
 * - `gitconfig` (0600), named by GIT_CONFIG_GLOBAL: the token as an
 *   http.<url>.extraHeader (basic auth), the ssh command with the key and the
 *   known_hosts file, the protocols allowed, no credential helper, no askpass,
 *   no hooks, no redirects; the signature settings.
 * - `home/`: git's HOME, empty, so no ~/.gitconfig, ~/.ssh/config or ~/.netrc of
 *   whoever runs the agent is read.
 * - `gnupg/` (0700): a GnuPG home holding only the keys of git.verify.keysFile.
 *
 * The environment git runs with is fixed (gitEnvironment): PATH, HOME, LANG=C (so
 * its messages can be classified), the config file, and GNUPGHOME.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { readGitToken } from "../config/git-rules.ts";
import { AgentError } from "../errors/index.ts";
import type { Platform } from "../platform/types.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import type { GitSettings } from "./settings.ts";

export interface GitHome {
  /** The fixed environment every git command runs with. */
  env: Record<string, string>;
  /** The config file (0600). */
  configFile: string;
}

/** A git config value in double quotes: backslash and quote escaped; no newline can get in. */
function quote(value: string): string {
  if (/[\n\r\0]/.test(value)) throw new AgentError("CONFIG_INVALID", "a git setting may not contain a newline");
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Single-quoted for the shell git runs core.sshCommand with; the config rules allow no quote in these paths. */
function shq(path: string): string {
  if (path.includes("'")) throw new AgentError("CONFIG_INVALID", `${path}: a quote is not allowed in a path passed to ssh`);
  return `'${path}'`;
}

/** The config file's text. Pure, so a unit test reads exactly what git will. */
export function gitConfigText(s: GitSettings, opts: { token?: string; connectTimeoutS: number }): string {
  const lines: string[] = [];
  const section = (name: string, entries: Record<string, string>) => {
    lines.push(`[${name}]`);
    for (const [k, v] of Object.entries(entries)) lines.push(`\t${k} = ${quote(v)}`);
  };
  section("core", { askPass: "", hooksPath: "/dev/null", fsmonitor: "false", ...(s.transport === "ssh" ? { sshCommand: sshCommand(s, opts.connectTimeoutS) } : {}) });
  // An empty helper resets the list: no stored credentials of anyone else are ever tried.
  section("credential", { helper: "" });
  section("protocol", { allow: "never", version: "2" });
  section(`protocol "${s.transport}"`, { allow: "always" });
  // Redirects off: a token is never sent on to another host, and the repository is where the config says.
  section("http", { followRedirects: "false", lowSpeedLimit: "1", lowSpeedTime: String(opts.connectTimeoutS) });
  if (s.transport !== "ssh") {
    const scoped: Record<string, string> = {};
    if (opts.token !== undefined) {
      const userToken = opts.token.includes(":") ? opts.token : `x-access-token:${opts.token}`;
      scoped.extraHeader = `Authorization: Basic ${Buffer.from(userToken).toString("base64")}`;
    }
    if (s.caFile) scoped.sslCAInfo = resolve(s.caFile);
    if (Object.keys(scoped).length) section(`http "${s.url}"`, scoped);
  }
  // Keep every fetched pack as one file (the size watchdog watches it) and check what arrives.
  section("fetch", { unpackLimit: "1", fsckObjects: "true" });
  section("transfer", { fsckObjects: "true" });
  section("submodule", { recurse: "false" });
  section("gc", { auto: "0" });
  section("maintenance", { auto: "false" });
  if (s.verify.mode === "ssh" && s.verify.keysFile) {
    section("gpg", { format: "ssh" });
    section(`gpg "ssh"`, { allowedSignersFile: resolve(s.verify.keysFile) });
  } else if (s.verify.mode === "gpg") {
    section("gpg", { format: "openpgp", program: "gpg" });
  }
  return lines.join("\n") + "\n";
}

/** ssh with only the configured key and known_hosts: no agent, no ~/.ssh/config, no prompt, no new host keys. */
export function sshCommand(s: GitSettings, connectTimeoutS: number): string {
  if (!s.sshKeyFile || !s.knownHostsFile) throw new AgentError("CONFIG_INVALID", "git.sshKeyFile and git.knownHostsFile are required for an ssh git.url");
  return [
    "ssh",
    "-F /dev/null",
    `-i ${shq(resolve(s.sshKeyFile))}`,
    `-o UserKnownHostsFile=${shq(resolve(s.knownHostsFile))}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o StrictHostKeyChecking=yes",
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o BatchMode=yes",
    "-o PasswordAuthentication=no",
    "-o KbdInteractiveAuthentication=no",
    `-o ConnectTimeout=${connectTimeoutS}`,
  ].join(" ");
}

/**
 * Writes the config file and directories, and (gpg) imports the keys into a
 * GnuPG home of their own. Done at every start, so the files always match the
 * configuration (a rotated token, a new key list).
 */
export async function prepareGitHome(s: GitSettings, platform: Pick<Platform, "run">): Promise<GitHome> {
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  chmodSync(s.dir, 0o700);
  const home = join(s.dir, "home");
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const configFile = join(s.dir, "gitconfig");
  let token: string | undefined;
  if (s.tokenFile && s.transport !== "ssh") {
    try {
      token = readGitToken(s.tokenFile);
    } catch (err) {
      throw new AgentError("CONFIG_INVALID", `git.tokenFile: ${(err as Error).message}`);
    }
  }
  await writeFileAtomic(configFile, gitConfigText(s, { token, connectTimeoutS: Math.max(1, Math.round(Math.min(s.limits.timeoutMs, 30_000) / 1000)) }), 0o600);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_GLOBAL: configFile,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_ATTR_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_NO_REPLACE_OBJECTS: "1",
  };
  if (s.verify.mode === "gpg" && s.verify.keysFile) {
    const gnupg = join(s.dir, "gnupg");
    rmSync(gnupg, { recursive: true, force: true });
    mkdirSync(gnupg, { mode: 0o700 });
    const r = await platform.run(["gpg", "--batch", "--no-autostart", "--homedir", gnupg, "--import", resolve(s.verify.keysFile)], { env: { PATH: env.PATH!, HOME: home, LANG: "C", LC_ALL: "C" }, timeoutMs: 30_000, maxOutputBytes: 64 * 1024 });
    if (r.code === 127) throw new AgentError("GIT_FAILED", "gpg is not installed: git.verify.mode gpg needs it (Debian package gnupg)");
    if (r.code !== 0 || !/imported: [1-9]|unchanged: [1-9]/.test(r.stderr)) {
      throw new AgentError("CONFIG_INVALID", `git.verify.keysFile: ${s.verify.keysFile} holds no OpenPGP public key gpg can import: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`);
    }
    env.GNUPGHOME = gnupg;
  }
  return { env, configFile };
}
