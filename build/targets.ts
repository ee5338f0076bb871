/**
 * The executables `npm run build` makes. One row per Bun compile target; the
 * short name is what `--only` accepts (the full Bun target name works too).
 */
export interface BuildTarget {
  /** Short name for `--only`: x64, arm64, x64-musl, arm64-musl. */
  readonly name: string;
  /** Bun's `--target` value. */
  readonly bunTarget: string;
  /** File name under the output directory. */
  readonly fileName: string;
  /** Machine architecture as `uname -m` spells it. */
  readonly machine: "x86_64" | "aarch64";
  /** Linked against musl libc (Alpine and friends) instead of glibc. */
  readonly musl: boolean;
}

function target(arch: "x64" | "arm64", musl: boolean): BuildTarget {
  const suffix = musl ? "-musl" : "";
  return {
    name: `${arch}${suffix}`,
    bunTarget: `bun-linux-${arch}${suffix}`,
    fileName: `margo-agent-linux-${arch}${suffix}`,
    machine: arch === "x64" ? "x86_64" : "aarch64",
    musl,
  };
}

export const ALL_TARGETS: readonly BuildTarget[] = [
  target("x64", false),
  target("arm64", false),
  target("x64", true),
  target("arm64", true),
];

/**
 * Bun learned `--compile` for musl targets in 1.1.35 (`bun-linux-*-musl`). On
 * an older Bun the musl rows are dropped instead of failing the whole build.
 */
export const MUSL_MIN_BUN_VERSION = "1.1.35";

export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.split(/[.+-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function bunSupportsMusl(bunVersion: string): boolean {
  return compareVersions(bunVersion, MUSL_MIN_BUN_VERSION) >= 0;
}

export interface TargetSelection {
  readonly targets: BuildTarget[];
  /** Targets left out, each with the reason, to print. */
  readonly skipped: { target: BuildTarget; reason: string }[];
}

/**
 * Picks the targets to build. `only` empty means all that this Bun supports;
 * an unknown name is an error (a typo must not silently build nothing).
 */
export function selectTargets(only: readonly string[], bunVersion: string): TargetSelection {
  const muslOk = bunSupportsMusl(bunVersion);
  let wanted: BuildTarget[];
  if (only.length === 0) {
    wanted = [...ALL_TARGETS];
  } else {
    wanted = [];
    for (const name of only) {
      const found = ALL_TARGETS.find((t) => t.name === name || t.bunTarget === name || t.fileName === name);
      if (!found) {
        const known = ALL_TARGETS.map((t) => t.name).join(", ");
        throw new Error(`unknown build target "${name}" (known: ${known})`);
      }
      if (!wanted.includes(found)) wanted.push(found);
    }
  }
  const skipped = muslOk
    ? []
    : wanted
        .filter((t) => t.musl)
        .map((t) => ({ target: t, reason: `Bun ${bunVersion} cannot compile musl targets (needs ${MUSL_MIN_BUN_VERSION} or later)` }));
  return { targets: wanted.filter((t) => muslOk || !t.musl), skipped };
}
