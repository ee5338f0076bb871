import { describe, expect, test } from "bun:test";
import { ALL_TARGETS, bunSupportsMusl, compareVersions, selectTargets } from "../../../build/targets.ts";

describe("build targets", () => {
  test("names the four Linux executables", () => {
    expect(ALL_TARGETS.map((t) => t.fileName)).toEqual([
      "margo-agent-linux-x64",
      "margo-agent-linux-arm64",
      "margo-agent-linux-x64-musl",
      "margo-agent-linux-arm64-musl",
    ]);
    expect(ALL_TARGETS.map((t) => t.bunTarget)).toEqual([
      "bun-linux-x64",
      "bun-linux-arm64",
      "bun-linux-x64-musl",
      "bun-linux-arm64-musl",
    ]);
  });

  test("compares versions numerically", () => {
    expect(compareVersions("1.1.35", "1.1.35")).toBe(0);
    expect(compareVersions("1.10.0", "1.9.9")).toBe(1);
    expect(compareVersions("1.1.34", "1.1.35")).toBe(-1);
    expect(compareVersions("1.2.0-canary.1", "1.1.35")).toBe(1);
  });

  test("musl needs Bun 1.1.35 or later", () => {
    expect(bunSupportsMusl("1.1.34")).toBe(false);
    expect(bunSupportsMusl("1.1.35")).toBe(true);
    expect(bunSupportsMusl("1.4.5")).toBe(true);
  });

  test("no --only selects every target", () => {
    const s = selectTargets([], "1.4.5");
    expect(s.targets).toHaveLength(4);
    expect(s.skipped).toEqual([]);
  });

  test("--only accepts short, Bun and file names, without duplicates", () => {
    const s = selectTargets(["x64", "bun-linux-arm64-musl", "margo-agent-linux-x64"], "1.4.5");
    expect(s.targets.map((t) => t.name)).toEqual(["x64", "arm64-musl"]);
  });

  test("an unknown target is an error naming the known ones", () => {
    expect(() => selectTargets(["riscv64"], "1.4.5")).toThrow(/unknown build target "riscv64".*x64, arm64/);
  });

  test("an old Bun skips musl targets with a reason instead of failing", () => {
    const s = selectTargets([], "1.1.0");
    expect(s.targets.map((t) => t.name)).toEqual(["x64", "arm64"]);
    expect(s.skipped.map((x) => x.target.name)).toEqual(["x64-musl", "arm64-musl"]);
    expect(s.skipped[0]?.reason).toContain("1.1.35");
  });
});
