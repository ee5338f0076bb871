/**
 * The status journal: the outbox of reports waiting for the WFM, and its one
 * owner. Reports are appended inside the store's transaction for the state
 * change they describe (StateStore.apply), read by the sender oldest first per
 * deployment, and deleted once the WFM accepted them. Deployments are
 * independent of each other (docs/architecture.md, INV-JOURNAL-2).
 */
import type { SqlDatabase } from "../platform/types.ts";
import { UntilWrite } from "../platform/counted-db.ts";
import type { Clock } from "../util/clock.ts";

export interface JournalEntry {
  seq: number;
  deploymentId: string;
  state: string;
  body: string;
  wallMs: number;
  monoMs: number;
  bootId: string;
  status: "pending" | "parked";
  attempts: number;
  lastError?: string;
}

interface Row {
  seq: number;
  deployment_id: string;
  state: string;
  body: string;
  wall_ms: number;
  mono_ms: number;
  boot_id: string;
  status: "pending" | "parked";
  attempts: number;
  last_error: string | null;
}

const toEntry = (r: Row): JournalEntry => ({
  seq: r.seq,
  deploymentId: r.deployment_id,
  state: r.state,
  body: r.body,
  wallMs: r.wall_ms,
  monoMs: r.mono_ms,
  bootId: r.boot_id,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error ?? undefined,
});

export class Journal {
  /** Asked after every poll: remembered until the connection writes (when it counts its writes, src/platform/counted-db.ts). */
  private readonly pending: UntilWrite<boolean>;

  /** A journal opened without a clock can read and deliver, not append. */
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock?: Clock,
  ) {
    this.pending = new UntilWrite(db);
  }

  /** Appends a report; call it inside the transaction of the state change it describes. */
  append(deploymentId: string, state: string, body: string): void {
    if (!this.clock) throw new Error("this journal was opened read-only (no clock)");
    this.db.prepare("INSERT INTO journal (deployment_id, state, body, wall_ms, mono_ms, boot_id) VALUES (?, ?, ?, ?, ?, ?)").run(
      deploymentId, state, body, this.clock.wallMs(), this.clock.monoMs(), this.clock.bootId,
    );
  }

  /** The oldest pending report of each deployment: the only ones that may be sent now. */
  heads(limit: number): JournalEntry[] {
    return this.db
      .prepare<Row>(
        `SELECT j.* FROM journal j
         JOIN (SELECT MIN(seq) AS seq FROM journal WHERE status = 'pending' GROUP BY deployment_id) h ON h.seq = j.seq
         ORDER BY j.seq LIMIT ?`,
      )
      .all(limit)
      .map(toEntry);
  }

  /** Delivered: gone from the outbox. */
  ack(seq: number): void {
    this.db.prepare("DELETE FROM journal WHERE seq = ?").run(seq);
  }

  /** The WFM refused it for good (400/422): kept, visible, never retried. */
  park(seq: number, reason: string): void {
    this.db.prepare("UPDATE journal SET status = 'parked', attempts = attempts + 1, last_error = ? WHERE seq = ?").run(reason, seq);
  }

  attemptFailed(seq: number, reason: string): void {
    this.db.prepare("UPDATE journal SET attempts = attempts + 1, last_error = ? WHERE seq = ?").run(reason, seq);
  }

  list(status: "pending" | "parked", limit = 1000): JournalEntry[] {
    return this.db.prepare<Row>("SELECT * FROM journal WHERE status = ? ORDER BY seq LIMIT ?").all(status, limit).map(toEntry);
  }

  hasPending(): boolean {
    return this.pending.get(() => this.db.prepare<{ one: number }>("SELECT 1 AS one FROM journal WHERE status = 'pending' LIMIT 1").get() !== null);
  }

  counts(): { pending: number; parked: number } {
    const rows = this.db.prepare<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM journal GROUP BY status").all();
    const get = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    return { pending: get("pending"), parked: get("parked") };
  }

  pendingFor(deploymentId: string): number {
    return this.db.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM journal WHERE status = 'pending' AND deployment_id = ?").get(deploymentId)?.n ?? 0;
  }

  /**
   * Keeps the outbox within maxEntries during a long outage: drops the oldest
   * intermediate reports, never the latest of a deployment and never a failed
   * transition. Compacts down to `target` (default maxEntries) once over
   * maxEntries. Returns how many were dropped (also counted in meta).
   */
  compact(maxEntries: number, target = maxEntries): number {
    const { pending } = this.counts();
    if (pending <= maxEntries) return 0;
    const excess = pending - Math.min(target, maxEntries);
    let dropped = 0;
    this.db.transaction(() => {
      const result = this.db
        .prepare(
          `DELETE FROM journal WHERE seq IN (
             SELECT j.seq FROM journal j
             WHERE j.status = 'pending' AND j.state <> 'failed'
               AND EXISTS (SELECT 1 FROM journal k WHERE k.deployment_id = j.deployment_id AND k.seq > j.seq AND k.status = 'pending')
             ORDER BY j.seq LIMIT ?)`,
        )
        .run(excess);
      dropped = result.changes;
      if (dropped > 0) {
        this.db
          .prepare(
            `INSERT INTO meta (key, value) VALUES ('journal.compacted', ?)
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value`,
          )
          .run(String(dropped));
      }
    });
    return dropped;
  }

  /**
   * The bound, cheap enough to run after every insert and every batch sent (a
   * busy sender or a burst of reports must not outgrow it, so waiting for the
   * sender to go idle is not enough). Pending reports only grow by inserts, and
   * SQLite's AUTOINCREMENT counter says how many there were: while they fit the
   * headroom left at the last count, nothing is counted at all. Over the bound,
   * it compacts 1% below it, so a steady stream of reports costs one count and
   * one delete per hundredth of maxEntries, not one per report. When what is
   * left cannot be compacted that far (latest and failed reports, never
   * dropped, nearly fill it), the next try waits for that same slack.
   */
  enforceBound(maxEntries: number): number {
    const inserted = this.insertCounter();
    if (this.bound && this.bound.maxEntries === maxEntries && inserted - this.bound.atInsert <= this.bound.headroom) return 0;
    const slack = Math.max(1, Math.floor(maxEntries / 100));
    const dropped = this.compact(maxEntries, maxEntries - slack);
    const { pending } = this.counts();
    // Short of the target, what is left is (nearly) all latest and failed reports: counting again at
    // every insert would cost a scan per report for at most one row to drop, so this is the one case
    // where the outbox may exceed maxEntries, by at most the slack.
    this.bound = { maxEntries, atInsert: inserted, headroom: pending <= maxEntries - slack ? maxEntries - pending : slack };
    return dropped;
  }

  private bound: { maxEntries: number; atInsert: number; headroom: number } | undefined;

  /** How many reports were ever appended (the AUTOINCREMENT counter: it never goes back, even when rows are deleted). */
  private insertCounter(): number {
    return this.db.prepare<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get()?.seq ?? 0;
  }

  compacted(): number {
    return Number(this.db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = 'journal.compacted'").get()?.value ?? 0);
  }
}
