import { describe, expect, test } from "bun:test";
import { parseBuildArgs } from "../../../build/args.ts";

describe("build arguments", () => {
  test("defaults", () => {
    expect(parseBuildArgs([])).toEqual({ only: [], outdir: "dist", entry: "src/cli.ts", help: false });
  });

  test("--only is repeatable and splits commas; --opt=value works", () => {
    const a = parseBuildArgs(["--only", "x64,arm64", "--only=x64-musl", "--outdir=/tmp/out", "--entry", "x.ts"]);
    expect(a.only).toEqual(["x64", "arm64", "x64-musl"]);
    expect(a.outdir).toBe("/tmp/out");
    expect(a.entry).toBe("x.ts");
  });

  test("a missing value or an unknown option is an error", () => {
    expect(() => parseBuildArgs(["--only"])).toThrow("--only needs a value");
    expect(() => parseBuildArgs(["--outdir", "--only", "x64"])).toThrow("--outdir needs a value");
    expect(() => parseBuildArgs(["--fast"])).toThrow('unknown option "--fast"');
  });

  test("--help", () => {
    expect(parseBuildArgs(["--help"]).help).toBe(true);
  });
});
