/**
 * Issue 16 item 8: init/config.yaml says it documents every key, yet lacked
 * poll.periods and the downtime.* keys. The commented file and the schema are
 * held together here: every schema key appears in the file, every key of the
 * file is in the schema, the file is a valid configuration, and its values are
 * the defaults (wfm.url aside, which has none).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { configKeys, loadConfig } from "../../src/config/load.ts";
import { checkPackageUrl } from "../../src/packages/url-policy.ts";

const file = join(resolve(import.meta.dir, "../.."), "init/config.yaml");
const parsed = YAML.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
const keys = configKeys();

/** Leaf paths of the file: mappings are walked until the path is a schema key (mirrors: {} is one value). */
function fileKeys(node: unknown, prefix = ""): string[] {
  if (prefix && keys.includes(prefix)) return [prefix];
  if (node && typeof node === "object" && !Array.isArray(node)) return Object.entries(node).flatMap(([k, v]) => fileKeys(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

test("every key of the schema is in init/config.yaml", () => {
  expect(keys.filter((k) => !fileKeys(parsed).includes(k))).toEqual([]);
});

test("every key of init/config.yaml is in the schema", () => {
  expect(fileKeys(parsed).filter((k) => !keys.includes(k))).toEqual([]);
});

test("init/config.yaml is a valid configuration whose values are the defaults", () => {
  const fromFile = loadConfig({ file, env: {} });
  const defaults = loadConfig({ env: {}, sets: [`wfm.url=${fromFile.wfm.url}`] });
  expect(fromFile).toEqual(defaults);
});

test("every key in init/config.yaml is explained by a comment above it (or above its section)", () => {
  const lines = readFileSync(file, "utf8").split("\n");
  const indent = (l: string) => l.match(/^\s*/)![0].length;
  const isKey = (l: string) => /^\s*[A-Za-z]+:/.test(l);
  const undocumented: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (!isKey(line) || /^\s*[A-Za-z]+:\s*$/.test(line)) continue; // section headers carry no value
    // Up over the sibling keys that share the comment, to the comment, or to the section header.
    let j = i - 1;
    while (j >= 0 && isKey(lines[j]!) && indent(lines[j]!) === indent(line)) j--;
    const above = lines[j] ?? "";
    const documented = /^\s*#/.test(above) || (isKey(above) && indent(above) < indent(line) && /^\s*#/.test(lines[j - 1] ?? ""));
    if (!documented) undocumented.push(line.trim());
  }
  expect(undocumented).toEqual([]);
});

test("PACKAGE_INSECURE_URL names the key that allows plain http", () => {
  expect(() => checkPackageUrl("http://127.0.0.1:8080/p.yaml", false, "component app")).toThrow(/packages\.allowInsecureHttp: true/);
});

test("the README's configuration for running from a checkout against the dev WFM is valid and names the keys it needs", () => {
  const readme = readFileSync(join(resolve(import.meta.dir, "../.."), "README.md"), "utf8");
  const block = /with this `dev-agent\.yaml`; each key is needed:\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const dir = mkdtempSync(join(tmpdir(), "margo-readme-dev-"));
  try {
    writeFileSync(join(dir, "dev-agent.yaml"), block!);
    const config = loadConfig({ file: join(dir, "dev-agent.yaml"), env: {} });
    expect(config).toMatchObject({ wfm: { url: "http://127.0.0.1:8080", allowInsecureHttp: true }, packages: { allowInsecureHttp: true }, dataDir: "./dev-data", api: { listen: "127.0.0.1:7480" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
