/**
 * Gzip bombs against the real agent process (`bun src/cli.ts run`, simulated runtime, a hostile
 * WFM on loopback): a 0.9 MB package that expands to 900 MiB, and a 4 MiB bundle that expands
 * to 4 GiB. Each must be refused with its code while the agent's memory stays near idle and
 * nothing big lands in the data directory.
 *
 * Memory is the child's own peak resident set (VmHWM in /proc/<pid>/status), read once the agent
 * has done ordinary work (a small deployment installed) and again after the bomb was refused;
 * the bound is generous (the old code peaked 360 MB to 1.9 GB above idle). No timing is asserted.
 *
 * Invariants held here (docs/architecture.md): INV-BOUND-1.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { deploymentYaml, type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";
import { tarGzBomb, zeroBomb } from "../../unit/archive/build.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");
const CLIENT = "/api/v1/clients/test-device";
const BUNDLE_TYPE = "application/vnd.margo.bundle.v1+tar+gzip";
const COMPOSE = "services:\n  web:\n    image: localhost/margo-test/busybox:1\n";
/** Peak memory the agent may add above its idle peak while refusing a bomb. */
const MAX_GROWTH = 64 * 2 ** 20;

let wfm: FakeWfm;
let root: string;
let agent: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(() => {
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", COMPOSE, "application/yaml");
});
afterEach(async () => {
  agent?.kill("SIGTERM");
  await agent?.exited;
  agent = undefined;
  rmSync(root, { recursive: true, force: true });
});
afterAll(() => wfm.stop());

function publish(id: string, yaml: string) {
  const digest = sha256Digest(yaml);
  const url = `${CLIENT}/deployments/${id}/${digest}`;
  wfm.set(url, yaml, "application/yaml");
  return { deploymentId: id, digest, sizeBytes: yaml.length, url };
}

function bundleRef(bytes: Uint8Array) {
  const digest = sha256Digest(bytes);
  const url = `${CLIENT}/bundles/${digest}`;
  wfm.set(url, bytes, BUNDLE_TYPE);
  return { mediaType: BUNDLE_TYPE, digest, sizeBytes: bytes.length, url };
}

const manifest = (v: number, deployments: object[], bundle: object | null = null) => JSON.stringify({ manifestVersion: v, bundle, deployments });

function startAgent(): { dataDir: string; logFile: string } {
  root = mkdtempSync(join(tmpdir(), "bomb-"));
  const dataDir = join(root, "agent");
  const configFile = join(root, "agent.yaml");
  const logFile = join(root, "agent.log");
  writeFileSync(
    configFile,
    [
      "wfm:",
      "  profile: v1", // the default is rc3 (issue 12); this is a v1 WFM
      `  url: ${wfm.url}`,
      "  allowInsecureHttp: true",
      "  clientId: test-device",
      "  requestTimeout: 10s",
      `dataDir: ${dataDir}`,
      "runtime: simulated",
      "poll: {interval: 200ms, jitter: 0}",
      "packages: {allowInsecureHttp: true, reserve: 1MiB}",
      "reconcile: {driftInterval: 0}",
      "api: {enabled: false}",
      "log: {level: info}",
    ].join("\n"),
  );
  agent = Bun.spawn([process.execPath, CLI, "run", "--config", configFile], { stdout: Bun.file(logFile), stderr: "inherit" });
  return { dataDir, logFile };
}

/** The child's peak resident set so far, in bytes. */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

async function until(what: string, cond: () => boolean, diagnose: () => string, limitMs = 30_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 50) {
    if (agent?.exitCode !== null && agent?.exitCode !== undefined) throw new Error(`agent exited (${agent.exitCode}) waiting for ${what}: ${diagnose()}`);
    if (waited > limitMs) throw new Error(`gave up waiting for ${what}: ${diagnose()}`);
    await Bun.sleep(50);
  }
}

const reportsOf = (id: string) => wfm.reports.filter((r) => r.deploymentId === id).map((r) => JSON.stringify(r.body));
const stateOf = (id: string) => (wfm.reports.filter((r) => r.deploymentId === id).at(-1)?.body.status as { state?: string } | undefined)?.state;

function duBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s?.isFile()) total += s.size;
  }
  return total;
}

test("a 0.9 MB package that expands to 900 MiB: PACKAGE_TOO_LARGE, memory near idle, nothing big on disk", async () => {
  const bomb = tarGzBomb([{ path: "compose.yaml", data: new TextEncoder().encode(COMPOSE) }], "data/zeros.bin", 900);
  expect(bomb.length).toBeLessThan(1_000_000);
  wfm.set("/pkg/bomb.tar.gz", bomb);
  const okYaml = deploymentYaml("dep-ok", `${wfm.url}/pkg/compose.yaml`);
  const ok = publish("dep-ok", okYaml);
  const bundleOf = (...yamls: string[]) => bundleRef(writeTarGz(yamls.map((y, i) => ({ path: `${i}.yaml`, data: new TextEncoder().encode(y) }))));
  wfm.setManifest(manifest(1, [ok], bundleOf(okYaml)));
  const { dataDir, logFile } = startAgent();
  const log = () => readFileSync(logFile, "utf8").slice(-3000);
  await until("dep-ok installed", () => stateOf("dep-ok") === "installed", log);
  const idle = peakRss(agent!.pid);

  const evilYaml = deploymentYaml("dep-bomb", `${wfm.url}/pkg/bomb.tar.gz`);
  const evil = publish("dep-bomb", evilYaml);
  wfm.setManifest(manifest(2, [ok, evil], bundleOf(okYaml, evilYaml)));
  // Waits for either outcome, so the assertions below say what went wrong (the old code installed it).
  await until("dep-bomb settled", () => ["failed", "installed"].includes(stateOf("dep-bomb") ?? ""), log);
  const peak = peakRss(agent!.pid);
  console.log(`[measure] package bomb: idle VmHWM ${(idle / 2 ** 20).toFixed(1)} MiB, after refusing ${(peak / 2 ** 20).toFixed(1)} MiB`);

  const written = duBytes(dataDir);
  console.log(`[measure] package bomb: ${(written / 2 ** 20).toFixed(1)} MiB in the data directory`);
  expect(reportsOf("dep-bomb").at(-1)).toContain("PACKAGE_TOO_LARGE");
  expect(peak - idle).toBeLessThan(MAX_GROWTH);
  expect(written).toBeLessThan(16 * 2 ** 20);
  expect(stateOf("dep-ok")).toBe("installed");
}, 120_000);

test("a 4 MiB bundle that expands to 4 GiB: BUNDLE_TOO_LARGE, memory near idle", async () => {
  const yamls = ["dep-a", "dep-b", "dep-c"].map((id) => ({ id, yaml: deploymentYaml(id, `${wfm.url}/pkg/compose.yaml`) }));
  const [a, b, c] = yamls.map(({ id, yaml }) => publish(id, yaml));
  const enc = new TextEncoder();
  wfm.setManifest(manifest(1, [a!], bundleRef(writeTarGz([{ path: "a.yaml", data: enc.encode(yamls[0]!.yaml) }]))));
  const { logFile } = startAgent();
  const log = () => readFileSync(logFile, "utf8");
  await until("dep-a installed", () => stateOf("dep-a") === "installed", () => log().slice(-3000));
  const idle = peakRss(agent!.pid);

  // Two of three deployments are new: the agent takes the bundle.
  wfm.setManifest(manifest(2, [a!, b!, c!], bundleRef(zeroBomb(4))));
  await until("the bundle refused", () => log().includes('"code":"BUNDLE_TOO_LARGE"'), () => log().slice(-3000));
  const peak = peakRss(agent!.pid);
  console.log(`[measure] bundle bomb: idle VmHWM ${(idle / 2 ** 20).toFixed(1)} MiB, after refusing ${(peak / 2 ** 20).toFixed(1)} MiB`);

  expect(peak - idle).toBeLessThan(MAX_GROWTH);
  expect(reportsOf("dep-b")).toEqual([]);
  expect(stateOf("dep-a")).toBe("installed");
}, 120_000);
