/**
 * Real processes for durability tests: the agent runs as `bun src/cli.ts run`
 * (so SIGKILL is a real kill), the dev WFM runs in the test process with its
 * fault switches, and the agent's SQLite file is inspected read-only.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDevWfm, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { applicationDeploymentYaml } from "../../support/deployment-yaml.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");

export interface Fleet {
  dir: string;
  wfm: StartedDevWfm;
  dataDir: string;
  configFile: string;
  agent?: ReturnType<typeof Bun.spawn>;
  kills: number;
  starts: number;
}

export const depId = (i: number) => `dep-${String(i).padStart(3, "0")}`;

/** The Margo profile a fleet speaks: v1 (http, signatures) or rc3 (mutual TLS with a client SVID the dev WFM mints). */
export type Profile = "v1" | "rc3";

/** v1 names its package by URL (rc.2); rc3 as an OCI artifact of the dev WFM's own endpoint. */
export function yamlFor(i: number, value: string, profile: Profile = "v1"): string {
  const pkg = profile === "rc3" ? { repository: "oci://{{WFM_HOST}}/packages/app", revision: "1.0.0" } : { packageLocation: "{{WFM_URL}}/packages/app/compose.yaml" };
  return applicationDeploymentYaml({ id: depId(i), name: `app-${i}`, package: pkg, value });
}

export async function startFleet(n: number, faults: Parameters<StartedDevWfm["setFaults"]>[0] = {}, profile: Profile = "v1"): Promise<Fleet> {
  const root = mkdtempSync(join(tmpdir(), "fleet-"));
  const dir = join(root, "wfm");
  mkdirSync(join(dir, "packages/app"), { recursive: true });
  writeFileSync(join(dir, "packages/app/compose.yaml"), "services:\n  app:\n    image: localhost/margo-test/busybox:1\n    environment: {VALUE: \"${VALUE}\"}\n");
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `${depId(i)}.yaml`), yamlFor(i, "v1", profile));
  const wfm =
    profile === "rc3"
      ? await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", faults, profile: "rc3", stateDir: join(root, "wfm-state") })
      : await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", faults, stateFile: join(root, "wfm-state.json") });
  const dataDir = join(root, "agent");
  const configFile = join(root, "agent.yaml");
  let identity: string[];
  if (profile === "rc3") {
    // The device's SVID, minted by the dev WFM's CA, and the bundle it verifies the WFM with.
    const svid = await wfm.rc3!.issueClient("device-1", join(root, "svid"));
    const host = new URL(wfm.url).host;
    identity = [
      "  profile: rc3",
      `  url: ${wfm.url}`,
      `  caFile: ${svid.bundleFile}`,
      "  requestTimeout: 5s",
      `identity: {certFile: ${svid.certFile}, keyFile: ${svid.keyFile}}`,
      `registries: {caFiles: {"${host}": ${svid.bundleFile}}}`,
    ];
  } else {
    identity = ["  profile: v1", `  url: ${wfm.url}`, "  allowInsecureHttp: true", "  requestTimeout: 5s"];
  }
  writeFileSync(
    configFile,
    [
      "wfm:",
      ...identity,
      `dataDir: ${dataDir}`,
      "runtime: simulated",
      "poll: {interval: 300ms, jitter: 0}",
      "packages: {allowInsecureHttp: true, reserve: 1MiB}",
      "journal: {retryMax: 1s}",
      "reconcile: {driftInterval: 0}",
      "api: {enabled: false}",
      "log: {level: info}",
    ].join("\n"),
  );
  return { dir, wfm, dataDir, configFile, kills: 0, starts: 0 };
}

/** Each run's log lines are appended to agent.log beside the config, for post-mortems. */
export function startAgent(f: Fleet, simulatedDelayMs = 15): void {
  const log = Bun.file(join(f.dataDir, "..", `agent-${f.kills}-${f.starts}.log`));
  f.starts++;
  f.agent = Bun.spawn([process.execPath, CLI, "run", "--config", f.configFile, "--simulated-delay", String(simulatedDelayMs)], { stdout: log, stderr: log });
}

/** The agent's JSON log lines of every run so far. */
export function agentLogs(f: Fleet): Record<string, unknown>[] {
  const dir = join(f.dataDir, "..");
  return readdirSync(dir)
    .filter((n) => /^agent-\d+-\d+\.log$/.test(n))
    .flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n"))
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function killAgent(f: Fleet): Promise<void> {
  if (!f.agent) return;
  f.agent.kill("SIGKILL");
  await f.agent.exited;
  f.agent = undefined;
  f.kills++;
}

export async function stopAgent(f: Fleet): Promise<void> {
  if (!f.agent) return;
  f.agent.kill("SIGTERM");
  await f.agent.exited;
  f.agent = undefined;
}

/** Opens the agent's database read-only (or read-write for integrity checks after a kill). */
export function withDb<T>(f: Fleet, fn: (db: Database) => T, readonly = true): T {
  const db = new Database(join(f.dataDir, "state.db"), readonly ? { readonly: true } : {});
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, diagnose?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${diagnose ? `: ${diagnose()}` : ""}`);
    await Bun.sleep(100);
  }
}

export const sleep = (ms: number) => Bun.sleep(ms);
export const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

/** Per deployment, the states the WFM received, in arrival order, with identical consecutive bodies (re-deliveries) counted. */
export function received(f: Fleet): { byDeployment: Map<string, { state: string; body: string }[]>; redeliveries: number } {
  const byDeployment = new Map<string, { state: string; body: string }[]>();
  let redeliveries = 0;
  for (const r of f.wfm.reports()) {
    const list = byDeployment.get(r.deploymentId) ?? [];
    const body = JSON.stringify(r.body);
    if (list.length && list[list.length - 1]!.body === body) redeliveries++;
    else list.push({ state: (r.body as { status: { state: string } }).status.state, body });
    byDeployment.set(r.deploymentId, list);
  }
  return { byDeployment, redeliveries };
}

/** Every transition the agent recorded, per deployment, oldest first (from its history table). */
export function recorded(f: Fleet): Map<string, string[]> {
  return withDb(f, (db) => {
    const map = new Map<string, string[]>();
    for (const row of db.query("SELECT deployment_id AS id, state FROM history ORDER BY seq").all() as { id: string; state: string }[]) {
      map.set(row.id, [...(map.get(row.id) ?? []), row.state]);
    }
    return map;
  });
}
