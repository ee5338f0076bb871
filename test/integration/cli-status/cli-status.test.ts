/**
 * `margo-agent status`, `deployments` and `sync` as a field engineer runs them:
 * child processes of `bun src/cli.ts`, against a real running agent (its API
 * in this process) and then against the same data directory with the agent stopped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLocalApi, type LocalApiHandle } from "../../../src/api/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import type { Agent } from "../../../src/agent/agent.ts";
import { silentLogger } from "../../../src/log.ts";
import { buildAgent, tempDir, testConfig } from "../api/agent-fixture.ts";
import { deploymentYaml, startTinyWfm, type TinyWfm } from "../api/tiny-wfm.ts";

const TOKEN = "field-engineer-token-0123456789";
const ROOT = join(import.meta.dir, "../../..");
const BUN = process.execPath;

let tmp: ReturnType<typeof tempDir>;
let wfm: TinyWfm;
let agent: Agent;
let api: LocalApiHandle;
let configFile: string;

/** Runs the CLI without blocking this process's event loop (the agent answers from here). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUN, "src/cli.ts", ...args, "--config", configFile], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp.dir } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  tmp = tempDir("margo-cli-");
  wfm = startTinyWfm([
    { id: "0c3b6a52-8d1c-4a7f-9e2b-123456789abc", yaml: deploymentYaml("0c3b6a52-8d1c-4a7f-9e2b-123456789abc", "web", { params: { apiToken: { value: "s3cr3t-value", pointer: "API_TOKEN" } } }) },
    { id: "dep-bad", yaml: deploymentYaml("dep-bad", "worker", { broken: true }) },
  ]);
  const config = testConfig(tmp.dir, wfm.url, ["api.listen=127.0.0.1:0", `api.token=${TOKEN}`]);
  agent = buildAgent(config);
  api = startLocalApi({ agent: agent.readModel(), config, platform: bunPlatform, log: silentLogger });
  await agent.start();
  await agent.syncNow();
  configFile = join(tmp.dir, "config.yaml");
  writeFileSync(
    configFile,
    `wfm:\n  profile: v1\n  url: ${wfm.url}\n  clientId: dev-1\n  allowInsecureHttp: true\ndataDir: ${tmp.dir}\nruntime: simulated\napi:\n  listen: ${api.url.replace("http://", "")}\n  token: ${TOKEN}\n`,
  );
}, 30_000);

afterAll(async () => {
  await api?.stop();
  await agent?.stop();
  await wfm?.stop();
  tmp?.remove();
});

describe("with the agent running", () => {
  test("status prints the header and one line per deployment, without colour on a pipe", async () => {
    const r = await cli("status");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b[");
    expect(r.stdout).toContain(`WFM              ${wfm.url} as dev-1`);
    expect(r.stdout).toMatch(/last poll\s+\d+s ago: (applied|not-modified)/);
    expect(r.stdout).toMatch(/manifestVersion\s+1\n/);
    expect(r.stdout).toMatch(/reports\s+\d+ pending, 0 parked/);
    const table = r.stdout.slice(r.stdout.indexOf("ID  "));
    expect(table.split("\n")[0]).toMatch(/^ID\s+NAME\s+STATE\s+SINCE\s+ERROR$/);
    expect(table).toMatch(/0c3b6a52-8d…\s+web\s+installed\s+\d+s ago/);
    expect(table).toMatch(/dep-bad\s+worker\s+failed\s+\d+s ago\s+COMPONENT_APPLY_FAILED: component app: simulated failure: image registr…\n/);
  }, 20_000);

  test("status --json prints the API's status and deployments", async () => {
    const r = await cli("status", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.agentRunning).toBe(true);
    expect(out.status.manifestVersion).toBe("1");
    expect(out.deployments.map((d: { id: string }) => d.id)).toEqual(["0c3b6a52-8d1c-4a7f-9e2b-123456789abc", "dep-bad"]);
  }, 20_000);

  test("deployments ID (or the shortened prefix) shows one in detail with secrets masked", async () => {
    const r = await cli("deployments", "0c3b6a52-8d…");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/id\s+0c3b6a52-8d1c-4a7f-9e2b-123456789abc/);
    expect(r.stdout).toMatch(/apiToken\s+\*\*\*\s+API_TOKEN → app/);
    expect(r.stdout).not.toContain("s3cr3t-value");
    expect((await cli("deployments", "nope")).code).toBe(1);
    const list = await cli("deployments", "--json");
    expect(JSON.parse(list.stdout).deployments).toHaveLength(2);
  }, 20_000);

  test("sync asks the agent to poll, with the configured token", async () => {
    const r = await cli("sync");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^not-modified: the WFM has nothing new/);
    expect(r.code).toBe(0);
  }, 20_000);

  test("--help for each command", async () => {
    for (const c of ["status", "deployments", "sync"]) {
      const r = await cli(c, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: margo-agent ${c}`);
    }
  }, 20_000);
});

describe("with the agent stopped", () => {
  beforeAll(async () => {
    await api.stop();
    await agent.stop();
  });

  test("status says the agent is down and since when, shows the stored state read-only, exits 4", async () => {
    const r = await cli("status");
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("The agent is not running (no agent answers at http://127.0.0.1:");
    expect(r.stdout).toContain("(connection refused)).");
    expect(r.stdout).toMatch(/It last wrote its state \d+s ago \(\d{4}-\d\d-\d\dT/);
    expect(r.stdout).toContain(join(tmp.dir, "state.db"));
    expect(r.stdout).toMatch(/manifestVersion\s+1, applied \d+s ago/);
    expect(r.stdout).toMatch(/0c3b6a52-8d…\s+web\s+installed/);
    expect(r.stdout).toMatch(/dep-bad\s+worker\s+failed\s+\d+s ago\s+COMPONENT_APPLY_FAILED/);
  }, 20_000);

  test("status --json says agentRunning false with the stored state", async () => {
    const r = await cli("status", "--json");
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(out.agentRunning).toBe(false);
    expect(out.stored.manifestVersion).toBe("1");
    expect(out.deployments).toHaveLength(2);
  }, 20_000);

  test("deployments reads the stored state and exits 4; sync exits 4", async () => {
    const d = await cli("deployments", "dep-bad");
    expect(d.code).toBe(4);
    expect(d.stderr).toContain("The agent is not running");
    expect(d.stdout).toMatch(/error\s+COMPONENT_APPLY_FAILED/);
    const s = await cli("sync");
    expect(s.code).toBe(4);
    expect(s.stderr).toContain("the agent is not running");
  }, 20_000);
});
