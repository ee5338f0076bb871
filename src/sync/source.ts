/**
 * The desired-state source seam: what the Agent polls. Two sources implement it:
 * the WFM's REST API (DesiredStateSync, desired-state-sync.ts) and a Git
 * repository (src/gitops/). Either one computes a verified DesiredSet and hands
 * it to Reconciler.reconcile, then commits its version only after every step ran
 * (INV-SYNC-1). The planner, the reconciler, the journal, the runtime adapters and
 * the local API never learn which source is in use.
 */
import type { LastPlan, Reconciler, StepOutcome } from "../reconcile/reconciler.ts";
import type { RetryBackoff } from "../reconcile/retry-backoff.ts";
import type { Logger } from "../log.ts";
import type { StateStore } from "../store/state-store.ts";
import type { PollOutcome } from "./desired-state-sync.ts";
import type { AppliedDeployment } from "../model/applied.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import { fromStore } from "./verify-desired.ts";

export type { PollOutcome };

export interface DesiredStateSource {
  /** Asks the source once and reconciles what is new. Never throws. */
  poll(signal: AbortSignal): Promise<PollOutcome>;
  /** Reconciles towards the stored desired state alone (boot, drift, retries): needs no source. */
  reconcileStored(trigger: string, signal: AbortSignal, observe: boolean): Promise<StepOutcome[]>;
  /** What the last reconcile decided and why (for the local API). */
  readonly lastPlan: LastPlan | undefined;
  /** When each failing deployment is tried again (for the local API). */
  readonly backoff: RetryBackoff;
}

/**
 * The stored desired state as one pass: every wanted deployment re-verified
 * against its digest, each retried under the version it arrived with (the last
 * version may not have been committed when the agent died). Writes nothing when
 * there is nothing to do. Shared by every source.
 */
export function reconcileFromStore(
  store: StateStore,
  reconciler: Reconciler,
  trigger: string,
  signal: AbortSignal,
  observe: boolean,
  fallbackVersion: bigint,
  read: (row: AppliedDeployment) => DesiredDeployment = fromStore,
): Promise<StepOutcome[]> {
  const rows = store.listDeployments();
  const desired = new Map(rows.filter((r) => r.wanted).map((r) => [r.id, read(r)]));
  const versions = new Map(rows.map((r) => [r.id, BigInt(r.manifestVersion)]));
  return reconciler.reconcile({ byId: desired, manifestVersionOf: (id) => versions.get(id) ?? fallbackVersion }, trigger, signal, observe);
}

/** What the Agent hands a source it builds: the store, the reconciler (its one instance), the log. */
export interface SourceParts {
  store: StateStore;
  reconciler: Reconciler;
  log: Logger;
}

/** How the composition root chooses a source other than the WFM's REST API (src/bootstrap). */
export type SourceFactory = (parts: SourceParts) => DesiredStateSource;
