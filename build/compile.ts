/** Runs `bun build --compile` for one target. */
import { join } from "node:path";
import type { BuildTarget } from "./targets.ts";

export interface CompileRequest {
  readonly bunExecutable: string;
  readonly repoRoot: string;
  readonly entry: string;
  readonly outdir: string;
  readonly target: BuildTarget;
  readonly defines: readonly string[];
}

export type CompileResult =
  | { readonly ok: true; readonly outfile: string; readonly log: string }
  | { readonly ok: false; readonly outfile: string; readonly log: string; readonly exitCode: number };

/**
 * Cross targets need Bun's runtime for that platform; `bun build` fetches it
 * from the npm registry on first use and caches it, so a failure here is
 * usually "no network" and must not stop the other targets.
 */
export async function compileTarget(req: CompileRequest): Promise<CompileResult> {
  const outfile = join(req.outdir, req.target.fileName);
  const argv = [
    req.bunExecutable,
    "build",
    "--compile",
    "--minify",
    `--target=${req.target.bunTarget}`,
    ...req.defines,
    req.entry,
    "--outfile",
    outfile,
  ];
  const proc = Bun.spawn(argv, { cwd: req.repoRoot, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const log = (stdout + stderr).trim();
  return exitCode === 0 ? { ok: true, outfile, log } : { ok: false, outfile, log, exitCode };
}
