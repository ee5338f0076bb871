/**
 * Issue 16 item 4: `margo-agent status` with the agent down reported "last
 * wrote its state 0s ago": the time of its own read-only open of the database
 * (which creates an empty -wal and touches -shm). It shows the agent's last
 * write, however often it is run.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, deploymentYaml, type Field, startAgent, startField, stopAgent, stopField, waitForState, writePackage } from "./harness.ts";

let f: Field;
beforeAll(async () => {
  f = await startField({ runtime: "simulated" });
  writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
  writeFileSync(join(f.wfmDir, "app.yaml"), deploymentYaml("offline-app"));
  startAgent(f);
  await waitForState(f, "offline-app", "installed");
  expect(await stopAgent(f)).toBe(0);
}, 60_000);
afterAll(() => stopField(f));

test("the stored state's last write is the agent's, not the command's own open", async () => {
  // The agent's last write, two hours ago.
  const then = new Date(Date.now() - 2 * 3600_000);
  utimesSync(join(f.dataDir, "state.db"), then, then);
  for (let run = 0; run < 2; run++) {
    const r = await cli(f, "status", "-o", "json");
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(out.agentRunning).toBe(false);
    expect(Math.abs(Date.parse(out.stored.lastWriteAt) - then.getTime())).toBeLessThan(1000);
  }
  const text = await cli(f, "status");
  expect(text.stdout).toContain("It last wrote its state 2h ago");
}, 30_000);
