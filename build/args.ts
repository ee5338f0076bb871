/** Command-line options of `bun build/build.ts`. */
export interface BuildArgs {
  /** Target names from `--only` (repeatable, or comma-separated); empty = all. */
  readonly only: string[];
  /** Where the executables and SHA256SUMS go. */
  readonly outdir: string;
  /** The program to compile. */
  readonly entry: string;
  readonly help: boolean;
}

export const BUILD_USAGE = `usage: bun build/build.ts [--only TARGET[,TARGET...]] [--outdir DIR] [--entry FILE]

Compiles margo-agent into single executables (bun build --compile --minify).
  --only TARGET   x64, arm64, x64-musl, arm64-musl (or the bun-linux-* name); repeatable
  --outdir DIR    output directory (default: dist)
  --entry FILE    program to compile (default: src/cli.ts)

The embedded commit is $MARGO_COMMIT if set, else git rev-parse --short HEAD, else "unknown".

Exit status: 0 all requested targets built, 2 some built and some failed, 1 none built or bad usage.`;

export function parseBuildArgs(argv: readonly string[]): BuildArgs {
  const only: string[] = [];
  let outdir = "dist";
  let entry = "src/cli.ts";
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--only":
        only.push(...value().split(",").map((s) => s.trim()).filter(Boolean));
        break;
      case "--outdir":
        outdir = value();
        break;
      case "--entry":
        entry = value();
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new Error(`unknown option "${arg}"`);
    }
  }
  return { only, outdir, entry, help };
}
