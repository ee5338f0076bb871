/**
 * A child process whose stdout (JSON log lines) is read as it comes: every
 * line goes to a log file and to the listeners, stamped with the moment it
 * arrived, so the bench can time events the process logs without polling it.
 */
import type { Subprocess } from "bun";
import { createWriteStream, type WriteStream } from "node:fs";

export type LineListener = (line: string, atMs: number) => void;

export class Child {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** performance.now() just before spawning. */
  readonly spawnedAtMs: number;
  private readonly listeners = new Set<LineListener>();
  private readonly log: WriteStream;
  private readonly pumped: Promise<void>;

  constructor(
    readonly name: string,
    argv: string[],
    logFile: string,
    env?: Record<string, string>,
  ) {
    this.log = createWriteStream(logFile);
    this.spawnedAtMs = performance.now();
    this.proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
    // Read both pipes to the end: a child blocked on a full pipe would distort every figure.
    this.pumped = Promise.all([this.pump(this.proc.stdout, true), this.pump(this.proc.stderr, false)]).then(() => {});
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private async pump(stream: ReadableStream<Uint8Array>, tap: boolean): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const atMs = performance.now();
      this.log.write(chunk);
      if (!tap) continue;
      const text = rest + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) for (const l of this.listeners) l(line, atMs);
    }
  }

  /** Calls `fn` for every later line; returns the unsubscribe function. */
  onLine(fn: LineListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The first later line that `match` accepts, with its arrival time; bounded. */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs: number): Promise<{ line: string; atMs: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms (log: ${this.log.path})`));
      }, timeoutMs);
      const off = this.onLine((line, atMs) => {
        if (!match(line)) return;
        clearTimeout(timer);
        off();
        resolve({ line, atMs });
      });
      void this.proc.exited.then((code) => {
        clearTimeout(timer);
        off();
        reject(new Error(`${this.name} exited (${code}) while waiting for ${what} (log: ${this.log.path})`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code and how long the clean stop took. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: string | null; ms: number }> {
    const started = performance.now();
    if (this.running) this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.running && this.proc.kill("SIGKILL"), graceMs);
    await this.proc.exited;
    clearTimeout(timer);
    await this.pumped.catch(() => {});
    await new Promise<void>((r) => this.log.end(() => r()));
    return { code: this.proc.exitCode, signal: this.proc.signalCode === null ? null : String(this.proc.signalCode), ms: performance.now() - started };
  }

  /** For cleanup on failure: no waiting, no questions. */
  kill(): void {
    if (this.running) this.proc.kill("SIGKILL");
  }
}
