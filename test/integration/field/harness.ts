/**
 * A device as a field engineer meets it: the dev WFM serving a folder (in this
 * process), the agent as a real `bun src/cli.ts run` child with its local API on
 * a unix socket, and the CLI run as further children against the same config.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevWfm, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { freePort } from "../../../scripts/free-port.ts";
import { type AgentProcess, exitWithin, ROOT, spawnCli, waitFor } from "../hardening/startup-harness.ts";

export { ROOT, waitFor, exitWithin, type AgentProcess };

export interface Field {
  root: string;
  /** The dev WFM's folder of ApplicationDeployments (and packages/). */
  wfmDir: string;
  dataDir: string;
  config: string;
  socket: string;
  wfm: StartedDevWfm;
  agent?: AgentProcess;
}

export function deploymentYaml(id: string, opts: { components?: string[]; image?: string; value?: string } = {}): string {
  const components = (opts.components ?? ["app"])
    .map((c) => `      - name: ${c}\n        properties: {packageLocation: "{{WFM_URL}}/packages/${c}/compose.yaml", wait: true, timeout: 60s}`)
    .join("\n");
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: ${id}, applicationId: com.example.field}
  name: ${id}
spec:
  deploymentProfile:
    type: compose
    components:
${components}
  parameters:
    v: {value: "${opts.value ?? "v1"}", targets: [{pointer: VALUE, components: [${(opts.components ?? ["app"]).join(", ")}]}]}
`;
}

/** A compose package per component; `script` is what its one service runs (busybox sh). */
export function writePackage(f: Pick<Field, "wfmDir">, component: string, image: string, script: string): void {
  mkdirSync(join(f.wfmDir, "packages", component), { recursive: true });
  writeFileSync(
    join(f.wfmDir, "packages", component, "compose.yaml"),
    `services:\n  ${component}:\n    image: ${image}\n    pull_policy: never\n    command: ["sh", "-c", ${JSON.stringify(script.replaceAll("$", "$$$$"))}]\n    stop_grace_period: 1s\n    restart: unless-stopped\n    environment: {VALUE: "\${VALUE}"}\n`,
  );
}

export async function startField(opts: { runtime: string; extra?: string[]; stateFile?: string; tcp?: boolean; token?: string } = { runtime: "simulated" }): Promise<Field> {
  const root = mkdtempSync(join(tmpdir(), "margo-field-"));
  const wfmDir = join(root, "wfm");
  mkdirSync(join(wfmDir, "packages"), { recursive: true });
  const wfm = await startDevWfm({ dir: wfmDir, log: silentLogger, listen: "127.0.0.1:0", stateFile: opts.stateFile ?? join(root, "wfm-state.json") });
  const dataDir = join(root, "data");
  const socket = join(root, "api.sock");
  const config = join(root, "agent.yaml");
  const listen = opts.tcp ? `127.0.0.1:${await freePort()}` : `unix:${socket}`;
  writeConfig({ config, wfmUrl: wfm.url, dataDir, listen, token: opts.token, runtime: opts.runtime, extra: opts.extra ?? [] });
  return { root, wfmDir, dataDir, config, socket, wfm };
}

export function writeConfig(o: { config: string; wfmUrl: string; dataDir: string; listen: string; token?: string; runtime: string; extra: string[] }): void {
  writeFileSync(
    o.config,
    [
      "wfm:",
      "  profile: v1", // the field tests run a v1 dev WFM (the agent's default is rc3)
      `  url: ${o.wfmUrl}`,
      "  allowInsecureHttp: true",
      "  requestTimeout: 5s",
      `dataDir: ${o.dataDir}`,
      `runtime: ${o.runtime}`,
      "device: {id: field-device}",
      "packages: {allowInsecureHttp: true, reserve: 1MiB}",
      `api: {listen: "${o.listen}"${o.token ? `, token: ${o.token}` : ""}}`,
      "poll: {interval: 1s, jitter: 0}",
      "reconcile: {driftInterval: 0}",
      "journal: {retryMax: 2s}",
      ...o.extra,
    ].join("\n") + "\n",
  );
}

export function startAgent(f: Field, args: string[] = []): AgentProcess {
  f.agent = spawnCli(["run", "--config", f.config, ...args]);
  return f.agent;
}

export async function stopAgent(f: Field, limitMs = 30_000): Promise<number | undefined> {
  const a = f.agent;
  if (!a) return undefined;
  f.agent = undefined;
  a.proc.kill("SIGTERM");
  return exitWithin(a, limitMs);
}

export async function stopField(f: Field | undefined): Promise<void> {
  if (!f) return;
  await stopAgent(f).catch(() => {});
  await f.wfm.stop();
  rmSync(f.root, { recursive: true, force: true });
}

/** One CLI command (a child process) against the field's config. */
export async function cli(f: Field, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "src/cli.ts", ...args, "--config", f.config], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.root },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** The states the dev WFM received for a deployment, oldest first. */
export function statesOf(f: Field, id: string): { state: string; error?: { code: string; message: string } }[] {
  return f.wfm
    .reports()
    .filter((r) => r.deploymentId === id)
    .map((r) => (r.body as { status: { state: string; error?: { code: string; message: string } } }).status);
}

export async function waitForState(f: Field, id: string, state: string, limitMs = 60_000): Promise<void> {
  await waitFor(`${id} reported ${state}`, () => statesOf(f, id).some((s) => s.state === state), limitMs, () =>
    `reports: ${JSON.stringify(statesOf(f, id))}\nagent log:\n${f.agent?.stdout().slice(-4000) ?? ""}\n${f.agent?.stderr().slice(-2000) ?? ""}`,
  );
}

/** Every line the agent printed, on stdout and stderr, must be one JSON object (pino). */
export function nonJsonLines(a: AgentProcess): string[] {
  return [...a.stdout().split("\n"), ...a.stderr().split("\n")].filter((l) => {
    if (!l.trim()) return false;
    try {
      return typeof JSON.parse(l) !== "object";
    } catch {
      return true;
    }
  });
}

/** Pids of live processes whose command line contains `needle`. */
export function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

