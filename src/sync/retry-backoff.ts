/**
 * Per-deployment retry timing for failed deployments (image missing, engine
 * down): retried on later cycles with exponential backoff, and reset as soon as
 * the deployment succeeds or the WFM sends a new version of it (a newer desired
 * state makes the old retry stale, as Ankaios' retry token does).
 */
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";

interface Entry {
  failures: number;
  digest?: string;
  notBeforeMono: number;
}

export class RetryBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: BackoffPolicy = { baseMs: 10_000, capMs: 10 * 60_000 },
    private readonly now: () => number = () => performance.now(),
  ) {}

  record(deploymentId: string, failed: boolean, digest: string | undefined): void {
    if (!failed) {
      this.entries.delete(deploymentId);
      return;
    }
    const prev = this.entries.get(deploymentId);
    const failures = prev && prev.digest === digest ? prev.failures + 1 : 1;
    // Half fixed, half jitter: a failing deployment is retried neither in a hot loop nor in lockstep.
    const delay = Math.min(this.policy.capMs, this.policy.baseMs * 2 ** (failures - 1)) / 2 + backoffDelay(failures - 1, this.policy) / 2;
    this.entries.set(deploymentId, { failures, digest, notBeforeMono: this.now() + delay });
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
