/**
 * Issue 4's crash test: the agent is SIGKILLed 30+ times at random moments
 * while it reconciles and delivers. After every kill the database opens,
 * passes PRAGMA integrity_check, and its invariants hold (each state change
 * recorded together with its report). At the end every transition has reached
 * the WFM in order.
 *
 * Invariants held here (docs/architecture.md): INV-JOURNAL-1, INV-JOURNAL-2.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { overallState } from "../../../src/model/states.ts";
import { depId, type Fleet, killAgent, random, received, recorded, sleep, startAgent, startFleet, stopAgent, waitFor, withDb, yamlFor } from "./harness.ts";

const N = 20;
const KILLS = 32;
const fleets: Fleet[] = [];
afterAll(async () => {
  for (const fleet of fleets) {
    await stopAgent(fleet);
    await fleet.wfm.stop();
  }
});

function checkInvariants(f: Fleet): void {
  // Killed before it created its database: nothing to check (and nothing to lose) yet.
  if (!existsSync(join(f.dataDir, "state.db"))) return;
  withDb(
    f,
    (db) => {
      expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
      // Killed after it created the file but before its first migration committed: no schema at all
      // yet (migrations are transactions), so nothing recorded and nothing to lose.
      if ((db.query("PRAGMA user_version").get() as { user_version: number }).user_version === 0) {
        expect(db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([]);
        return;
      }
      const rows = db.query("SELECT id, state, components FROM deployments").all() as { id: string; state: string; components: string }[];
      for (const r of rows) {
        const components = JSON.parse(r.components);
        if (components.length) expect(overallState(components)).toBe(r.state as never);
        // The state change and its history entry were written together.
        const last = db.query("SELECT state FROM history WHERE deployment_id = ? ORDER BY seq DESC LIMIT 1").get(r.id) as { state: string } | null;
        expect(last?.state).toBe(r.state);
      }
      const reports = db.query("SELECT deployment_id AS id, state, body FROM journal ORDER BY seq").all() as { id: string; state: string; body: string }[];
      const newest = new Map<string, string>();
      for (const j of reports) {
        const body = JSON.parse(j.body);
        expect(body.deploymentId).toBe(j.id);
        expect(body.status.state).toBe(j.state);
        newest.set(j.id, j.state);
      }
      // The newest undelivered report of a deployment describes its current state.
      for (const [id, state] of newest) {
        const row = rows.find((r) => r.id === id);
        expect(row ? row.state : "removed").toBe(state);
      }
    },
    false,
  );
}

for (const profile of ["v1", "rc3"] as const) test(`${profile}: ${KILLS} SIGKILLs during reconcile and delivery leave a sound database and lose no report`, async () => {
  const f = await startFleet(N, { status: { code: 503, retryAfter: 1 } }, profile);
  fleets.push(f);
  // The parameter value last written for each deployment: convergence is the agent holding these.
  const latest = Array.from({ length: N }, () => "v1");
  const write = (i: number, value: string) => {
    writeFileSync(join(f.dir, `${depId(i)}.yaml`), yamlFor(i, value, profile));
    latest[i] = value;
  };
  for (let k = 0; k < KILLS; k++) {
    startAgent(f);
    // Keep it busy: the desired state changes and the WFM flaps between refusing and accepting.
    if (k % 4 === 1) for (let i = 0; i < N; i += 3) write(i, `k${k}`);
    if (k === 10) for (let i = N - 4; i < N; i++) rmSync(join(f.dir, `${depId(i)}.yaml`));
    if (k === 20) for (let i = N - 4; i < N; i++) write(i, "back");
    f.wfm.setFaults({ status: k % 3 === 0 ? "ok" : { code: 503, retryAfter: 1 } });
    await sleep(random(50, 700));
    await killAgent(f);
    checkInvariants(f);
  }
  f.wfm.setFaults({ status: "ok" });
  startAgent(f);
  await waitFor(
    "convergence",
    () => {
      const { byDeployment } = received(f);
      const done = Array.from({ length: N }, (_, i) => byDeployment.get(depId(i))?.at(-1)?.state === "installed").every(Boolean);
      // "installed" alone can be a stale version: a restart first finishes what it had stored (the
      // boot reconcile) and only then polls the latest desired state, which starts new transitions.
      return (
        done &&
        withDb(f, (db) => {
          const rows = db.query("SELECT id, yaml FROM deployments").all() as { id: string; yaml: string }[];
          const current = rows.length === N && rows.every((r) => r.yaml.includes(`value: "${latest[Number(r.id.slice(4))]}"`));
          return current && (db.query("SELECT COUNT(*) AS n FROM journal WHERE status = 'pending'").get() as { n: number }).n === 0;
        })
      );
    },
    90_000,
  );
  await stopAgent(f);
  checkInvariants(f);
  const { byDeployment, redeliveries } = received(f);
  const history = recorded(f);
  for (let i = 0; i < N; i++) {
    const id = depId(i);
    expect({ id, states: byDeployment.get(id)!.map((r) => r.state) }).toEqual({ id, states: history.get(id)! });
  }
  expect(redeliveries).toBeLessThanOrEqual(f.kills * 32);
  console.log(`kill loop (${profile}): ${f.kills} SIGKILLs, ${f.wfm.reports().length} reports received, ${redeliveries} re-deliveries after interrupted acknowledgements`);
}, 180_000);
