/**
 * The read model: what the local API and the CLI may know of a running agent.
 * An immutable snapshot of its in-memory state, read-only views of its store
 * and journal, and what they may ask of it: the engine's version, a sync now,
 * an operator's restart, the workloads' logs. They render this and never reach into the Agent itself
 * (docs/architecture.md, "Read model").
 */
import type { EngineInfo, LogOptions } from "../../runtimes/types.ts";
import type { IdentityView } from "./session.ts";
import type { Journal } from "../journal/journal.ts";
import type { SenderState } from "../journal/sender.ts";
import type { LastPlan, StepOutcome } from "../reconcile/reconciler.ts";
import type { communicationAllowed } from "../schedule/windows.ts";
import type { StateStore } from "../store/state-store.ts";
import type { PollOutcome } from "../sync/desired-state-sync.ts";
import type { ActivitySnapshot } from "./activity.ts";
import type { PullView } from "./pull-progress.ts";

export interface AgentSnapshot extends ActivitySnapshot {
  readonly startedAtMs: number;
  readonly runtimeName: string;
  /** WFM time minus device time (ms), from the last Date header. */
  readonly clockOffsetMs?: number;
  readonly lastPlan?: LastPlan;
  /** When each failing deployment is tried again. */
  readonly backoff: readonly { deploymentId: string; failures: number; retryInMs: number }[];
  readonly sender: Readonly<SenderState>;
  /** performance.now() of the WFM's last answer (any status). */
  readonly lastWfmAnswerMonoMs?: number;
  /** Downtime windows and polling periods in force now. */
  readonly communication: ReturnType<typeof communicationAllowed>;
  readonly clientId?: string;
  readonly identity?: IdentityView;
  /** Package pulls under way (bytes of total). */
  readonly pulls: readonly PullView[];
}

/** The store's reads only: what a view may call. */
export type StoreReader = Pick<StateStore, "listDeployments" | "getDeployment" | "history" | "lastManifestVersion" | "getMeta" | "hasUnsettled">;
export type JournalReader = Pick<Journal, "counts" | "list" | "pendingFor" | "compacted" | "hasPending">;

export interface AgentReadModel {
  snapshot(): AgentSnapshot;
  readonly store: StoreReader;
  readonly journal: JournalReader;
  engineInfo(): Promise<EngineInfo>;
  /** Polls now (operator request); resolves with the outcome. `force` overrides workloads' update locks. */
  syncNow(opts?: { force?: boolean }): Promise<PollOutcome>;
  /** Restarts a deployment's components (or one) through the reconciler and lifecycle, reported like any change. */
  restart(deploymentId: string, component: string | undefined, opts?: { force?: boolean }): Promise<StepOutcome>;
  /** The deployment's container output from the runtime; undefined when the runtime runs no containers. */
  logs?: (deploymentId: string, opts: LogOptions) => Promise<ReadableStream<Uint8Array>>;
}
