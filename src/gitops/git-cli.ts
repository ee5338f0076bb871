/**
 * Running Debian's `git` for the GitOps source: argv only (no shell), the fixed
 * environment of git-home.ts, a deadline for every command, stdout bounded (a
 * Git server controls much of what git prints), and failures turned into the
 * agent's codes by what git says (LANG=C keeps its messages stable).
 */
import { AgentError } from "../errors/index.ts";
import type { ErrorCode } from "../errors/codes.ts";
import type { Platform, ProcessResult } from "../platform/types.ts";

export interface GitRunOptions {
  cwd?: string;
  /** Milliseconds this command may take. */
  timeoutMs: number;
  signal?: AbortSignal;
  stdin?: string;
  /** Default 1 MiB. */
  maxOutputBytes?: number;
  binaryStdout?: boolean;
}

/** What git's stderr says about the remote, in the agent's words. */
export function classifyRemoteFailure(stderr: string): ErrorCode {
  const t = stderr.toLowerCase();
  if (
    /authentication failed|could not read (username|password)|returned error: 40[13]\b|access denied|permission denied \(|host key verification failed|no [a-z0-9-]+ host key is known|remote host identification has changed|invalid username or password/.test(t)
  ) {
    return "GIT_AUTH_FAILED";
  }
  if (
    /could not resolve|failed to connect|connection refused|connection timed out|timed out|operation too slow|empty reply|connection reset|returned error: 5\d\d|ssl|tls|certificate|network is unreachable|no route to host|could not read from remote repository|unable to access|the remote end hung up|early eof|broken pipe/.test(t)
  ) {
    return "GIT_UNREACHABLE";
  }
  return "GIT_FAILED";
}

/** git's own last lines, trimmed: enough to say why, never a whole page of server chatter. */
export function gitMessage(r: Pick<ProcessResult, "stderr" | "stdout">): string {
  const lines = (r.stderr || r.stdout).split("\n").map((l) => l.trim()).filter((l) => l && !/^hint:/.test(l));
  // The cause (ssh's "Permission denied", curl's error) comes before git's closing "fatal:" advice.
  const key = lines.findIndex((l) => /^(fatal|error):|denied|verification failed|host key|returned error|failed to connect|could not resolve/i.test(l));
  const start = key >= 0 ? key : Math.max(0, lines.length - 3);
  return lines.slice(start, start + 5).join("; ").slice(0, 500) || "no output";
}

export class GitCli {
  constructor(
    private readonly platform: Pick<Platform, "run">,
    private readonly env: Record<string, string>,
  ) {}

  /** Runs `git ARGS`; resolves with the result whatever the exit code (127: git not installed). */
  async run(args: string[], o: GitRunOptions): Promise<ProcessResult> {
    if (o.timeoutMs <= 0) throw new AgentError("GIT_LIMIT_EXCEEDED", "the sync ran out of time (git.limits.timeout) before git could run");
    const r = await this.platform.run(["git", ...args], {
      cwd: o.cwd,
      env: this.env,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      stdin: o.stdin,
      maxOutputBytes: o.maxOutputBytes ?? 1024 * 1024,
      binaryStdout: o.binaryStdout,
    });
    if (r.code === 127 && !r.killed) throw new AgentError("GIT_FAILED", `git is not installed (Debian package git): ${r.stderr.trim()}`);
    return r;
  }

  /** Runs a local command (no network) that must succeed. */
  async ok(args: string[], o: GitRunOptions): Promise<ProcessResult> {
    const r = await this.run(args, o);
    if (r.overflow) throw new AgentError("GIT_LIMIT_EXCEEDED", `git ${args[0]} printed more than ${o.maxOutputBytes ?? 1024 * 1024} bytes`);
    if (r.killed) throw new AgentError("GIT_LIMIT_EXCEEDED", `git ${args[0]} did not finish within git.limits.timeout`);
    if (r.code !== 0) throw new AgentError("GIT_FAILED", `git ${args[0]} failed: ${gitMessage(r)}`);
    return r;
  }

  /** Runs a command that talks to the Git server; a failure says whether it was the network, the credentials or something else. */
  async remote(args: string[], o: GitRunOptions, what: string): Promise<ProcessResult> {
    const r = await this.run(args, o);
    if (r.killed && !o.signal?.aborted) throw new AgentError("GIT_UNREACHABLE", `${what}: no answer within ${Math.round(o.timeoutMs / 1000)} s (git.limits.timeout)`);
    if (r.overflow) throw new AgentError("GIT_LIMIT_EXCEEDED", `${what}: git printed more than ${o.maxOutputBytes ?? 1024 * 1024} bytes`);
    if (r.code !== 0 && !r.killed) throw new AgentError(classifyRemoteFailure(r.stderr), `${what}: ${gitMessage(r)}`);
    return r;
  }
}
