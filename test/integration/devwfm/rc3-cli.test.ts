/**
 * `margo-agent dev-wfm` in rc3 as a user runs it: a real process (rc3 is the
 * default), `dev-wfm issue-svid` minting a device's SVID, and a Bun fetch
 * with the agent's TLS options built from exactly the printed files.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { cpSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { clientTlsOptions, loadSvid, parseTrustBundle } from "../../../src/trust/index.ts";
import { rc3Env, MANIFEST_TYPE, type Rc3Env } from "./rc3-helpers.ts";

const REPO = path.resolve(import.meta.dir, "../../..");
const CLI = path.join(REPO, "src/cli.ts");

let env: Rc3Env;
beforeEach(() => {
  env = rc3Env();
  cpSync(path.join(REPO, "examples/hello"), env.dir, { recursive: true });
});
afterEach(() => env.cleanup());

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "dev-wfm", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function startProcess(): Promise<{ proc: ReturnType<typeof Bun.spawn>; url: string; line: Record<string, unknown> }> {
  const proc = Bun.spawn([process.execPath, CLI, "dev-wfm", "--state", env.stateDir, "--dir", env.dir, "--listen", "127.0.0.1:0"], { stdout: "pipe", stderr: "pipe" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`dev-wfm exited early: ${buffered}`);
    buffered += new TextDecoder().decode(value);
    for (const text of buffered.split("\n")) {
      if (!text.includes('"url"')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      reader.releaseLock();
      return { proc, url: line.url as string, line };
    }
  }
}

test("rc3 by default: issue-svid prints the SPIFFE ID and config lines whose files let a Bun fetch in with the agent's TLS options", async () => {
  const { proc, url, line } = await startProcess();
  try {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(line).toMatchObject({ profile: "rc3", spiffeId: "spiffe://margo-dev.local/margo/wfm/dev-wfm", stateDir: env.stateDir });
    const out = path.join(env.root, "device-7");
    const issued = await cli(["issue-svid", "--client", "device-7", "--out", out, "--state", env.stateDir]);
    expect(issued.code).toBe(0);
    expect(issued.stdout).toContain("SPIFFE ID  spiffe://margo-dev.local/margo/wfm/dev-wfm/client/device-7");
    const config = YAML.parse(issued.stdout.slice(issued.stdout.indexOf("wfm:"))) as { wfm: { profile: string; url: string; caFile: string }; identity: { certFile: string; keyFile: string } };
    expect(config).toEqual({
      wfm: { profile: "rc3", url, caFile: path.join(out, "bundle.pem") },
      identity: { certFile: path.join(out, "svid.pem"), keyFile: path.join(out, "svid-key.pem") },
    });
    expect(issued.stdout).toContain(`# trustDiscovery: ${url}`);
    expect(statSync(config.identity.keyFile).mode & 0o777).toBe(0o600);

    // What the agent does with those three keys.
    const svid = await loadSvid({ certFile: config.identity.certFile, keyFile: config.identity.keyFile });
    const bundle = parseTrustBundle(await Bun.file(config.wfm.caFile).text(), config.wfm.caFile);
    const tls = clientTlsOptions(svid, bundle);
    const res = await fetch(`${config.wfm.url}/api/v1/deployments`, { headers: { Accept: MANIFEST_TYPE }, tls } as RequestInit);
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { deployments: Array<{ deploymentId: string; url: string }> };
    expect(manifest.deployments.map((d) => d.deploymentId)).toEqual(["4f1c2a9e-6b1d-4c55-9a3e-0d7b8e2f5a10"]);
    const yaml = YAML.parse(await (await fetch(`${url}${manifest.deployments[0]!.url}`, { tls } as RequestInit)).text()) as Record<string, unknown>;
    expect(yaml.id).toBe("4f1c2a9e-6b1d-4c55-9a3e-0d7b8e2f5a10");
    // examples/hello names its application in the v1 annotation; rc3 serves it as spec.applicationId.
    expect((yaml.spec as Record<string, unknown>).applicationId).toBe("com.example.hello-world");
    // The packages are OCI artifacts of the dev WFM's own endpoint, public (also without a client certificate).
    const props = (yaml.spec as { deploymentProfile: { components: Array<{ properties: { repository: string; revision: string } }> } }).deploymentProfile.components[0]!.properties;
    expect(props).toMatchObject({ repository: `oci://${new URL(url).host}/packages/web`, revision: "1.0.0" });
    expect((await fetch(`${url}/v2/packages/web/manifests/1.0.0`, { tls: { ca: [...bundle.anchorsPem] } } as RequestInit)).status).toBe(200);
    // Without the SVID: refused.
    expect((await fetch(`${url}/api/v1/deployments`, { headers: { Accept: MANIFEST_TYPE }, tls: { ca: [...bundle.anchorsPem] } } as RequestInit)).status).toBe(403);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
}, 30_000);

test("usage errors exit 2: a client name that is no SPIFFE segment, missing flags, flags of the other profile, --state naming a file, an http public URL in rc3", async () => {
  const stateFile = path.join(env.root, "state.json");
  mkdirSync(env.root, { recursive: true });
  writeFileSync(stateFile, "{}");
  const out = path.join(env.root, "o");
  for (const args of [
    ["issue-svid", "--client", "a/b", "--out", out, "--state", env.stateDir],
    ["issue-svid", "--client", "ok", "--state", env.stateDir],
    ["issue-svid", "--out", out, "--state", env.stateDir],
    ["issue-svid", "--client", "ok", "--out", out, "--state", env.stateDir, "--validity", "soon"],
    ["--dir", env.dir, "--state", env.stateDir, "--approve", "manual"],
    ["--dir", env.dir, "--state", env.stateDir, "--profile", "v1", "--wfm-id", "x"],
    ["--dir", env.dir, "--state", env.stateDir, "--profile", "v2"],
    ["--dir", env.dir, "--state", stateFile],
    ["--dir", env.dir, "--state", env.stateDir, "--public-url", "http://127.0.0.1:8080"],
  ]) {
    const res = await cli(args);
    expect({ args, code: res.code }).toEqual({ args, code: 2 });
  }
  const help = await cli(["--help"]);
  expect(help.stdout).toContain("issue-svid");
  expect(help.stdout).toContain("--profile rc3|v1");
}, 30_000);
