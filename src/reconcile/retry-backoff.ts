/**
 * Per-deployment retry timing for failed deployments (image missing, engine
 * down): retried on later cycles with exponential backoff. How many times it
 * failed is the lifecycle's stored attempt count (reset when the deployment
 * succeeds or the WFM sends a new version of it, as Ankaios' retry token does);
 * only the monotonic time of the next try lives here, in memory.
 */
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";

interface Entry {
  failures: number;
  notBeforeMono: number;
}

export class RetryBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: BackoffPolicy = { baseMs: 10_000, capMs: 10 * 60_000 },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** After a step: `attempts` is the stored attempt count of the deployment (0 for a first try). */
  record(deploymentId: string, failed: boolean, attempts: number): void {
    if (!failed) {
      this.entries.delete(deploymentId);
      return;
    }
    const failures = attempts + 1;
    // Half fixed, half jitter: a failing deployment is retried neither in a hot loop nor in lockstep.
    const delay = Math.min(this.policy.capMs, this.policy.baseMs * 2 ** (failures - 1)) / 2 + backoffDelay(failures - 1, this.policy) / 2;
    this.entries.set(deploymentId, { failures, notBeforeMono: this.now() + delay });
  }

  waiting(): Set<string> {
    const now = this.now();
    return new Set([...this.entries].filter(([, e]) => e.notBeforeMono > now).map(([id]) => id));
  }

  /** For the local API: when each failing deployment will be tried again. */
  describe(): { deploymentId: string; failures: number; retryInMs: number }[] {
    const now = this.now();
    return [...this.entries].map(([deploymentId, e]) => ({ deploymentId, failures: e.failures, retryInMs: Math.max(0, Math.round(e.notBeforeMono - now)) }));
  }
}
