/**
 * One engine-neutral row per container the agent owns, parsed from ONE list
 * call per cycle (`docker ps` / `podman ps`), and the grouping of those rows into
 * the observations the reconciler reads.
 */
import type { ComponentObservation, DeploymentObservation, ObservedState } from "../types.ts";
import { LABEL } from "./naming.ts";

export interface ContainerRow {
  id: string;
  labels: Record<string, string>;
  /** Engine state: created, running, paused, restarting, exited, dead, ... */
  state: string;
  health?: "starting" | "healthy" | "unhealthy";
  exitCode?: number;
  /** When the current run started (engines that report it): a change means the container restarted. */
  startedAt?: number;
}

/** The state of one container as the reconciler sees it. */
export function containerState(row: ContainerRow): ObservedState {
  if (row.state === "running") {
    if (row.health === "unhealthy") return "unhealthy";
    if (row.health === "starting") return "starting";
    return "running";
  }
  if ((row.state === "exited" || row.state === "stopped") && row.exitCode === 0 && row.labels[LABEL.job] === "true") return "completed";
  if (row.state === "exited" || row.state === "dead" || row.state === "stopped") return "exited";
  // A crash loop: the container exited and the engine is restarting it. Seen as exited, with its code.
  if (row.state === "restarting" && row.exitCode !== undefined && row.exitCode !== 0) return "exited";
  // created, restarting, paused, configured, initialized: on the way up (or held).
  return "starting";
}

/** Worst state first: one bad container makes the component bad. */
const SEVERITY: Record<ObservedState, number> = { exited: 5, unhealthy: 4, missing: 3, starting: 2, running: 1, completed: 0 };

/** Groups owned containers by deployment and component labels; rows without them are ignored. */
export function groupObservations(rows: ContainerRow[]): DeploymentObservation[] {
  const byDeployment = new Map<string, Map<string, ComponentObservation>>();
  for (const row of rows) {
    const deploymentId = row.labels[LABEL.deploymentId];
    const component = row.labels[LABEL.component];
    if (!deploymentId || !component) continue;
    let comps = byDeployment.get(deploymentId);
    if (!comps) byDeployment.set(deploymentId, (comps = new Map()));
    const state = containerState(row);
    const service = row.labels[LABEL.composeService] ?? row.id.slice(0, 12);
    const prev = comps.get(component);
    const obs: ComponentObservation = {
      name: component,
      state,
      digest: row.labels[LABEL.digest],
      detail: `${service}: ${describe(row)}`,
    };
    if (state === "exited" && row.exitCode !== undefined) obs.exitCode = row.exitCode;
    if (!prev) {
      comps.set(component, obs);
    } else if (SEVERITY[state] > SEVERITY[prev.state]) {
      comps.set(component, { ...obs, digest: prev.digest ?? obs.digest });
    }
  }
  return [...byDeployment.entries()]
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([deploymentId, comps]) => ({
      deploymentId,
      components: [...comps.values()].sort((a, b) => byCodeUnit(a.name, b.name)),
    }));
}

/** A stable order for ids and names (ASCII), without localeCompare: that loads ICU's collator on the first drift check. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function describe(row: ContainerRow): string {
  if (row.state === "exited") return `exited with code ${row.exitCode ?? "unknown"}`;
  if (row.state === "restarting") return `crash loop: restarting after exit code ${row.exitCode ?? "unknown"}`;
  return row.health ? `${row.state} (${row.health})` : row.state;
}

/**
 * Health from a `Status` column ("Up 5 seconds (healthy)", "Up 2s (health: starting)",
 * podman's "Up 3 seconds ago (starting)").
 */
export function healthFromStatus(status: string): ContainerRow["health"] {
  const m = /\((healthy|unhealthy|health: starting|starting)\)/.exec(status);
  if (!m) return undefined;
  if (m[1] === "healthy") return "healthy";
  if (m[1] === "unhealthy") return "unhealthy";
  return "starting";
}

/** Exit code from a `Status` column ("Exited (137) 3 seconds ago"). */
export function exitCodeFromStatus(status: string): number | undefined {
  const m = /^(?:Exited|Restarting) \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : undefined;
}
