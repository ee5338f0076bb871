/**
 * Issue 16 item 3: a configuration without wfm.url was reported as
 * `wfm: unknown key … known keys here: wfm, …`, and so was `margo-agent status`
 * with no configuration file at all. A missing required key says "missing",
 * names the key, and, when no file was read, how to give one.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig, requiredKeys } from "../../src/config/load.ts";
import { AgentError } from "../../src/errors/index.ts";

const dir = mkdtempSync(join(tmpdir(), "margo-config-missing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(yaml: string | undefined): string[] {
  const file = yaml === undefined ? undefined : join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  if (file !== undefined && yaml !== undefined) writeFileSync(file, yaml);
  try {
    loadConfig({ file, env: {} });
  } catch (err) {
    return ((err as AgentError).details as { problems: string[] }).problems;
  }
  return [];
}

test("wfm.url is the one key without a default", () => {
  expect(requiredKeys()).toEqual(["wfm.url"]);
});

test("a file without a wfm section, or with one but no url, says wfm.url is missing", () => {
  for (const yaml of ["dataDir: /tmp/x\n", "wfm:\n  caFile: null\n", ""]) {
    const p = problems(yaml);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^wfm\.url: required but missing \(in .*c-\w+\.yaml\)$/);
    expect(p[0]).not.toContain("unknown key");
  }
});

test("a typo'd section is still an unknown key, and the section it replaced is missing", () => {
  const p = problems("wfmm:\n  url: https://wfm.example.com\n");
  expect(p).toContainEqual(expect.stringMatching(/^wfm\.url: required but missing/));
  expect(p).toContainEqual(expect.stringMatching(/^wfmm: unknown key .*known keys here: wfm, dataDir/));
});

test("no configuration file: the message says none was read and how to give one", () => {
  const [p] = problems(undefined);
  expect(p).toStartWith("wfm.url: required but missing (no configuration file was read: /etc/margo-agent/config.yaml does not exist;");
  expect(p).toContain("--config FILE");
  expect(p).toContain("MARGO_AGENT_WFM_URL");
});

test("`margo-agent status` with no configuration file exits 3 saying wfm.url is missing", async () => {
  const proc = Bun.spawn([process.execPath, "src/cli.ts", "status"], { cwd: resolve(import.meta.dir, "../.."), env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(code).toBe(3);
  expect(stderr).toContain("wfm.url: required but missing (no configuration file was read");
  expect(stderr).not.toContain("unknown key");
});
