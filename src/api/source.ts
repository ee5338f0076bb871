/**
 * What the local API shows, as an interface: the Agent adapter (agent-source.ts)
 * implements it for the running agent, tests and a future Deno build may
 * provide their own. Every view is plain JSON, documented in README.md; times
 * are ISO 8601 UTC strings, durations milliseconds unless the name says otherwise.
 */
export interface ErrorView {
  code: string;
  message: string;
}

export interface ComponentView {
  name: string;
  state: string;
  error: (ErrorView & { source?: string }) | null;
}

export interface DeploymentSummary {
  id: string;
  name: string;
  state: string;
  /** When the deployment entered this state. */
  since: string;
  error: (ErrorView & { source?: string }) | null;
  digest: string;
  manifestVersion: string;
  /** False once the WFM no longer lists it (its removal is under way or failed). */
  wanted: boolean;
  attempts: number;
  components: ComponentView[];
}

export interface ParameterView {
  name: string;
  /** The value, or "***" when the name or a pointer looks secret. */
  value: unknown;
  masked: boolean;
  targets: { pointer: string; components: string[] }[];
}

export interface DeploymentDetail extends DeploymentSummary {
  profileType: string | null;
  applicationId: string | null;
  lastKnownGoodDigest: string | null;
  /** Newest first. */
  history: { state: string; at: string; error: ErrorView | null }[];
  parameters: ParameterView[];
  /** Set when the stored YAML no longer parses (parameters then empty). */
  parseError: ErrorView | null;
  pendingReports: number;
  retry: BackoffView | null;
}

export interface BackoffView {
  deploymentId: string;
  failures: number;
  nextRetryAt: string;
  retryInMs: number;
}

export interface JournalEntryView {
  seq: number;
  deploymentId: string;
  /** The deployment state the report carries. */
  state: string;
  /** Where the report is: queued for delivery, or parked (the WFM refused it for good). */
  delivery: "queued" | "parked";
  attempts: number;
  lastError: string | null;
  /** When the change happened: within this boot from the monotonic clock and the WFM's clock offset, else the device's wall clock of then. */
  createdAt: string;
  createdAtBasis: "monotonic" | "wall";
  /** The device's wall clock when the report was journaled (may be wrong on devices without an RTC). */
  deviceClockAt: string;
  ageSeconds: number;
}

export interface JournalView {
  counts: { pending: number; parked: number; compacted: number };
  pending: JournalEntryView[];
  parked: JournalEntryView[];
}

export interface StepView {
  action: string;
  deploymentId: string;
  reason: string;
  fromDigest: string | null;
  toDigest: string | null;
}

export interface StatusView {
  agent: {
    version: string;
    commit: string;
    executable: string;
    /** sha256:<hex> of the executable, null when it cannot be read. */
    executableSha256: string | null;
    startedAt: string;
    uptimeSeconds: number;
    /** Bytes this process caused to be written to storage (/proc/self/io write_bytes), null when unavailable. */
    bytesWrittenSinceStart: number | null;
  };
  device: { id: string | null; clientId: string | null };
  wfm: { url: string };
  poll: {
    intervalMs: number;
    lastAt: string | null;
    lastOutcome: string | null;
    lastError: ErrorView | null;
    lastDurationMs: number | null;
    lastSuccessAt: string | null;
    nextAt: string | null;
    counts: Record<string, number>;
  };
  /**
   * Where the desired state comes from. With `git`, the commit last applied (in
   * full; status reports carry its first 16 hex digits as adoptedManifestVersion,
   * docs/protocol.md "GitOps source").
   */
  desiredState: { source: "wfm" | "git"; git: { url: string; ref: string; path: string; commit: string | null; appliedAt: string | null } | null };
  /** Exact decimal string (a uint64 does not fit a JSON number). */
  manifestVersion: string | null;
  manifestAppliedAt: string | null;
  runtime: { name: string; reachable: boolean; version: string | null; detail: string | null };
  reports: { pending: number; parked: number; compacted: number };
  sender: {
    failures: number;
    nextAttemptAt: string | null;
    lastError: (ErrorView & { at: string }) | null;
    lastDeliveryAt: string | null;
    delivered: number;
    identityProblem: string | null;
  };
  /** Why the agent is not talking to the WFM now (known downtime, outside the polling period), null when it may. */
  downtimeWindow: { reason: string; days: string[]; start: string | null; end: string | null; timeZone: string } | null;
  /** The device identity: its id (v1: certificate thumbprint), problems, and a WFM refusing this client. */
  identity: {
    profile: string;
    id: string;
    notAfter: string | null;
    warnings: string[];
    /** The WFM answers 401/403 (rc3: not-authorized) to this client: since when, what it said, when the agent onboards again. */
    refused: { clientId: string; since: string; status: number; detail: string; reonboardAt: string | null } | null;
  } | null;
  /** WFM time minus device time from the last Date header, in ms; null until the WFM answered. */
  clockOffsetMs: number | null;
  lastPlan: { at: string; trigger: string; steps: StepView[] } | null;
  backoff: BackoffView[];
  /** Package pulls under way. */
  pulls: PullStatusView[];
}

export interface PullStatusView {
  deploymentId: string;
  component: string;
  reference: string;
  bytes: number;
  total: number;
  startedAt: string;
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
}

export interface SyncResultView {
  /** A poll outcome, or "running": the sync is still under way after the wait the request allowed (202). */
  outcome: string;
  manifestVersion: string | null;
  error: ErrorView | null;
  steps: { action: string; deploymentId: string; state: string; error: ErrorView | null }[];
  durationMs: number;
}

export interface SyncOptions {
  /** Override workloads' update locks for this sync (`sync --force`). */
  force?: boolean;
}

export interface RestartResultView {
  deploymentId: string;
  /** The one component restarted; null: all of them. */
  component: string | null;
  /** The deployment's state after the restart. */
  state: string;
  /** Why it failed, or UPDATE_DEFERRED when the workload's update lock held it back (nothing was restarted). */
  error: ErrorView | null;
  durationMs: number;
}

export interface LogRequest {
  component?: string;
  follow: boolean;
  tail?: number;
  /** Aborted when the caller goes away. */
  signal: AbortSignal;
}

export interface MetricsSnapshot {
  version: string;
  commit: string;
  polls: Record<string, number>;
  reconcile: { count: number; sumSeconds: number; recentSeconds: readonly number[] };
  deploymentsByState: Record<string, number>;
  journal: { pending: number; parked: number; compacted: number };
  lastSuccessfulPollSeconds: number | null;
}

export interface StatusSource {
  status(): Promise<StatusView>;
  deployments(): DeploymentSummary[];
  deployment(id: string): DeploymentDetail | undefined;
  journal(): JournalView;
  /** Process and loops alive. */
  health(): Verdict;
  /** State loaded, runtime reachable, last poll recent. */
  readiness(): Promise<Verdict>;
  metrics(): MetricsSnapshot;
  /** Polls now and returns the outcome. */
  sync(opts?: SyncOptions): Promise<SyncResultView>;
  /** Restarts a deployment (or one component) through the agent's lifecycle. Throws ApiProblem (404, 409). */
  restart(deploymentId: string, component: string | undefined, opts?: SyncOptions): Promise<RestartResultView>;
  /** The deployment's container output. Throws ApiProblem (404; 409 LOGS_UNAVAILABLE). */
  logs(deploymentId: string, req: LogRequest): Promise<ReadableStream<Uint8Array>>;
}
