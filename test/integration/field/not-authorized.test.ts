/**
 * Issue 16 item 6, the sender's half: a WFM that no longer knows this client
 * may answer a status report 403 with the Margo problem type `not-authorized`
 * and `retryable: false` (rc3: "the client relationship has been retired").
 * The report was parked for good (the park rule came first) and so lost once
 * the device was known again. It is kept, shown as an identity problem, and
 * delivered when the WFM accepts the client again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../../src/agent/agent.ts";
import { buildAgent, tempDir, testConfig } from "../api/agent-fixture.ts";
import { deploymentYaml, startTinyWfm, type TinyWfm } from "../api/tiny-wfm.ts";

let tmp: ReturnType<typeof tempDir>;
let wfm: TinyWfm;
let front: ReturnType<typeof Bun.serve>;
let refuse = true;
let agent: Agent;

beforeAll(async () => {
  tmp = tempDir("margo-not-authorized-");
  wfm = startTinyWfm([{ id: "dep-a", yaml: deploymentYaml("dep-a", "a") }]);
  // In front of the tiny WFM: status reports are refused as from a retired client while `refuse` holds.
  front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (refuse && req.method === "POST" && url.pathname.endsWith("/status")) {
        const problem = { type: "https://docs.margo.org/specification/problem-types#not-authorized", title: "Not Authorized", status: 403, detail: "the client relationship has been retired", retryable: false };
        return Response.json(problem, { status: 403, headers: { "content-type": "application/problem+json" } });
      }
      return fetch(`${wfm.url}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.method === "GET" ? undefined : await req.arrayBuffer() });
    },
  });
  agent = buildAgent(testConfig(tmp.dir, `http://127.0.0.1:${front.port}`));
  await agent.start();
  await agent.syncNow();
}, 30_000);
afterAll(async () => {
  await agent?.stop();
  front?.stop(true);
  await wfm?.stop();
  tmp?.remove();
});

test("a not-authorized report is kept (not parked), shown as an identity problem, and delivered later", async () => {
  const deadline = Date.now() + 20_000;
  while (agent.sender.state.identityProblem === undefined) {
    if (Date.now() > deadline) throw new Error(`no identity problem recorded: ${JSON.stringify(agent.sender.state)}`);
    await Bun.sleep(25);
  }
  expect(agent.sender.state.identityProblem).toContain("403 Not Authorized");
  expect(agent.sender.state.lastError?.code).toBe("IDENTITY_REJECTED");
  expect(agent.journal.counts().parked).toBe(0);
  expect(agent.journal.counts().pending).toBeGreaterThan(0);

  refuse = false;
  agent.sender.retryNow();
  const done = Date.now() + 20_000;
  while (agent.journal.counts().pending > 0) {
    if (Date.now() > done) throw new Error("reports not delivered once the WFM accepted the client again");
    await Bun.sleep(25);
  }
  expect(wfm.reports.map((r) => r.deploymentId)).toContain("dep-a");
  expect(agent.sender.state.identityProblem).toBeUndefined();
}, 60_000);
