/** The version and commit embedded into the executables. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface EmbeddedVersion {
  readonly version: string;
  readonly commit: string;
}

/**
 * package.json's version, and the commit: $MARGO_COMMIT if set, else
 * `git rev-parse --short HEAD`, else "unknown" (not a git checkout).
 */
export function readEmbeddedVersion(repoRoot: string): EmbeddedVersion {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string" || pkg.version === "") {
    throw new Error(`package.json in ${repoRoot} has no "version"`);
  }
  // Release pipelines that build from an export without .git say which commit it was.
  const fromEnv = process.env.MARGO_COMMIT?.trim();
  if (fromEnv) return { version: pkg.version, commit: fromEnv };
  let commit = "unknown";
  try {
    const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repoRoot, stdout: "pipe", stderr: "ignore" });
    const out = git.stdout.toString().trim();
    if (git.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(out)) commit = out;
  } catch {
    // git itself is not installed: same as building outside a checkout.
  }
  return { version: pkg.version, commit };
}

/** `--define` arguments that src/build-info.ts reads. JSON.stringify makes them string literals. */
export function defineArgs(v: EmbeddedVersion): string[] {
  return ["--define", `MARGO_VERSION=${JSON.stringify(v.version)}`, "--define", `MARGO_COMMIT=${JSON.stringify(v.commit)}`];
}
