/**
 * `margo-agent dev-wfm` as a user runs it: a real process serving the hello
 * example, stopped with SIGTERM; and the usage errors.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import path from "node:path";
import { parseDeployment } from "../../../src/deployment/parse.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { MANIFEST_TYPE, tempDir } from "./helpers.ts";

const REPO = path.resolve(import.meta.dir, "../../..");
const CLI = path.join(REPO, "src/cli.ts");
const HELLO_ID = "4f1c2a9e-6b1d-4c55-9a3e-0d7b8e2f5a10";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "dev-wfm", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

test("--help documents {{WFM_URL}} and exits 0; usage errors exit 2", async () => {
  const help = await runCli(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("{{WFM_URL}}");
  expect(help.stdout).toContain("--fault ROUTE=MODE");
  for (const args of [[], ["--dir", dir, "--bogus"], ["--dir", dir, "--approve", "sometimes"], ["--dir", dir, "--fault", "status=abc"], ["--dir", dir, "--listen", "nope"]]) {
    const res = await runCli(args);
    expect({ args, code: res.code }).toEqual({ args, code: 2 });
  }
  expect((await runCli(["--dir", path.join(dir, "missing")])).code).toBe(3);
}, 30_000);

test("serves examples/hello: the YAML with {{WFM_URL}} replaced parses with the agent's parser, its packages are served, SIGTERM stops it", async () => {
  cpSync(path.join(REPO, "examples/hello"), dir, { recursive: true });
  const proc = Bun.spawn([process.execPath, CLI, "dev-wfm", "--profile", "v1", "--state", path.join(dir, ".state"), "--dir", dir, "--listen", "127.0.0.1:0", "--log-level", "debug"], { stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let buffered = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`dev-wfm exited early: ${buffered}`);
    buffered += new TextDecoder().decode(value);
    for (const line of buffered.split("\n")) {
      if (line.includes('"url"')) url = (JSON.parse(line) as { url: string }).url;
    }
  }
  try {
    const res = await fetch(`${url}/api/v1/clients/demo/deployments`, { headers: { Accept: MANIFEST_TYPE } });
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { manifestVersion: number; deployments: Array<{ deploymentId: string; url: string; digest: string }> };
    expect(manifest.deployments.map((d) => d.deploymentId)).toEqual([HELLO_ID]);
    const yaml = await (await fetch(url + manifest.deployments[0]!.url)).text();
    expect(sha256Digest(yaml)).toBe(manifest.deployments[0]!.digest);
    const deployment = parseDeployment(yaml, "hello-world.yaml");
    // {{WFM_HOST}} became the dev WFM's host:port: the packages come from its own OCI endpoint.
    const host = new URL(url).host;
    expect(deployment.components.map((c) => [c.name, c.repository, c.revision, c.wait, c.timeoutMs])).toEqual([
      ["web", `oci://${host}/packages/web`, "1.0.0", true, 120_000],
      ["worker", `oci://${host}/packages/worker`, "1.0.0", true, 120_000],
    ]);
    expect(deployment.env.web).toEqual({ GREETING: "Hello from Margo" });
    for (const c of deployment.components) {
      const name = c.repository!.slice(`oci://${host}/`.length);
      const manifest = await fetch(`${url}/v2/${name}/manifests/${c.revision}`);
      expect(manifest.status).toBe(200);
      // The compose files themselves are still served as files too.
      const text = await (await fetch(`${url}/${name}/compose.yaml`)).text();
      expect(text).toContain("image: localhost/margo-demo/busybox:1");
      expect(text).toContain("pull_policy: never");
    }
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
}, 30_000);
