/**
 * Issue 16 item 6 (the agent's half): the dev WFM restarted with another state
 * (as a WFM restored from a backup would be) no longer knows the onboarded
 * client and answers 403 "unknown keyid" to every request. The agent used to
 * get 403 on every poll forever. Now it shows the refusal plainly (local API,
 * `margo-agent status`), keeps its reports, and after identity.reonboardAfter
 * onboards again and carries on with the restored WFM's desired state.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { cli, deploymentYaml, type Field, startAgent, startField, statesOf, stopAgent, stopField, waitFor, waitForState, writeConfig, writePackage } from "./harness.ts";

let f: Field;
let port: number;
const id = "forgotten";

function reconfigure(reonboardAfter: string): void {
  writeConfig({ config: f.config, wfmUrl: f.wfm.url, dataDir: f.dataDir, listen: `unix:${f.socket}`, runtime: "simulated", extra: [`identity: {reonboardAfter: ${reonboardAfter}}`] });
}

/** The clients the (restored) dev WFM knows. */
const clients = async (): Promise<{ clientId: string }[]> => (await fetch(`${f.wfm.url}/api/dev/clients`)).json() as never;

beforeAll(async () => {
  f = await startField({ runtime: "simulated" });
  port = f.wfm.port;
  writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
  writeFileSync(join(f.wfmDir, "app.yaml"), deploymentYaml(id));
  reconfigure("0");
  startAgent(f);
  await waitForState(f, id, "installed");
  // The WFM comes back from a "backup" without this client: same folder and address, empty state.
  await f.wfm.stop();
  f.wfm = await startDevWfm({ dir: f.wfmDir, log: silentLogger, listen: `127.0.0.1:${port}`, stateFile: join(f.root, "restored-state.json") });
}, 60_000);
afterAll(() => stopField(f));

test("the refusal is shown plainly, and with re-onboarding off the agent keeps its clientId", async () => {
  let status: { status: { identity: { refused: { clientId: string; status: number; detail: string; reonboardAt: string | null } | null } } } | undefined;
  const deadline = Date.now() + 30_000;
  while (!status?.status.identity.refused) {
    if (Date.now() > deadline) throw new Error(`no refusal shown: ${JSON.stringify(status)}`);
    status = JSON.parse((await cli(f, "status", "-o", "json")).stdout);
  }
  const refused = status.status.identity.refused;
  expect(refused.status).toBe(403);
  expect(refused.detail).toContain("unknown keyid");
  expect(refused.reonboardAt).toBeNull();
  const text = await cli(f, "status");
  expect(text.stdout).toMatch(new RegExp(`identity\\s+the WFM refuses clientId ${refused.clientId} since \\d+s ago \\(403: `));
  expect(await clients()).toEqual([]);
}, 60_000);

test("with identity.reonboardAfter the agent onboards again and the restored WFM hears from it", async () => {
  expect(await stopAgent(f)).toBe(0);
  reconfigure("1s");
  const agent = startAgent(f);
  await waitFor("onboarding again", () => agent.stdout().includes("onboarded again"), 30_000, () => agent.stdout().slice(-3000));
  expect(await clients()).toHaveLength(1);
  // It takes the restored WFM's desired state (its manifestVersion counts from 1 again: a new
  // client relationship, not a rollback), and a change there is applied and reported there.
  await waitFor("capabilities at the restored WFM", () => f.wfm.capabilities().length > 0, 30_000);
  writeFileSync(join(f.wfmDir, "app.yaml"), deploymentYaml(id, { value: "v2" }));
  await waitForState(f, id, "installed", 30_000);
  expect(statesOf(f, id).map((s) => s.state)).toEqual(["pending", "installing", "installed"]);
  const after = JSON.parse((await cli(f, "status", "-o", "json")).stdout);
  expect(after.status.identity.refused).toBeNull();
  expect(after.status.device.clientId).toBe((await clients())[0]!.clientId);
}, 60_000);
