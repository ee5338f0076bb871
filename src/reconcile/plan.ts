/**
 * The reconcile planner: pure. From what the WFM wants and what the device has
 * applied (and, optionally, what the engine shows), work out the steps. The
 * reconciler applies them and plans again next cycle until nothing is left
 * (balena-supervisor's step loop, without the 1,000-line module).
 */
import type { DeploymentObservation } from "../../runtimes/types.ts";
import type { DeploymentState } from "../model/states.ts";

/** "restart" is never planned: it is an operator's local action (Reconciler.restart). */
export type StepAction = "add" | "update" | "remove" | "retry" | "repair" | "keep" | "restart";

export interface Step {
  action: StepAction;
  deploymentId: string;
  reason: string;
  fromDigest?: string;
  toDigest?: string;
  /** restart: only this component (all of them when absent). */
  component?: string;
}

export interface DesiredEntry {
  deploymentId: string;
  digest: string;
}

export interface AppliedEntry {
  deploymentId: string;
  digest: string;
  state: DeploymentState;
  componentNames: string[];
}

export interface PlanInput {
  desired: readonly DesiredEntry[];
  applied: readonly AppliedEntry[];
  /** When given, kept deployments whose containers are missing or stopped are repaired. */
  observed?: readonly DeploymentObservation[];
  /** Deployment ids whose retry time has not come yet (backoff). */
  notBefore?: ReadonlySet<string>;
}

const ORDER: Record<StepAction, number> = { remove: 0, update: 1, add: 2, retry: 3, repair: 4, restart: 5, keep: 6 };

function driftOf(entry: AppliedEntry, observed: ReadonlyMap<string, DeploymentObservation>): string | undefined {
  const obs = observed.get(entry.deploymentId);
  const problems: string[] = [];
  for (const name of entry.componentNames) {
    const c = obs?.components.find((x) => x.name === name);
    if (!c || c.state === "missing") problems.push(`${name} has no container`);
    else if (c.state === "exited") problems.push(`${name} exited${c.exitCode !== undefined ? ` with code ${c.exitCode}` : ""}`);
  }
  return problems.length ? problems.join(", ") : undefined;
}

export function planReconcile(input: PlanInput): Step[] {
  const applied = new Map(input.applied.map((a) => [a.deploymentId, a]));
  const desiredIds = new Set(input.desired.map((d) => d.deploymentId));
  const observed = new Map((input.observed ?? []).map((o) => [o.deploymentId, o]));
  const steps: Step[] = [];

  for (const a of input.applied) {
    if (!desiredIds.has(a.deploymentId) && a.state !== "removed") {
      // A removal that failed waits out its backoff like any failure: retried at every poll,
      // it would journal removing/failed each time (and failed reports are never compacted).
      if (a.state === "failed" && input.notBefore?.has(a.deploymentId)) steps.push({ action: "keep", deploymentId: a.deploymentId, reason: "removal failed; waiting for the retry backoff" });
      else steps.push({ action: "remove", deploymentId: a.deploymentId, reason: a.state === "failed" ? "removal failed earlier; trying again" : "no longer in the desired state", fromDigest: a.digest });
    }
  }
  for (const d of input.desired) {
    const a = applied.get(d.deploymentId);
    const waiting = input.notBefore?.has(d.deploymentId) ?? false;
    if (!a || a.state === "removed") {
      steps.push({ action: "add", deploymentId: d.deploymentId, reason: "new in the desired state", toDigest: d.digest });
    } else if (a.digest !== d.digest) {
      steps.push({ action: "update", deploymentId: d.deploymentId, reason: "its ApplicationDeployment changed", fromDigest: a.digest, toDigest: d.digest });
    } else if (a.state === "failed" || a.state === "pending" || a.state === "installing") {
      // pending/installing here means an earlier run was interrupted (crash, power cut).
      if (waiting) steps.push({ action: "keep", deploymentId: d.deploymentId, reason: `${a.state}; waiting for the retry backoff` });
      else steps.push({ action: "retry", deploymentId: d.deploymentId, reason: a.state === "failed" ? "failed earlier; trying again" : `interrupted while ${a.state}`, toDigest: d.digest });
    } else {
      const drift = input.observed ? driftOf(a, observed) : undefined;
      if (drift && !waiting) steps.push({ action: "repair", deploymentId: d.deploymentId, reason: `drift: ${drift}`, toDigest: d.digest });
      else steps.push({ action: "keep", deploymentId: d.deploymentId, reason: drift ? `drift (${drift}); waiting for the retry backoff` : "unchanged" });
    }
  }
  return steps.sort((x, y) => ORDER[x.action] - ORDER[y.action]);
}

/** Steps that change something (everything but keep). */
export function actionable(steps: readonly Step[]): Step[] {
  return steps.filter((s) => s.action !== "keep");
}
