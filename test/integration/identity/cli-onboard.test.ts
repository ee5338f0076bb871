import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { removeTempDirs, tempDir } from "../../unit/identity-integration/helpers.ts";
import { startFakeWfm, type FakeWfm } from "./fake-wfm.ts";
import { openStore } from "./setup.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");

let wfm: FakeWfm | undefined;
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
});
afterAll(removeTempDirs);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

function configFile(dir: string, wfmUrl: string, extra = ""): string {
  const file = join(dir, "config.yaml");
  writeFileSync(file, `wfm:\n  profile: v1\n  url: ${wfmUrl}\n  allowInsecureHttp: true\ndataDir: ${join(dir, "data")}\ndevice:\n  id: cli-dev\nlog:\n  level: warn\n${extra}`);
  return file;
}

describe("margo-agent onboard", () => {
  test("waiting for approval (exit 1), then the clientId (exit 0, stored), then the stored one without asking", async () => {
    wfm = startFakeWfm({ pendingFor: 1 });
    const dir = tempDir("margo-cli-");
    const config = configFile(dir, wfm.url);

    const pending = await cli(["onboard", "--config", config]);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toBe("");
    expect(pending.stderr).toContain("waiting for approval");
    expect(statSync(join(dir, "data", "device-key.pem")).mode & 0o777).toBe(0o600);

    const approved = await cli(["onboard", "--config", config]);
    expect(approved.stderr).toBe("");
    expect(approved.code).toBe(0);
    expect(approved.stdout).toBe("client-1\n");
    const store = openStore(join(dir, "data"));
    expect(store.getMeta("clientId")).toBe("client-1");
    store.close();

    const count = wfm.requests.length;
    const again = await cli(["onboard", "--config", config]);
    expect([again.code, again.stdout]).toEqual([0, "client-1\n"]);
    expect(wfm.requests.length).toBe(count);
    expect(wfm.rejected).toEqual([]);
  }, 30_000);

  test("a certificate the WFM refuses: exit 1 with the WFM's message", async () => {
    wfm = startFakeWfm({ onboardingOverride: () => Response.json({ error: "Invalid certificate" }, { status: 400 }) });
    const dir = tempDir("margo-cli-");
    const r = await cli(["onboard", "--config", configFile(dir, wfm.url)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("IDENTITY_INVALID");
    expect(r.stderr).toContain("Invalid certificate");
  }, 30_000);

  test("plain http towards a WFM that is not on loopback is refused as a configuration error (exit 3)", async () => {
    const dir = tempDir("margo-cli-");
    const r = await cli(["onboard", "--config", configFile(dir, "http://wfm.example.com")]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("plain http is refused");
  }, 30_000);
});
