/**
 * The env file the agent writes reads back exactly through the real
 * docker-compose 1.29 (python-dotenv), and with --env-file the tool no longer
 * reads the package's own .env. (Docker Compose v2's parser is covered by
 * test/unit/runtimes/env-file.test.ts; v2 is not installed here.)
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { undollar } from "../../../runtimes/shared/compose-render.ts";
import { envFileText } from "../../../runtimes/shared/env-file.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { inCI } from "../../support/engines.ts";

const v1 = Bun.which("docker-compose");
const dir = mkdtempSync(join(tmpdir(), "hard-envfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VALUES = [
  "plain", "", " spaced ", "a # b", "#x", "line1\nline2\nPRIVILEGED=true", "cr\rhere", "crlf\r\n", "$HOME ${HOME} $$ ${X:-y} ${", "$", "${:-$}",
  'q"uote', '"', "s'ingle", "'", "back\\slash", "\\", "end\\", "end\\\\", '\\"', "\\n", "tab\t", "✓ 🚀 \u0085 \u2028",
  '{"k": ["v", 1], "e": "a\\"b"}', "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n",
];

async function render(envFile: string, compose: string): Promise<Record<string, string>> {
  writeFileSync(join(dir, "compose.yaml"), compose);
  const r = await bunPlatform.run([v1!, "--project-name", "envfile", "--file", join(dir, "compose.yaml"), "--env-file", envFile, "config"], { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/root" }, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(r.stderr);
  const model = undollar(YAML.parse(r.stdout, { version: "1.1" })) as { services: { a: { environment?: Record<string, string | null> } } };
  return Object.fromEntries(Object.entries(model.services.a.environment ?? {}).map(([k, v]) => [k, v ?? ""]));
}

test.skipIf(!v1 && !inCI)("docker-compose 1.29 reads every value back exactly", async () => {
  const vars = Object.fromEntries(VALUES.map((v, i) => [`V${i}`, v]));
  const envFile = join(dir, "params.env");
  writeFileSync(envFile, envFileText(vars, "v1"));
  const compose = `services:\n  a:\n    image: busybox\n    environment:\n${VALUES.map((_, i) => `      V${i}: "\${V${i}}"\n`).join("")}`;
  expect(await render(envFile, compose)).toEqual(vars);
}, 60_000);

test.skipIf(!v1 && !inCI)("with --env-file, the package's .env is not read by the tool", async () => {
  writeFileSync(join(dir, ".env"), "FROM_DOTENV=leaked\nCOMPOSE_PROFILES=all\n");
  const envFile = join(dir, "mine.env");
  writeFileSync(envFile, envFileText({ MINE: "ours" }, "v1"));
  expect(await render(envFile, 'services:\n  a:\n    image: busybox\n    environment:\n      A: "${FROM_DOTENV:-not read}"\n      B: "${MINE}"\n')).toEqual({ A: "not read", B: "ours" });
}, 60_000);
