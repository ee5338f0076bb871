/** Runs `bun build --compile` for one target. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BuildTarget } from "./targets.ts";

export interface CompileRequest {
  readonly bunExecutable: string;
  readonly repoRoot: string;
  readonly entry: string;
  readonly outdir: string;
  readonly target: BuildTarget;
  readonly defines: readonly string[];
  /** Where the executable goes; default outdir/target.fileName. */
  readonly outfile?: string;
  /** A bytecode order recorded from a run (see bytecodeOrderFile); undefined: none. */
  readonly bytecodeOrder?: string;
}

export type CompileResult =
  | { readonly ok: true; readonly outfile: string; readonly log: string }
  | { readonly ok: false; readonly outfile: string; readonly log: string; readonly exitCode: number };

/**
 * The recorded bytecode order of `margo-agent run` (build/record-bytecode-order.ts
 * writes it). A profile from an older build still applies: functions it does not
 * name are laid out after the ones it does.
 */
export const BYTECODE_ORDER = "build/bytecode-order/run.txt";

export function bytecodeOrderFile(repoRoot: string): string | undefined {
  const file = join(repoRoot, BYTECODE_ORDER);
  return existsSync(file) ? file : undefined;
}

/**
 * How every executable is compiled (the agent, and the bench's floor program,
 * so that they compare like for like). Each flag is there for the idle
 * footprint and start-up of `run` (README "Footprint and speed" has the
 * before/after of each):
 * - `--splitting`: every `import()` boundary becomes a chunk that is parsed
 *   only when loaded, so `run` never parses openpgp, the dev WFM or the OCI
 *   packaging commands (src/cli.ts loads each command lazily).
 * - `--bytecode --format=esm`: JavaScriptCore bytecode made at build time, so
 *   the start does not parse and compile the code it runs (splitting needs esm).
 * - `--bytecode-order`: that bytecode laid out in the order a recorded `run`
 *   used it, so the start touches fewer pages of the executable.
 */
export function compileArgv(req: CompileRequest): string[] {
  const outfile = req.outfile ?? join(req.outdir, req.target.fileName);
  return [
    req.bunExecutable,
    "build",
    "--compile",
    "--minify",
    "--splitting",
    "--bytecode",
    "--format=esm",
    ...(req.bytecodeOrder ? [`--bytecode-order=${req.bytecodeOrder}`] : []),
    `--target=${req.target.bunTarget}`,
    ...req.defines,
    req.entry,
    "--outfile",
    outfile,
  ];
}

/**
 * Cross targets need Bun's runtime for that platform; `bun build` fetches it
 * from the npm registry on first use and caches it, so a failure here is
 * usually "no network" and must not stop the other targets.
 */
export async function compileTarget(req: CompileRequest): Promise<CompileResult> {
  const argv = compileArgv(req);
  const outfile = argv[argv.length - 1]!;
  const proc = Bun.spawn(argv, { cwd: req.repoRoot, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const log = (stdout + stderr).trim();
  return exitCode === 0 ? { ok: true, outfile, log } : { ok: false, outfile, log, exitCode };
}
