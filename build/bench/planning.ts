/**
 * Planning cost, in this process (the same JavaScriptCore the executable
 * embeds): the pure planner over 500 deployments, and the parse of a
 * 500-deployment state manifest followed by the plan, as a poll does.
 */
import { parseManifest } from "../../src/protocol/manifest.ts";
import { type AppliedEntry, type DesiredEntry, planReconcile } from "../../src/reconcile/plan.ts";
import type { DeploymentObservation } from "../../runtimes/types.ts";

const hex64 = (n: number, salt: string) => (salt + n.toString(16)).padStart(64, "0").slice(-64);

export interface PlanningFixture {
  desired: DesiredEntry[];
  applied: AppliedEntry[];
  observed: DeploymentObservation[];
  manifestBytes: Uint8Array;
}

/**
 * A device with `n` deployments of two components each, and a new desired
 * state in which 1% changed, 1% are new and 1% are gone: mostly "keep", as on
 * a real fleet, with every other action present.
 */
export function planningFixture(n: number): PlanningFixture {
  const changed = Math.max(1, Math.round(n / 100));
  const id = (i: number) => `bench-plan-${i.toString().padStart(5, "0")}-${crypto.randomUUID()}`;
  const ids = Array.from({ length: n + changed }, (_, i) => id(i));
  const applied: AppliedEntry[] = ids.slice(0, n).map((deploymentId, i) => ({
    deploymentId,
    digest: `sha256:${hex64(i, "a")}`,
    state: "installed",
    componentNames: ["web", "worker"],
  }));
  // Drop the first `changed`, change the next `changed`, add `changed` new ones.
  const desired: DesiredEntry[] = ids.slice(changed).map((deploymentId, j) => {
    const i = j + changed;
    return { deploymentId, digest: `sha256:${hex64(i, i < 2 * changed || i >= n ? "b" : "a")}` };
  });
  const observed: DeploymentObservation[] = applied.map((a) => ({
    deploymentId: a.deploymentId,
    components: a.componentNames.map((name) => ({ name, state: "running" as const, digest: a.digest })),
  }));
  const manifest = {
    manifestVersion: 42,
    bundle: { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: `sha256:${hex64(7, "c")}`, sizeBytes: 123_456, url: "/api/v1/clients/bench/bundles/sha256:x" },
    deployments: desired.map((d) => ({ deploymentId: d.deploymentId, digest: d.digest, sizeBytes: 1500, url: `/api/v1/clients/bench/deployments/${d.deploymentId}/${d.digest}` })),
  };
  return { desired, applied, observed, manifestBytes: new TextEncoder().encode(JSON.stringify(manifest)) };
}

/** Mean milliseconds per call of `fn` over `runs` calls, after `warmup` untimed ones. */
export function meanMs(fn: () => unknown, runs: number, warmup = Math.min(50, runs)): number {
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += fn() ? 1 : 0;
  const started = performance.now();
  for (let i = 0; i < runs; i++) sink += fn() ? 1 : 0;
  const ms = (performance.now() - started) / runs;
  if (sink < 0) console.log(sink); // keeps the calls observable
  return ms;
}

export interface PlanningFigures {
  deployments: number;
  runs: number;
  /** planReconcile alone, as after a new manifest (no engine observations). */
  planMs: number;
  /** planReconcile with engine observations of every component (boot and drift checks). */
  planObservedMs: number;
  /** parseManifest of the state manifest, then planReconcile. */
  parsePlanMs: number;
  manifestBytes: number;
}

export function measurePlanning(n: number, runs: number): PlanningFigures {
  const f = planningFixture(n);
  const planMs = meanMs(() => planReconcile({ desired: f.desired, applied: f.applied }), runs);
  const planObservedMs = meanMs(() => planReconcile({ desired: f.desired, applied: f.applied, observed: f.observed }), runs);
  const parsePlanMs = meanMs(() => {
    const m = parseManifest(f.manifestBytes);
    return planReconcile({ desired: m.deployments.map((d) => ({ deploymentId: d.deploymentId, digest: d.digest })), applied: f.applied });
  }, runs);
  // The fixture must exercise every action, or the figure measures an easier case than a real update.
  const actions = new Set(planReconcile({ desired: f.desired, applied: f.applied }).map((s) => s.action));
  for (const a of ["add", "update", "remove", "keep"]) if (!actions.has(a as never)) throw new Error(`planning fixture produced no "${a}" step`);
  return { deployments: n, runs, planMs, planObservedMs, parsePlanMs, manifestBytes: f.manifestBytes.length };
}
