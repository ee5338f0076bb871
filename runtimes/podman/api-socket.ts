/**
 * Podman's Docker-compatible API socket, which the compose tool talks to. When
 * no socket answers (no systemd socket activation, or rootless without a user
 * session) the adapter starts `podman system service` itself with an idle
 * timeout: it exits on its own a while after the last compose call, so a steady
 * device runs no extra process (inspect() uses `podman ps`, not the socket).
 */
import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import { AgentError } from "../../src/errors/index.ts";
import type { Platform, ProcessResult } from "../../src/platform/types.ts";
import { lastLines } from "../shared/failures.ts";

export interface ApiSocketOptions {
  run: Platform["run"];
  env: Record<string, string>;
  podman: string;
  socketPath: string;
  /** Seconds of inactivity after which the service we started exits. */
  idleSeconds: number;
  /** How long to wait for a started service to answer, ms. */
  startTimeoutMs?: number;
}

export class PodmanApiSocket {
  private service: { abort: AbortController; done: Promise<ProcessResult> } | null = null;
  private starting: Promise<void> | null = null;

  constructor(private readonly opts: ApiSocketOptions) {}

  get dockerHost(): string {
    return `unix://${this.opts.socketPath}`;
  }

  /** Resolves when the socket answers _ping; starts the service if needed. Throws ENGINE_* errors. */
  async ensure(): Promise<void> {
    if (await ping(this.opts.socketPath)) return;
    this.starting ??= this.start().finally(() => {
      this.starting = null;
    });
    await this.starting;
  }

  async close(): Promise<void> {
    const s = this.service;
    this.service = null;
    if (s) {
      s.abort.abort();
      await s.done;
    }
  }

  private async start(): Promise<void> {
    try {
      await mkdir(dirname(this.opts.socketPath), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new AgentError("ENGINE_UNREACHABLE", `cannot create the directory for Podman's API socket ${this.opts.socketPath}: ${(err as Error).message}`, {
        socket: this.opts.socketPath,
      });
    }
    const abort = new AbortController();
    const argv = [this.opts.podman, "system", "service", "--time", String(this.opts.idleSeconds), this.dockerHost];
    // Not awaited: the service runs until idle; its result tells us why it stopped if it never answered.
    const done = this.opts.run(argv, { env: this.opts.env, signal: abort.signal });
    const service = { abort, done };
    this.service = service;
    let exited: ProcessResult | null = null;
    void done.then((r) => {
      exited = r;
      if (this.service === service) this.service = null;
    });
    // Monotonic, like every deadline in the agent (INV-TIME-1).
    const deadline = performance.now() + (this.opts.startTimeoutMs ?? 15_000);
    while (performance.now() < deadline) {
      if (await ping(this.opts.socketPath)) return;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = exited as ProcessResult | null;
    if (result?.code === 127) {
      throw new AgentError("ENGINE_NOT_FOUND", `"${this.opts.podman}" is not installed or not on PATH (install podman, or set runtime in the agent configuration)`);
    }
    if (!result) abort.abort();
    throw new AgentError(
      "ENGINE_UNREACHABLE",
      `Podman's API service did not answer on ${this.opts.socketPath}${result ? ` (podman system service exited ${result.code}: ${lastLines(result.stderr)})` : " within the start timeout"}`,
      { socket: this.opts.socketPath },
    );
  }
}

/** True when a Docker-compatible API answers GET /_ping on the unix socket. */
export function ping(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = "";
    const sock = connect(socketPath);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on("error", () => finish(false));
    sock.on("connect", () => sock.write("GET /_ping HTTP/1.1\r\nHost: podman\r\nConnection: close\r\n\r\n"));
    sock.on("data", (d) => {
      answer += d.toString();
      if (/^HTTP\/1\.[01] 200/.test(answer)) finish(true);
      else if (answer.includes("\r\n")) finish(false);
    });
    sock.on("end", () => finish(/^HTTP\/1\.[01] 200/.test(answer)));
  });
}
