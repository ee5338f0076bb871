/**
 * Issue 16 item 13: `margo-agent restart DEPLOYMENT [COMPONENT]` is a local
 * lifecycle action, token-gated in the local API, and reported to the WFM like
 * any other change (installing → installed). Simulated runtime here; the real
 * restart of Podman containers is in logs-and-restart-podman.test.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, deploymentYaml, type Field, startAgent, startField, statesOf, stopField, waitFor, waitForState, writePackage } from "./harness.ts";

const TOKEN = "restart-token-0123456789";
let f: Field;

const restarts = (id: string, component: string) =>
  (JSON.parse(readFileSync(join(f.dataDir, "simulated-engine.json"), "utf8")) as { deploymentId: string; component: string; restarts?: number }[]).find((c) => c.deploymentId === id && c.component === component)?.restarts ?? 0;

beforeAll(async () => {
  f = await startField({ runtime: "simulated", token: TOKEN });
  writePackage(f, "web", "localhost/margo-test/busybox:1", "sleep 3600");
  writePackage(f, "worker", "localhost/margo-test/busybox:1", "sleep 3600");
  writeFileSync(join(f.wfmDir, "two.yaml"), deploymentYaml("two-parts", { components: ["web", "worker"] }));
  startAgent(f);
  await waitForState(f, "two-parts", "installed");
}, 60_000);
afterAll(() => stopField(f));

test("restart re-runs every component and the WFM hears installing → installed", async () => {
  const before = statesOf(f, "two-parts").length;
  const r = await cli(f, "restart", "two-parts");
  expect(r.stderr).toBe("");
  expect(r.stdout).toMatch(/^two-parts restarted: installed in \d+ ms/);
  expect(r.code).toBe(0);
  expect([restarts("two-parts", "web"), restarts("two-parts", "worker")]).toEqual([1, 1]);
  await waitFor("the restart's reports at the WFM", () => statesOf(f, "two-parts").length >= before + 3, 20_000);
  const after = statesOf(f, "two-parts").slice(before).map((s) => s.state);
  expect(after).toEqual(["installing", "installing", "installed"]);
}, 30_000);

test("restart of one component (by a prefix of the id) restarts only it", async () => {
  const r = await cli(f, "restart", "two-p", "worker");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("two-parts/worker restarted");
  expect([restarts("two-parts", "web"), restarts("two-parts", "worker")]).toEqual([1, 2]);
}, 30_000);

test("unknown deployments and components are refused with a clear message", async () => {
  const none = await cli(f, "restart", "nope");
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('no deployment with id "nope"');
  const part = await cli(f, "restart", "two-parts", "db");
  expect(part.code).toBe(1);
  expect(part.stderr).toContain('deployment two-parts has no component "db" (it has web, worker)');
}, 30_000);

test("the API action needs the token, even on the local socket", async () => {
  const url = "http://localhost/v1/deployments/two-parts/restart";
  const anonymous = await fetch(url, { method: "POST", unix: f.socket } as RequestInit);
  expect(anonymous.status).toBe(401);
  expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("API_UNAUTHORIZED");
  const withToken = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, unix: f.socket } as RequestInit);
  expect(withToken.status).toBe(200);
  expect(await withToken.json()).toMatchObject({ deploymentId: "two-parts", component: null, state: "installed", error: null });
}, 30_000);

test("logs on the simulated runtime says it has none (issue 16 item 12)", async () => {
  const r = await cli(f, "logs", "two-parts");
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("409 LOGS_UNAVAILABLE the simulated runtime runs no containers, so it has no logs to show");
}, 30_000);
