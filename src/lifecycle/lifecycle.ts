/**
 * The deployment lifecycle: the one owner of every state transition of a
 * deployment and of the report that transition produces. Pure: from the stored
 * record and an event, the next record and its report, or nothing when the
 * event changes nothing (a resumed step repeating the snapshot it died in).
 * The store writes a Change in one transaction (docs/architecture.md,
 * INV-JOURNAL-1); the executors in src/reconcile/ only say what happened.
 *
 * The rules (docs/architecture.md, "Lifecycle"):
 * - accepted  → pending: every component pending; attempts reset; the WFM
 *   learns at once what the device took on.
 * - progress  → installing (or whatever the components add up to).
 * - installed → installed: this version becomes the last known good; attempts reset.
 * - failed    → failed, with the deployment-level error; attempts kept (backoff).
 * - removing  → removing: the record is no longer wanted.
 * - removal-failed → failed, still not wanted (retried as a removal, after a backoff that grows with its attempts).
 * - removed   → the record is gone; its last report stays in the journal until delivered.
 * - deferred  → pending, with the reason (UPDATE_DEFERRED): a workload's update
 *   lock holds back an update or removal; the components keep what they run.
 *   A deferred removal is no longer wanted, so a later pass removes it.
 */
import type { AppliedDeployment } from "../model/applied.ts";
import { type ComponentStatus, type DeploymentState, overallState, sameStatus, type StatusError } from "../model/states.ts";
import { buildStatusManifest, type StatusFormat } from "../protocol/status-manifest.ts";

/** Which version of which deployment an event is about. */
export interface Subject {
  id: string;
  name: string;
  digest: string;
  yaml: string;
  manifestVersion: bigint;
}

export type LifecycleEvent =
  | { kind: "accepted"; components: readonly string[] }
  | { kind: "progress"; components: readonly ComponentStatus[]; attempts: number }
  | { kind: "installed"; components: readonly ComponentStatus[] }
  | { kind: "failed"; components: readonly ComponentStatus[]; error: StatusError; attempts: number }
  | { kind: "removing" }
  | { kind: "removal-failed"; components: readonly ComponentStatus[]; error: StatusError }
  | { kind: "deferred"; error: StatusError; removal: boolean }
  | { kind: "removed" };

/** The stored record without the time of the change (the store stamps it). */
export type NextRecord = Omit<AppliedDeployment, "sinceMs">;

export interface Change {
  deploymentId: string;
  /** The record after the change; null when the deployment is gone. */
  next: NextRecord | null;
  /** The state the report carries. */
  state: DeploymentState | "removed";
  /**
   * The DeploymentStatusManifest body, serialised once, exactly as it will be sent.
   * Absent when only the attempt count moved (a retry that failed exactly as
   * before): the count drives the backoff, the WFM has nothing new to learn.
   */
  report?: string;
  error?: StatusError;
}

/** The attempt number of a step: retries and repairs count up, anything new starts at 0. */
export function attemptOf(previous: AppliedDeployment | undefined, action: string): number {
  return action === "retry" || action === "repair" ? (previous?.attempts ?? 0) + 1 : 0;
}

/**
 * `format` is the profile's frame for the report (docs/protocol.md §6): v1's
 * apiVersion/kind envelope by default, rc3's bare body with the deviceId.
 */
export function transition(previous: AppliedDeployment | undefined, subject: Subject, event: LifecycleEvent, format?: StatusFormat): Change | undefined {
  if (event.kind === "removed") {
    const components = (previous?.components ?? []).map((c) => ({ name: c.name, state: "removed" as const }));
    return {
      deploymentId: subject.id,
      next: null,
      state: "removed",
      report: buildStatusManifest({ deploymentId: subject.id, manifestVersion: subject.manifestVersion, components, state: "removed" }, format),
    };
  }
  const { components, state, error, wanted, attempts, good } = rulesFor(previous, event);
  if (previous && !good && previous.digest === subject.digest && previous.state === state && sameStatus(previous.components, components) && previous.error?.message === error?.message && previous.wanted === wanted) {
    if (previous.attempts === attempts) return undefined;
    const { sinceMs: _since, ...kept } = previous;
    return { deploymentId: subject.id, next: { ...kept, attempts }, state, error };
  }
  const next: NextRecord = {
    id: subject.id,
    name: subject.name,
    digest: subject.digest,
    yaml: subject.yaml,
    state,
    components,
    error,
    manifestVersion: subject.manifestVersion.toString(),
    goodDigest: good ? subject.digest : previous?.goodDigest,
    goodYaml: good ? subject.yaml : previous?.goodYaml,
    attempts,
    wanted,
  };
  return {
    deploymentId: subject.id,
    next,
    state,
    error,
    report: buildStatusManifest({ deploymentId: subject.id, manifestVersion: subject.manifestVersion, components, state, error }, format),
  };
}

interface Outcome {
  components: ComponentStatus[];
  state: DeploymentState;
  error?: StatusError;
  wanted: boolean;
  attempts: number;
  /** This version becomes the last known good. */
  good: boolean;
}

function rulesFor(previous: AppliedDeployment | undefined, event: Exclude<LifecycleEvent, { kind: "removed" }>): Outcome {
  switch (event.kind) {
    case "accepted":
      return { components: event.components.map((name) => ({ name, state: "pending" })), state: "pending", wanted: true, attempts: 0, good: false };
    case "progress": {
      const components = [...event.components];
      return { components, state: overallState(components), wanted: true, attempts: event.attempts, good: false };
    }
    case "installed":
      return { components: [...event.components], state: "installed", wanted: true, attempts: 0, good: true };
    case "failed":
      return { components: [...event.components], state: "failed", error: event.error, wanted: true, attempts: event.attempts, good: false };
    case "removing":
      return { components: (previous?.components ?? []).map((c) => ({ name: c.name, state: "removing" })), state: "removing", wanted: false, attempts: previous?.attempts ?? 0, good: false };
    case "removal-failed":
      // Each failed removal counts: the retry backoff grows as it does for installs.
      return { components: [...event.components], state: "failed", error: event.error, wanted: false, attempts: (previous?.attempts ?? 0) + 1, good: false };
    case "deferred":
      return { components: [...(previous?.components ?? [])], state: "pending", error: event.error, wanted: !event.removal && (previous?.wanted ?? true), attempts: previous?.attempts ?? 0, good: false };
  }
}
