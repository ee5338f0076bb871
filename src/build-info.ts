/**
 * What build this is. `build/build.ts` compiles the executables with
 * `--define MARGO_VERSION=... --define MARGO_COMMIT=...`, which replaces these
 * identifiers with string literals. Run from source (`bun src/cli.ts`) they are
 * not defined, so the `typeof` guards fall back to package.json and "dev".
 */
import packageJson from "../package.json" with { type: "json" };

declare const MARGO_VERSION: string | undefined;
declare const MARGO_COMMIT: string | undefined;

export interface BuildInfo {
  /** Semantic version from package.json at build time. */
  readonly version: string;
  /** Short git commit of the build, "unknown" when built outside git, "dev" when run from source. */
  readonly commit: string;
  /** True in a `bun build --compile` executable, false when run from source. */
  readonly compiled: boolean;
}

export const BUILD: BuildInfo = {
  version: typeof MARGO_VERSION !== "undefined" ? MARGO_VERSION : packageJson.version,
  commit: typeof MARGO_COMMIT !== "undefined" ? MARGO_COMMIT : "dev",
  compiled: typeof MARGO_VERSION !== "undefined",
};
