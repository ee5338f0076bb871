import { afterAll, expect, test } from "bun:test";
import { agentStatusSource } from "../../../src/api/agent-source.ts";
import { transition } from "../../../src/lifecycle/lifecycle.ts";
import { makeAgent } from "../../support/agent-harness.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";

const wfm = startFakeWfm();
afterAll(() => wfm.stop());

test("inside a known downtime window the agent neither polls nor sends reports, logs no communication error, and says why", async () => {
  const h = makeAgent({ wfmUrl: wfm.url, sets: ["downtime.windows=[{start: '00:00', end: '00:00'}]", "downtime.timeZone=Europe/Berlin", "poll.interval=100ms"] });
  // A report waiting from before the window.
  h.agent.store.apply(transition(undefined, { id: "d", name: "d", digest: `sha256:${"0".repeat(64)}`, yaml: "x", manifestVersion: 1n }, { kind: "installed", components: [{ name: "web", state: "installed" }] })!);
  await h.agent.start();
  await Bun.sleep(600);
  expect(wfm.requests).toEqual([]);
  // The seeded row does not match its digest, so the boot reconcile reported it as tampered: that report waits too.
  expect(h.agent.store.getDeployment("d")?.error?.code).toBe("STORE_TAMPERED");
  expect(h.agent.journal.counts().pending).toBe(2);
  expect(h.logs().filter((l) => ["WFM_UNREACHABLE", "WFM_HTTP_ERROR"].includes(l.code as string))).toEqual([]);
  const status = await agentStatusSource(h.agent.readModel(), { config: h.config, executablePath: "/nonexistent" }).status();
  expect(status.downtimeWindow).toEqual({ reason: "known downtime window", days: [], start: "00:00", end: "00:00", timeZone: "Europe/Berlin" });
  await h.agent.stop();
});
