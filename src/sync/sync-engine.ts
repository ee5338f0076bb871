/**
 * One sync: poll the desired state, fetch and verify what changed, reconcile,
 * and only then persist the manifest version and ETag. Also the reconcile pass
 * that runs from the stored state alone (boot, drift, retries) with no WFM.
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { assertNewerVersion, type StateManifest } from "../protocol/manifest.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import { actionable, planReconcile, type Step } from "../reconcile/plan.ts";
import type { DesiredDeployment, Reconciler, StepOutcome } from "../reconcile/reconciler.ts";
import type { StateStore } from "../store/state-store.ts";
import { fromStore, parseVerified } from "./desired-state.ts";
import { fetchDeployments, type FetchLimits } from "./fetch-desired.ts";
import { RetryBackoff } from "./retry-backoff.ts";

export interface SyncEngineOptions {
  client: WfmClient;
  store: StateStore;
  reconciler: Reconciler;
  runtime: RuntimeAdapter;
  log: Logger;
  limits: FetchLimits & { manifestBytes: number };
  backoff?: RetryBackoff;
}

export type PollOutcome =
  | { outcome: "not-onboarded" }
  | { outcome: "not-modified" }
  | { outcome: "still-rejected"; error: AgentError }
  | { outcome: "applied"; manifestVersion: bigint; transport: string; steps: StepOutcome[] }
  | { outcome: "rejected"; error: AgentError }
  | { outcome: "unreachable"; error: AgentError };

/** What the last reconcile decided and why: shown by the local API. */
export interface LastPlan {
  atMs: number;
  trigger: string;
  steps: Step[];
}

export class SyncEngine {
  lastPlan: LastPlan | undefined;
  private rejected: { etag: string; error: AgentError } | undefined;
  readonly backoff: RetryBackoff;

  constructor(private readonly o: SyncEngineOptions) {
    this.backoff = o.backoff ?? new RetryBackoff();
  }

  /** Polls the WFM once and reconciles a new manifest. Never throws. */
  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const { store, client, log } = this.o;
    // Before onboarding there is nothing to ask for; onboarding itself retries in the background.
    if (!client.hasClientId()) return { outcome: "not-onboarded" };
    let result;
    try {
      result = await client.getManifest(this.rejected?.etag ?? store.lastEtag(), this.o.limits.manifestBytes);
    } catch (err) {
      const error = asAgentError(err, "WFM_UNREACHABLE");
      if (error.code === "WFM_UNREACHABLE" || error.code === "WFM_HTTP_ERROR" || error.code === "IDENTITY_REJECTED") return { outcome: "unreachable", error };
      return this.reject(error, undefined);
    }
    if (result.kind === "not-modified") {
      return this.rejected ? { outcome: "still-rejected", error: this.rejected.error } : { outcome: "not-modified" };
    }
    const { manifest, etag } = result;
    const last = store.lastManifestVersion();
    if (last !== null && manifest.manifestVersion === last && etag === store.lastEtag()) {
      // The WFM ignored If-None-Match; same manifest, nothing to do.
      this.rejected = undefined;
      return { outcome: "not-modified" };
    }
    try {
      assertNewerVersion(manifest.manifestVersion, last);
      const desired = await this.fetchDesired(manifest);
      this.rejected = undefined;
      const steps = await this.reconcile(desired, () => manifest.manifestVersion, "new manifest", signal, false);
      store.commitManifest(manifest.manifestVersion, etag);
      log.info({ manifestVersion: manifest.manifestVersion.toString(), deployments: manifest.deployments.length, steps: steps.length }, "desired state applied");
      return { outcome: "applied", manifestVersion: manifest.manifestVersion, transport: desired.transport, steps };
    } catch (err) {
      return this.reject(asAgentError(err, "MANIFEST_INVALID"), etag);
    }
  }

  private reject(error: AgentError, etag: string | undefined): PollOutcome {
    if (etag) this.rejected = { etag, error };
    this.o.log.error({ code: error.code, ...(error.details as object) }, `desired state refused, current workloads kept: ${error.message}`);
    return { outcome: "rejected", error };
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
    return this.reconcile({ byId: desired }, (id) => versions.get(id) ?? fallback, trigger, signal, observe);
  }

  private async reconcile(desired: { byId: Map<string, DesiredDeployment> }, mvFor: (deploymentId: string) => bigint, trigger: string, signal: AbortSignal, observe: boolean): Promise<StepOutcome[]> {
    const applied = this.o.store.listDeployments();
    let observed;
    if (observe && applied.length > 0) {
      try {
        observed = await this.o.runtime.inspect();
      } catch (err) {
        this.o.log.warn({ code: asAgentError(err).code, err: String(err) }, "runtime inspection failed; skipping drift detection this time");
      }
    }
    const steps = planReconcile({
      desired: [...desired.byId].map(([deploymentId, d]) => ({ deploymentId, digest: d.digest })),
      applied: applied.map((a) => ({ deploymentId: a.id, digest: a.digest, state: a.state, componentNames: a.components.map((c) => c.name) })),
      observed,
      notBefore: this.backoff.waiting(),
    });
    const todo = actionable(steps);
    if (todo.length > 0 || trigger === "new manifest") this.lastPlan = { atMs: Date.now(), trigger, steps };
    for (const step of todo) this.o.reconciler.markPending(step, desired.byId.get(step.deploymentId), mvFor(step.deploymentId));
    const outcomes: StepOutcome[] = [];
    for (const step of todo) {
      if (signal.aborted) break;
      const outcome = await this.o.reconciler.apply(step, desired.byId.get(step.deploymentId), mvFor(step.deploymentId), signal);
      this.backoff.record(step.deploymentId, outcome.state === "failed", desired.byId.get(step.deploymentId)?.digest);
      outcomes.push(outcome);
    }
    return outcomes;
  }
}
