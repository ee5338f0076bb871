/**
 * Issue 16 item 1: `margo-agent sync` while the agent is in a reconcile longer
 * than Bun's 10 s idle timeout. The local API used to drop the request
 * (ECONNRESET: "the agent is not running", exit 4) and Bun printed a non-JSON
 * `warn: Bun.serve() timed out …` line into the agent's log. Now the sync waits
 * for its outcome (or answers "still running" after --wait) and every line the
 * agent prints is JSON.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, deploymentYaml, type Field, nonJsonLines, startAgent, startField, stopAgent, stopField, waitFor, writePackage } from "./harness.ts";

for (const where of ["unix socket", "TCP"]) describe(`local API on a ${where}`, () => {
  let f: Field;
  beforeAll(async () => {
    f = await startField({ runtime: "simulated", tcp: where === "TCP" });
    writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
  });
  afterAll(() => stopField(f));

  test("a sync queued behind a 12 s reconcile gets its answer, and the agent's output stays JSON", async () => {
    // One component that takes 12 s to "apply": longer than Bun's idle timeout.
    const agent = startAgent(f, ["--simulated-delay", "12000"]);
    await waitFor("the local API", () => agent.stdout().includes("local API listening"), 30_000, () => agent.stdout() + agent.stderr());
    // The API listens before onboarding is done; a sync before it answers "not-onboarded" (seen on a busy machine).
    await waitFor("onboarding", () => agent.stdout().includes("onboarded: the WFM assigned clientId"), 30_000, () => agent.stdout() + agent.stderr());
    writeFileSync(join(f.wfmDir, "slow.yaml"), deploymentYaml("slow"));
    const sync = await cli(f, "sync");
    expect(sync.stderr).toBe("");
    expect(sync.stdout).toMatch(/^(applied|not-modified): /);
    expect(sync.code).toBe(0);

    // While the next slow reconcile runs, a short --wait answers "still running" and the sync goes on.
    writeFileSync(join(f.wfmDir, "slow.yaml"), deploymentYaml("slow", { value: "v2" }));
    const quick = await cli(f, "sync", "--wait", "1", "--json");
    expect(quick.code).toBe(0);
    expect(JSON.parse(quick.stdout)).toMatchObject({ outcome: "running" });

    expect(await stopAgent(f)).toBe(0);
    expect(nonJsonLines(agent)).toEqual([]);
  }, 120_000);
});
