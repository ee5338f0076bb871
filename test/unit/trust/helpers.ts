/** Shared by the trust tests: temp dirs, fake timers, certificate files. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../../src/log.ts";
import type { Timers } from "../../../src/trust/index.ts";

const dirs: string[] = [];

export function tempDir(prefix = "margo-trust-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Timers that move only when told: a test reads the delay a scheduler asked
 * for, then fires it, so hours of cadence run in milliseconds and no
 * assertion depends on real time.
 */
export class FakeTimers implements Timers {
  #now: number;
  #next = 1;
  #pending: Pending[] = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#pending.push({ id, at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending = this.#pending.filter((p) => p.id !== handle);
  }

  /** The delay, from now, of the earliest pending timer. */
  nextDelay(): number | undefined {
    const first = this.#sorted()[0];
    return first === undefined ? undefined : first.at - this.#now;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Moves the clock without firing anything. */
  set(ms: number): void {
    this.#now = ms;
  }

  /** Moves to the earliest pending timer and fires it. */
  fireNext(): void {
    const first = this.#sorted()[0];
    if (first === undefined) throw new Error("no timer pending");
    this.#pending = this.#pending.filter((p) => p !== first);
    this.#now = Math.max(this.#now, first.at);
    first.fn();
  }

  #sorted(): Pending[] {
    return [...this.#pending].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}

export interface CapturedLog {
  log: Logger;
  lines: () => Record<string, unknown>[];
  /** Every line as text, to check that no key material was ever logged. */
  text: () => string;
}

/** A real pino logger whose JSON lines can be read back. */
export function captureLog(level = "debug"): CapturedLog {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const lines = () =>
    raw
      .join("")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log: createLogger(level, stream), lines, text: () => raw.join("") };
}
