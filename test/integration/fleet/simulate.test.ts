/**
 * `margo-agent simulate` (docs/simulate.md, issue 17): a real process running
 * 200 simulated devices against a real dev WFM, in both profiles. Every
 * device must get its identity accepted (v1: onboarded; rc3: its own client
 * SVID over mutual TLS), poll and report, and the WFM must see 200 distinct
 * clients; the process's own figures must say the same. Not timed: the test
 * waits for the figures, then stops the fleet with SIGTERM.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { issueClientFiles, loadOrCreateRc3Identity, startDevWfm, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import type { FleetSummary } from "../../../src/simulate/summary.ts";
import { applicationDeploymentYaml } from "../../support/deployment-yaml.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");
const DEVICES = 200;
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function deployment(profile: "v1" | "rc3"): string {
  const pkg = profile === "rc3" ? { repository: "oci://{{WFM_HOST}}/packages/app", revision: "1.0.0" } : { packageLocation: "{{WFM_URL}}/packages/app/compose.yaml" };
  return applicationDeploymentYaml({ id: "fleet-app", package: pkg });
}

async function wfmFor(profile: "v1" | "rc3"): Promise<{ wfm: StartedDevWfm; root: string }> {
  const root = mkdtempSync(join(tmpdir(), `simulate-${profile}-`));
  roots.push(root);
  const dir = join(root, "wfm");
  mkdirSync(join(dir, "packages/app"), { recursive: true });
  writeFileSync(join(dir, "packages/app/compose.yaml"), "services:\n  app:\n    image: localhost/margo-test/busybox:1\n");
  writeFileSync(join(dir, "fleet-app.yaml"), deployment(profile));
  const wfm =
    profile === "rc3"
      ? await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", profile: "rc3", stateDir: join(root, "wfm-state") })
      : await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0", stateFile: join(root, "wfm-state", "state.json") });
  return { wfm, root };
}

/** Runs simulate with --json until `done` says so from a progress line (or the process ends), then SIGTERM; returns every line. */
async function simulate(args: string[], done: (s: FleetSummary) => boolean, timeoutMs: number): Promise<{ lines: FleetSummary[]; code: number; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "simulate", "--json", "--report-every", "1s", ...args], { stdout: "pipe", stderr: "pipe" });
  const lines: FleetSummary[] = [];
  const timer = setTimeout(() => proc.kill("SIGTERM"), timeoutMs);
  const decoder = new TextDecoder();
  let buffer = "";
  let signalled = false;
  for await (const chunk of proc.stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    for (const part of parts) {
      if (!part.startsWith("{")) continue;
      const line = JSON.parse(part) as FleetSummary;
      lines.push(line);
      if (!signalled && line.kind === "progress" && done(line)) {
        signalled = true;
        proc.kill("SIGTERM");
      }
    }
  }
  clearTimeout(timer);
  return { lines, code: await proc.exited, stderr: await new Response(proc.stderr).text() };
}

const everyDevice = (s: FleetSummary) => s.devices.identified === DEVICES && s.devices.polled === DEVICES && s.devices.reported === DEVICES;

describe.each(["v1", "rc3"] as const)("simulate %s: 200 devices against the dev WFM", (profile) => {
  test(
    "every device got its identity accepted, polled and reported; the WFM saw 200 clients",
    async () => {
      const { wfm, root } = await wfmFor(profile);
      try {
        const args = ["--devices", String(DEVICES), "--wfm", wfm.url, "--profile", profile, "--interval", "2s", "--ramp", "2s", "--work-dir", join(root, "sim")];
        if (profile === "rc3") args.push("--dev-wfm-state", join(root, "wfm-state"));
        // Reports in flight when the signal comes are part of the run: wait for every device to reach installed.
        const installed = () => new Set(wfm.reports().filter((r) => (r.body as { status: { state: string } }).status.state === "installed").map((r) => r.clientId)).size;
        const { lines, code, stderr } = await simulate(args, (s) => everyDevice(s) && installed() === DEVICES, 120_000);
        const summary = lines.find((l) => l.kind === "summary");
        expect(summary, stderr).toBeDefined();
        expect(code, stderr).toBe(0);
        expect(summary!.devices).toMatchObject({ wanted: DEVICES, started: DEVICES, failedToStart: 0, identified: DEVICES, polled: DEVICES, reported: DEVICES });
        expect(summary!.errorsByCode).toEqual({});
        expect(summary!.requestsPerSecond).toBeGreaterThan(0);
        // Each device's own identity: 200 distinct clients reported and sent their capabilities.
        expect(installed()).toBe(DEVICES);
        expect(new Set(wfm.capabilities().map((c) => c.clientId)).size).toBe(DEVICES);
        if (profile === "rc3") expect(wfm.capabilities().every((c) => c.clientId.startsWith("spiffe://"))).toBe(true);
        // The per-route figures: polls, reports and package pulls, with percentiles.
        const routes = new Map(summary!.routes.map((r) => [r.route, r]));
        const poll = profile === "rc3" ? "GET /api/v1/deployments" : "GET /api/v1/clients/{clientId}/deployments";
        expect(routes.get(poll)!.count).toBeGreaterThanOrEqual(DEVICES);
        expect(routes.get(poll)!.p99Ms).toBeGreaterThanOrEqual(routes.get(poll)!.p50Ms);
        const report = [...routes.keys()].find((r) => r.startsWith("POST ") && r.endsWith("/status"))!;
        expect(summary!.reportsDelivered).toBe(Object.entries(routes.get(report)!.outcomes).filter(([s]) => s.startsWith("2")).reduce((n, [, c]) => n + c, 0));
        expect(summary!.reportsDelivered).toBeGreaterThanOrEqual(DEVICES * 3); // pending, installing, installed
        expect([...routes.keys()].some((r) => r.includes("/v2/") || r.includes("/packages/"))).toBe(true);
        expect(summary!.memory.perDeviceKiB).not.toBeNull();
      } finally {
        wfm.close();
      }
    },
    180_000,
  );
});

test("simulate: a failure rate of 1 fails every apply, and the errors are counted by their code", async () => {
  const { wfm, root } = await wfmFor("v1");
  try {
    const failed = () => new Set(wfm.reports().filter((r) => (r.body as { status: { state: string } }).status.state === "failed").map((r) => r.clientId)).size;
    const { lines, code } = await simulate(
      ["--devices", "10", "--wfm", wfm.url, "--profile", "v1", "--interval", "1s", "--ramp", "0s", "--failure-rate", "1", "--work-dir", join(root, "sim")],
      () => failed() === 10,
      60_000,
    );
    const summary = lines.find((l) => l.kind === "summary")!;
    expect(code).toBe(0);
    expect(failed()).toBe(10);
    expect(summary.errorsByCode.COMPONENT_APPLY_FAILED).toBeGreaterThanOrEqual(10);
  } finally {
    wfm.close();
  }
}, 90_000);

test("simulate --svids: rc3 devices take their SVIDs from a folder (one subfolder each, as issue-svid writes them)", async () => {
  const { wfm, root } = await wfmFor("rc3");
  try {
    const identity = await loadOrCreateRc3Identity(join(root, "wfm-state"));
    for (const name of ["gw-a", "gw-b", "gw-c"]) await issueClientFiles(identity, name, join(root, "svids", name));
    mkdirSync(join(root, "svids", "not-an-svid")); // a subfolder without the three files is passed over
    const { lines, code } = await simulate(["--devices", "3", "--wfm", wfm.url, "--interval", "1s", "--ramp", "0s", "--svids", join(root, "svids")], (s) => s.devices.reported === 3, 60_000);
    expect(code).toBe(0);
    expect(lines.find((l) => l.kind === "summary")!.devices).toMatchObject({ started: 3, identified: 3, reported: 3 });
    expect(new Set(wfm.reports().map((r) => r.clientId.split("/").pop()))).toEqual(new Set(["gw-a", "gw-b", "gw-c"]));
  } finally {
    wfm.close();
  }
}, 90_000);

test("simulate --svids: a folder with fewer SVIDs than devices is refused before any device starts, naming the count", async () => {
  const dir = mkdtempSync(join(tmpdir(), "svids-"));
  roots.push(dir);
  const proc = Bun.spawn([process.execPath, CLI, "simulate", "--devices", "2", "--wfm", "https://127.0.0.1:1", "--svids", dir], { stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(1);
  expect(await new Response(proc.stderr).text()).toContain("2 devices need 2 subfolders with svid.pem, svid-key.pem and bundle.pem; found 0");
});

test("simulate: bad flags are usage errors naming the flag; nothing starts", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "simulate", "--devices", "0", "--wfm", "https://127.0.0.1:1"], { stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("--devices 0");
});
