/**
 * Issue 4's outage test: 50 deployments, the WFM's status endpoint down
 * (connections dropped without an answer, then 503 with Retry-After), the
 * desired state changing meanwhile, and the agent SIGKILLed at random moments
 * and restarted. When the WFM comes back it must have every transition of every
 * deployment, in order, and the final state of each must be right.
 *
 * Invariants held here (docs/architecture.md): INV-JOURNAL-2, INV-RECONCILE-2.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertValid, assertValidRc3 } from "../../support/openapi.ts";
import { depId, type Fleet, killAgent, random, received, recorded, sleep, startAgent, startFleet, stopAgent, waitFor, withDb, yamlFor } from "./harness.ts";

const N = 50;
const fleets: Fleet[] = [];
afterAll(async () => {
  for (const fleet of fleets) {
    await stopAgent(fleet);
    await fleet.wfm.stop();
  }
});

for (const profile of ["v1", "rc3"] as const) test(`${profile}: every transition of 50 deployments reaches the WFM in order across an outage and SIGKILLs`, async () => {
  const f = await startFleet(N, { status: "down" }, profile);
  fleets.push(f);
  startAgent(f);
  await sleep(random(300, 900));
  for (let k = 0; k < 3; k++) {
    await killAgent(f);
    startAgent(f);
    await sleep(random(200, 1200));
  }
  // The desired state changes during the outage: 20 updated, 10 removed.
  for (let i = 0; i < 20; i++) writeFileSync(join(f.dir, `${depId(i)}.yaml`), yamlFor(i, "v2", profile));
  for (let i = 40; i < N; i++) rmSync(join(f.dir, `${depId(i)}.yaml`));
  f.wfm.setFaults({ status: { code: 503, retryAfter: 1 } });
  for (let k = 0; k < 3; k++) {
    await sleep(random(200, 1500));
    await killAgent(f);
    startAgent(f);
  }
  await sleep(1000);
  f.wfm.setFaults({ status: "ok" });

  const expected = (id: string, i: number) => (i >= 40 ? "removed" : "installed");
  // A deployment removed from the desired state before the agent ever recorded
  // it (killed before the manifest's pending reports were written) has nothing to report.
  const neverSeen = (id: string, i: number) => i >= 40 && !withDb(f, (db) => db.query("SELECT 1 FROM history WHERE deployment_id = ?").get(id));
  await waitFor(
    "the WFM to see the final state of every deployment and the journal to drain",
    () => {
      const { byDeployment } = received(f);
      for (let i = 0; i < N; i++) {
        const list = byDeployment.get(depId(i));
        if (list?.[list.length - 1]?.state !== expected(depId(i), i) && !(list === undefined && neverSeen(depId(i), i))) return false;
      }
      return withDb(f, (db) => (db.query("SELECT COUNT(*) AS n FROM journal WHERE status = 'pending'").get() as { n: number }).n === 0);
    },
    90_000,
    () => {
      const { byDeployment } = received(f);
      const wrong = Array.from({ length: N }, (_, i) => depId(i)).filter((id, i) => byDeployment.get(id)?.at(-1)?.state !== expected(id, i) && !(byDeployment.get(id) === undefined && neverSeen(id, i)));
      const journal = withDb(f, (db) => db.query("SELECT status, COUNT(*) AS n FROM journal GROUP BY status").all());
      return `dir ${f.dataDir}; deployments not in their final state at the WFM: ${wrong.join(", ")}; journal ${JSON.stringify(journal)}`;
    },
  );
  await stopAgent(f);

  const { byDeployment, redeliveries } = received(f);
  const history = recorded(f);
  for (let i = 0; i < N; i++) {
    const id = depId(i);
    // In order and complete: what the WFM got (re-deliveries folded) is exactly what the agent recorded.
    expect({ id, states: (byDeployment.get(id) ?? []).map((r) => r.state) }).toEqual({ id, states: history.get(id) ?? [] });
    if (i < 40) expect(byDeployment.get(id)).toBeDefined();
    if (i < 20) expect(JSON.parse(byDeployment.get(id)!.at(-1)!.body).adoptedManifestVersion).toBeGreaterThanOrEqual(2);
  }
  // Every body the WFM received is a valid DeploymentStatusManifest of its profile's OpenAPI, and so are the capabilities.
  const valid = profile === "rc3" ? assertValidRc3 : assertValid;
  for (const r of f.wfm.reports()) valid("DeploymentStatusManifest", r.body);
  for (const c of f.wfm.capabilities()) valid("DeviceCapabilitiesManifest", c.body);
  if (profile === "rc3") for (const r of f.wfm.reports()) expect(Object.keys(r.body as object)).not.toContain("apiVersion");
  expect(f.wfm.capabilities().length).toBeGreaterThan(0);
  // Re-delivery happens only when a kill interrupted an acknowledgement: at most one batch per kill.
  expect(redeliveries).toBeLessThanOrEqual(f.kills * 32);
  // The final state is right on the (simulated) engine too.
  const engine = JSON.parse(await Bun.file(join(f.dataDir, "simulated-engine.json")).text()) as { deploymentId: string; env: Record<string, string> }[];
  expect(engine.map((c) => c.deploymentId).sort()).toEqual(Array.from({ length: 40 }, (_, i) => depId(i)));
  for (const c of engine) expect(c.env.VALUE).toBe(Number(c.deploymentId.slice(4)) < 20 ? "v2" : "v1");
  console.log(`outage test (${profile}): ${f.kills} SIGKILLs, ${f.wfm.reports().length} reports received, ${redeliveries} re-deliveries after interrupted acknowledgements`);
}, 150_000);
