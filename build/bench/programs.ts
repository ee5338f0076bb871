/**
 * The executables the bench compiles itself, all with build/compile.ts's
 * flags (like the agent): the floor program (build/bench/floor.ts), a bare
 * hello-world per target, and bytecode orders recorded from a run.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Child } from "./child.ts";
import { compileTarget } from "../compile.ts";
import type { BuildTarget } from "../targets.ts";

export interface ProgramBuild {
  repoRoot: string;
  target: BuildTarget;
  outfile: string;
  bytecodeOrder?: string;
}

async function compile(entry: string, b: ProgramBuild): Promise<string> {
  const r = await compileTarget({ bunExecutable: process.execPath, repoRoot: b.repoRoot, entry, outdir: "", outfile: b.outfile, target: b.target, defines: [], bytecodeOrder: b.bytecodeOrder });
  if (!r.ok) throw new Error(`compiling ${entry} for ${b.target.name} failed (exit ${r.exitCode}):\n${r.log}`);
  return b.outfile;
}

export function compileFloor(b: ProgramBuild): Promise<string> {
  return compile(join(b.repoRoot, "build/bench/floor.ts"), b);
}

/** A program that prints "hello world", or idles with `idle`: what Bun itself costs in a compiled executable. */
export function compileHello(b: ProgramBuild, work: string): Promise<string> {
  const src = join(work, "hello.ts");
  if (!existsSync(src)) writeFileSync(src, 'if (process.argv[2] === "idle") setInterval(() => {}, 1e6);\nelse console.log("hello world");\n');
  return compile(src, b);
}

/**
 * Runs a bytecode executable once with BUN_BYTECODE_ORDER_OUT: `start` with the
 * extra environment, until its first poll, then `runMs` more of its own timer
 * polls, then SIGTERM (the order file is written on exit). Returns the file.
 */
export async function recordBytecodeOrder(
  orderFile: string,
  start: (env: Record<string, string>) => Child,
  firstPoll: () => Promise<unknown>,
  runMs: number,
): Promise<string> {
  const child = start({ BUN_BYTECODE_ORDER_OUT: orderFile });
  const polled = firstPoll();
  await Promise.race([polled, child.proc.exited.then((code) => Promise.reject(new Error(`${child.name} exited (${code}) before its first poll`)))]);
  await Bun.sleep(runMs);
  const stopped = await child.stop();
  if (stopped.code !== 0) throw new Error(`${child.name} exited ${stopped.code ?? stopped.signal} on SIGTERM while recording its bytecode order`);
  if (!existsSync(orderFile)) throw new Error(`${child.name} wrote no bytecode order to ${orderFile}`);
  return orderFile;
}
