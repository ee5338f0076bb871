/**
 * What the agent has been doing, kept for the read model: polls and their
 * outcomes, reconcile durations. Written only by the Agent; read only through
 * snapshots (frozen copies), so the local API never sees a half-updated record.
 */
import type { PollOutcome } from "../sync/desired-state-sync.ts";

export interface PollRecord {
  atMs: number;
  outcome: PollOutcome["outcome"];
  error?: { code: string; message: string };
  durationMs: number;
}

export interface ActivitySnapshot {
  readonly lastPoll?: Readonly<PollRecord>;
  readonly lastSuccessfulPollMs?: number;
  readonly nextPollAtMs?: number;
  readonly pollCounts: Readonly<Record<string, number>>;
  /** The last 100 reconcile durations (for quantiles) and running totals since start (for counters). */
  readonly reconcile: { readonly count: number; readonly sumMs: number; readonly recentMs: readonly number[] };
}

export class Activity {
  private lastPoll: PollRecord | undefined;
  private lastSuccessfulPollMs: number | undefined;
  private nextPollAtMs: number | undefined;
  private readonly pollCounts: Record<string, number> = {};
  private readonly recentMs: number[] = [];
  private count = 0;
  private sumMs = 0;

  pollScheduled(atMs: number): void {
    this.nextPollAtMs = atMs;
  }

  polled(record: PollRecord, reachedWfm: boolean): void {
    this.pollCounts[record.outcome] = (this.pollCounts[record.outcome] ?? 0) + 1;
    this.lastPoll = record;
    if (reachedWfm) this.lastSuccessfulPollMs = record.atMs;
  }

  reconciled(ms: number): void {
    this.count++;
    this.sumMs += ms;
    this.recentMs.push(ms);
    if (this.recentMs.length > 100) this.recentMs.shift();
  }

  snapshot(): ActivitySnapshot {
    return Object.freeze({
      lastPoll: this.lastPoll && Object.freeze({ ...this.lastPoll }),
      lastSuccessfulPollMs: this.lastSuccessfulPollMs,
      nextPollAtMs: this.nextPollAtMs,
      pollCounts: Object.freeze({ ...this.pollCounts }),
      reconcile: Object.freeze({ count: this.count, sumMs: this.sumMs, recentMs: Object.freeze([...this.recentMs]) }),
    });
  }
}
