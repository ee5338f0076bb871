/**
 * Traceability, as Eclipse Ankaios does it: every invariant id in
 * docs/architecture.md is named by at least one test, and every id a test names
 * exists there.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");
const ID = /INV-[A-Z]+-\d+/g;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

test("every invariant of docs/architecture.md is held by a test, and tests name only real ones", () => {
  const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
  const documented = new Set([...doc.matchAll(/^\| (INV-[A-Z]+-\d+) \|/gm)].map((m) => m[1]!));
  expect(documented.size).toBeGreaterThan(5);
  const named = new Map<string, string[]>();
  for (const file of files(join(ROOT, "test"))) {
    if (file.endsWith("invariants.test.ts")) continue;
    for (const m of readFileSync(file, "utf8").matchAll(ID)) named.set(m[0], [...(named.get(m[0]) ?? []), file]);
  }
  expect([...documented].filter((id) => !named.has(id))).toEqual([]);
  expect([...named.keys()].filter((id) => !documented.has(id))).toEqual([]);
});
