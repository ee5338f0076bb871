import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { errorTable } from "../../scripts/error-table.ts";

const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");

test("README's error table is the one generated from src/errors/codes.ts (run: bun scripts/error-table.ts)", () => {
  expect(readme).toContain(errorTable());
});

test("README's quick start has exactly the two commands, and .ci/run runs the test one", () => {
  const quick = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 5));
  const commands = [...quick.matchAll(/```sh\n([^\n]+)\n```/g)].map((m) => m[1]);
  expect(commands).toEqual(["npm ci && npm run demo", "npm ci && npm test"]);
  expect(readFileSync(join(import.meta.dir, "../../.ci/run"), "utf8")).toContain("npm ci && npm test");
});
