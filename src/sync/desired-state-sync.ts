/**
 * The desired-state sync: poll the WFM's manifest, fetch and verify what
 * changed, hand the verified desired state to the reconciler, and only then
 * commit the manifest version and ETag (INV-SYNC-1). Also the pass that runs
 * from the stored desired state alone (boot, drift, retries), with no WFM.
 */
import type { AgentError } from "../errors/index.ts";
import { asAgentError } from "../errors/index.ts";
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";
import type { Logger } from "../log.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import { assertNewerVersion, type StateManifest } from "../protocol/manifest.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import type { LastPlan, Reconciler, StepOutcome } from "../reconcile/reconciler.ts";
import type { RetryBackoff } from "../reconcile/retry-backoff.ts";
import type { StateStore } from "../store/state-store.ts";
import { fetchDeployments, type FetchLimits } from "./fetch-desired.ts";
import { isContentVerdict } from "./verdict.ts";
import { fromStore, parseVerified } from "./verify-desired.ts";

/** The WFM did not give a manifest (no verdict on one): the rc3 transport's refusals are among them. */
const TRANSPORT_FAILURES: ReadonlySet<string> = new Set(["WFM_UNREACHABLE", "WFM_HTTP_ERROR", "IDENTITY_REJECTED", "WFM_IDENTITY_MISMATCH", "TRUST_BUNDLE_MISSING"]);

export interface DesiredStateSyncOptions {
  client: WfmClient;
  store: StateStore;
  reconciler: Reconciler;
  log: Logger;
  limits: FetchLimits & { manifestBytes: number };
  /** Backoff for a manifest that could not be taken for a passing reason (artifact 404/503, timeout, I/O). */
  manifestRetry?: BackoffPolicy;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  random?: () => number;
}

export type PollOutcome =
  | { outcome: "not-onboarded" }
  | { outcome: "not-modified" }
  | { outcome: "still-rejected"; error: AgentError }
  | { outcome: "applied"; manifestVersion: bigint; transport: string; steps: StepOutcome[] }
  | { outcome: "rejected"; error: AgentError }
  /** The manifest could not be taken for a passing reason; it is fetched again after retryInMs. */
  | { outcome: "retrying"; error: AgentError; retryInMs: number }
  /** The agent is stopping: the reconcile was cut short and the manifest NOT committed; the next start finishes it. */
  | { outcome: "interrupted" }
  | { outcome: "unreachable"; error: AgentError };

/**
 * A manifest the agent did not take. A content verdict is kept for as long as the
 * WFM serves the same ETag; a passing failure only until retryAtMs (monotonic).
 */
interface Refusal {
  etag: string;
  error: AgentError;
  retryAtMs?: number;
  attempts: number;
}

export class DesiredStateSync {
  private refusal: Refusal | undefined;
  private readonly now: () => number;

  constructor(private readonly o: DesiredStateSyncOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** What the last reconcile decided and why (for the local API). */
  get lastPlan(): LastPlan | undefined {
    return this.o.reconciler.lastPlan;
  }

  /** When each failing deployment is tried again (for the local API). */
  get backoff(): RetryBackoff {
    return this.o.reconciler.backoff;
  }

  /** The refusal still in force (a passing one expires), or undefined. */
  private activeRefusal(): Refusal | undefined {
    const r = this.refusal;
    if (r && r.retryAtMs !== undefined && this.now() >= r.retryAtMs) return undefined;
    return r;
  }

  private refusedOutcome(r: Refusal): PollOutcome {
    return r.retryAtMs === undefined
      ? { outcome: "still-rejected", error: r.error }
      : { outcome: "retrying", error: r.error, retryInMs: Math.max(0, Math.round(r.retryAtMs - this.now())) };
  }

  /** Polls the WFM once and reconciles a new manifest. Never throws. */
  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const { store, client, log } = this.o;
    // Before onboarding there is nothing to ask for; onboarding itself retries in the background.
    if (!client.hasClientId()) return { outcome: "not-onboarded" };
    // While a refusal is in force, ask with its ETag: the WFM answers 304 until it changes something.
    const refused = this.activeRefusal();
    let result;
    try {
      result = await client.getManifest(refused?.etag ?? store.lastEtag(), this.o.limits.manifestBytes);
    } catch (err) {
      const error = asAgentError(err, "WFM_UNREACHABLE");
      if (TRANSPORT_FAILURES.has(error.code)) return { outcome: "unreachable", error };
      return this.refuse(error, undefined);
    }
    if (result.kind === "not-modified") return refused ? this.refusedOutcome(refused) : { outcome: "not-modified" };
    const { manifest, etag } = result;
    // The WFM may ignore If-None-Match: the same refused manifest is not fetched again.
    if (refused && refused.etag === etag) return this.refusedOutcome(refused);
    const last = store.lastManifestVersion();
    if (last !== null && manifest.manifestVersion === last && etag === store.lastEtag()) {
      this.refusal = undefined;
      return { outcome: "not-modified" };
    }
    let desired;
    try {
      assertNewerVersion(manifest.manifestVersion, last);
      desired = await this.fetchDesired(manifest);
    } catch (err) {
      return this.refuse(asAgentError(err, "INTERNAL"), etag);
    }
    let steps;
    try {
      steps = await this.o.reconciler.reconcile({ byId: desired.byId, manifestVersionOf: () => manifest.manifestVersion }, "new manifest", signal, false);
    } catch (err) {
      // Marking pending or planning failed (a full disk, a bug): nothing was committed, try again later.
      return this.refuse(asAgentError(err, "INTERNAL"), etag);
    }
    this.refusal = undefined;
    if (signal.aborted) {
      // INV-SYNC-1: a manifest is committed only when every one of its steps ran.
      log.info({ manifestVersion: manifest.manifestVersion.toString() }, "stopping mid-reconcile: the manifest is not committed; the next start finishes it");
      return { outcome: "interrupted" };
    }
    store.commitManifest(manifest.manifestVersion, etag);
    log.info({ manifestVersion: manifest.manifestVersion.toString(), deployments: manifest.deployments.length, steps: steps.length }, "desired state applied");
    return { outcome: "applied", manifestVersion: manifest.manifestVersion, transport: desired.transport, steps };
  }

  /**
   * A manifest not taken. Content verdicts are remembered by ETag (INV-SYNC-2);
   * passing failures are retried with backoff and never remembered for good.
   */
  private refuse(error: AgentError, etag: string | undefined): PollOutcome {
    const { log } = this.o;
    if (etag === undefined || isContentVerdict(error.code)) {
      if (etag !== undefined) this.refusal = { etag, error, attempts: 0 };
      log.error({ code: error.code, ...(error.details as object) }, `desired state refused, current workloads kept: ${error.message}`);
      return { outcome: "rejected", error };
    }
    const attempts = this.refusal?.etag === etag && this.refusal.retryAtMs !== undefined ? this.refusal.attempts + 1 : 1;
    const policy = this.o.manifestRetry ?? { baseMs: 2_000, capMs: 5 * 60_000 };
    const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempts - 1, 30));
    // Half fixed, half jitter: never a hot loop, never in step with other devices.
    const retryInMs = Math.round(ceiling / 2 + backoffDelay(attempts - 1, policy, this.o.random) / 2);
    this.refusal = { etag, error, attempts, retryAtMs: this.now() + retryInMs };
    log.warn({ code: error.code, attempt: attempts, retryInMs, ...(error.details as object) }, `desired state not taken yet, current workloads kept; trying again in ${Math.round(retryInMs / 1000)} s: ${error.message}`);
    return { outcome: "retrying", error, retryInMs };
  }

  private async fetchDesired(manifest: StateManifest): Promise<{ transport: string; byId: Map<string, DesiredDeployment> }> {
    const applied = new Map(this.o.store.listDeployments().map((d) => [d.id, d]));
    const needed = manifest.deployments.filter((ref) => applied.get(ref.deploymentId)?.digest !== ref.digest);
    const { transport, deployments } = await fetchDeployments(this.o.client, manifest, needed, applied.size > 0, this.o.limits);
    const byId = new Map<string, DesiredDeployment>();
    for (const ref of manifest.deployments) {
      const row = applied.get(ref.deploymentId);
      if (row && row.digest === ref.digest) byId.set(ref.deploymentId, fromStore(row));
    }
    for (const d of deployments) byId.set(d.ref.deploymentId, parseVerified(d.ref.deploymentId, d.ref.digest, d.yaml));
    // Order as the manifest lists them.
    return { transport, byId: new Map(manifest.deployments.map((r) => [r.deploymentId, byId.get(r.deploymentId)!])) };
  }

  /**
   * Reconciles towards the stored desired state (no WFM needed): at boot, for
   * drift, and to retry failures. Writes nothing when there is nothing to do.
   */
  async reconcileStored(trigger: string, signal: AbortSignal, observe: boolean): Promise<StepOutcome[]> {
    const rows = this.o.store.listDeployments();
    const desired = new Map(rows.filter((r) => r.wanted).map((r) => [r.id, fromStore(r)]));
    // Each deployment is retried under the manifest version it arrived with (the
    // last manifest may not have been committed when the agent died).
    const versions = new Map(rows.map((r) => [r.id, BigInt(r.manifestVersion)]));
    const fallback = this.o.store.lastManifestVersion() ?? 0n;
    return this.o.reconciler.reconcile({ byId: desired, manifestVersionOf: (id) => versions.get(id) ?? fallback }, trigger, signal, observe);
  }
}
