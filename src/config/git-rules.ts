/**
 * The GitOps source's rules that involve more than one key, and the files it
 * names (docs/protocol.md, "GitOps source"). Called from rules.ts and files.ts so
 * `config check` refuses exactly what `run` refuses.
 */
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";
import { isLoopbackHost } from "../util/loopback.ts";
import type { FileProblem } from "./files.ts";
import type { RuleProblem } from "./rules.ts";
import type { Config } from "./schema.ts";

/** How the repository is reached: the scheme decides which credentials apply. */
export function gitTransport(url: string): "https" | "http" | "ssh" {
  if (/^[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:(?!\/\/)/.test(url)) return "ssh";
  const p = new URL(url).protocol;
  return p === "ssh:" ? "ssh" : p === "http:" ? "http" : "https";
}

/** Paths go into core.sshCommand, which git runs through a shell: only plain characters, quoted once. */
const SHELL_SAFE_PATH = /^[A-Za-z0-9._\/+@=,:-]+$/;

export function gitKeyProblems(config: Config): RuleProblem[] {
  const g = config.git;
  const out: RuleProblem[] = [];
  if (config.desiredState.source !== "git") return out;
  if (g.url === null) {
    out.push({ key: "git.url", value: null, message: "is required with desiredState.source: git" });
    return out;
  }
  const transport = gitTransport(g.url);
  if (transport === "http") {
    const host = new URL(g.url).hostname;
    if (!g.allowInsecureHttp) out.push({ key: "git.url", value: g.url, message: "plain http is refused; use https or ssh, or for a loopback test server set git.allowInsecureHttp: true" });
    else if (!isLoopbackHost(host)) out.push({ key: "git.url", value: g.url, message: "plain http is refused towards a host that is not loopback (git.allowInsecureHttp allows only 127.0.0.1, [::1], localhost); use https or ssh" });
  }
  if (transport === "ssh") {
    if (g.sshKeyFile === null) out.push({ key: "git.sshKeyFile", value: null, message: "is required for an ssh git.url (the agent uses no ssh-agent and no default keys)" });
    if (g.knownHostsFile === null) out.push({ key: "git.knownHostsFile", value: null, message: "is required for an ssh git.url: the server's host key is checked strictly (StrictHostKeyChecking=yes)" });
    if (g.tokenFile !== null) out.push({ key: "git.tokenFile", value: g.tokenFile, message: "applies to https URLs only; git.url is ssh" });
    for (const key of ["sshKeyFile", "knownHostsFile"] as const) {
      const path = g[key];
      if (path !== null && !SHELL_SAFE_PATH.test(path)) out.push({ key: `git.${key}`, value: path, message: "must be a path of letters, digits and . _ / + @ = , : - only (it is passed to ssh)" });
    }
  } else {
    for (const key of ["sshKeyFile", "knownHostsFile"] as const) {
      if (g[key] !== null) out.push({ key: `git.${key}`, value: g[key], message: "applies to ssh URLs only; git.url is https" });
    }
    if (g.caFile !== null && !SHELL_SAFE_PATH.test(g.caFile)) out.push({ key: "git.caFile", value: g.caFile, message: "must be a path of letters, digits and . _ / + @ = , : - only" });
  }
  if (g.verify.mode !== "none" && g.verify.keysFile === null) {
    out.push({ key: "git.verify.keysFile", value: null, message: `is required with git.verify.mode: ${g.verify.mode} (${g.verify.mode === "gpg" ? "ASCII-armored public keys" : "an allowed_signers file"})` });
  }
  if (g.verify.mode === "none" && g.verify.keysFile !== null) {
    out.push({ key: "git.verify.mode", value: "none", message: "is none but git.verify.keysFile is set: set mode to gpg or ssh, or remove keysFile" });
  }
  if (g.verify.keysFile !== null && !SHELL_SAFE_PATH.test(g.verify.keysFile)) out.push({ key: "git.verify.keysFile", value: g.verify.keysFile, message: "must be a path of letters, digits and . _ / + @ = , : - only" });
  return out;
}

const MAX_TOKEN_FILE_BYTES = 8 * 1024;
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * The token as the git config file will carry it: one line of printable ASCII.
 * A newline would let the file's content add config of its own (an
 * http.proxy, a core.sshCommand); whitespace only is no secret.
 */
export function readGitToken(path: string): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(readRegularFile(path, MAX_TOKEN_FILE_BYTES)).replace(/\r?\n$/, "");
  if (!/^[\x21-\x7e]+$/.test(text)) throw new Error(`${path} must hold one line of printable ASCII (the token, or user:token) without spaces`);
  return text;
}

/** Never quotes a file's content: a token or key must not reach a log or a terminal. */
export function gitFileProblems(config: Config): FileProblem[] {
  if (config.desiredState.source !== "git") return [];
  const g = config.git;
  const out: FileProblem[] = [];
  const check = (key: string, path: string | null, read: (p: string) => unknown) => {
    if (path === null) return;
    try {
      read(path);
    } catch (err) {
      out.push({ code: "CONFIG_INVALID", key, message: err instanceof FileReadError ? err.message : (err as Error).message });
    }
  };
  check("git.tokenFile", g.tokenFile, readGitToken);
  check("git.sshKeyFile", g.sshKeyFile, (p) => readRegularFile(p, MAX_KEY_FILE_BYTES));
  check("git.knownHostsFile", g.knownHostsFile, (p) => readRegularFile(p, MAX_KEY_FILE_BYTES));
  check("git.caFile", g.caFile, (p) => {
    if (!new TextDecoder().decode(readRegularFile(p, MAX_KEY_FILE_BYTES)).includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${p} holds no PEM certificate`);
  });
  check("git.verify.keysFile", g.verify.keysFile, (p) => readRegularFile(p, MAX_KEY_FILE_BYTES));
  return out;
}
