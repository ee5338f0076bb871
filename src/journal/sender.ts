/**
 * The single sender: drains the journal to the WFM, oldest first per
 * deployment, never blocking the reconciler (it only reads the outbox).
 * At-least-once: a report leaves the outbox only after the WFM said 2xx.
 */
import { asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import type { Journal, JournalEntry } from "./journal.ts";
import { isContentProblem, isIdentityProblem, readProblem, type ProblemHints } from "../protocol/problem.ts";
import { type BackoffPolicy, nextDelay } from "./retry-timing.ts";

export interface SenderOptions {
  journal: Journal;
  client: WfmClient;
  log: Logger;
  policy: BackoffPolicy;
  maxEntries: number;
  /** False while a known downtime window is in force: no attempts, no errors. */
  mayCommunicate?: () => boolean;
  random?: () => number;
}

export interface SenderState {
  /** Consecutive failed rounds; drives the backoff. */
  failures: number;
  nextAttemptAtMs?: number;
  lastError?: { code: string; message: string; atMs: number };
  lastDeliveryAtMs?: number;
  delivered: number;
  identityProblem?: string;
  /**
   * performance.now() of the last wake(): the reconciler wakes the sender after
   * every report it journals, so this is also a heartbeat of a reconcile under way.
   */
  lastWakeAtMs?: number;
}

const BATCH = 32;

export class StatusSender {
  readonly state: SenderState = { failures: 0, delivered: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private stopped = false;
  private again = false;
  /** retryNow() came while a drain was running: drain again when it ends, whatever its outcome. */
  private retryAfterRun = false;

  constructor(private readonly o: SenderOptions) {}

  /** New reports were journaled, or the network may be back: try now (unless backing off). */
  wake(): void {
    if (this.stopped) return;
    this.state.lastWakeAtMs = performance.now();
    // The reconciler wakes the sender after every report it journals: the bound holds at insert time,
    // whether the sender is busy, backing off or idle.
    this.keepBound();
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.state.nextAttemptAtMs !== undefined && performance.now() < this.state.nextAttemptAtMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.drain(), 0);
  }

  /** Forget the backoff and try right away (operator asked, or the WFM answered a poll). */
  retryNow(): void {
    this.state.nextAttemptAtMs = undefined;
    // A drain in flight may fail and back off after this: the request to retry must outlive it.
    if (this.running) this.retryAfterRun = true;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Sends until the outbox is empty or the WFM stops accepting. Resolves when idle. */
  async drain(): Promise<void> {
    if (this.running || this.stopped) return;
    if (this.o.mayCommunicate && !this.o.mayCommunicate()) {
      this.schedule(60_000);
      return;
    }
    this.running = true;
    try {
      await this.drainRounds();
    } catch (err) {
      // A database error must not leave the sender idle with reports waiting.
      this.state.failures++;
      this.state.lastError = { code: "INTERNAL", message: String(err), atMs: Date.now() };
      this.o.log.error({ code: "INTERNAL", err: String(err) }, "status sender failed; retrying");
      this.schedule(nextDelay(this.state.failures, this.o.policy, {}, this.o.random));
    } finally {
      this.running = false;
      if (this.retryAfterRun && !this.stopped) {
        this.retryAfterRun = false;
        this.state.nextAttemptAtMs = undefined;
        this.wake();
      } else if (this.again && !this.stopped && this.state.nextAttemptAtMs === undefined) this.wake();
    }
  }

  private keepBound(): void {
    try {
      const dropped = this.o.journal.enforceBound(this.o.maxEntries);
      if (dropped > 0) this.o.log.info({ dropped, maxEntries: this.o.maxEntries }, "journal over journal.maxEntries: oldest intermediate reports compacted");
    } catch (err) {
      // A database error here must not stop the reconciler that woke us; the next insert or batch tries again.
      this.o.log.error({ code: "INTERNAL", err: String(err) }, "journal compaction failed");
    }
  }

  private async drainRounds(): Promise<void> {
    for (;;) {
      this.again = false;
      this.keepBound();
      const heads = this.o.journal.heads(BATCH);
      if (heads.length === 0) break;
      const results = await Promise.all(heads.map((e) => this.sendOne(e)));
      const failure = results.find((r): r is Failure => r !== "ok");
      if (failure) {
        this.fail(failure);
        return;
      }
      if (this.stopped) return;
    }
    this.state.failures = 0;
    this.state.nextAttemptAtMs = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.state.nextAttemptAtMs = performance.now() + delayMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.state.nextAttemptAtMs = undefined;
      void this.drain();
    }, delayMs);
  }

  /** "ok" to continue the round, a Failure when the WFM is not taking reports now. */
  private async sendOne(entry: JournalEntry): Promise<"ok" | Failure> {
    const log = this.o.log.child({ deploymentId: entry.deploymentId, seq: entry.seq, state: entry.state });
    try {
      const outcome = await this.o.client.postStatus(entry.deploymentId, entry.body);
      if (outcome.kind === "accepted") {
        this.o.journal.ack(entry.seq);
        this.state.delivered++;
        this.state.lastDeliveryAtMs = Date.now();
        this.state.identityProblem = undefined;
        log.debug("status report delivered");
        return "ok";
      }
      // One reading of the answer for both profiles (src/protocol/problem.ts).
      const problem = readProblem({ status: outcome.status, contentType: outcome.contentType, body: outcome.body, retryAfter: outcome.retryAfter });
      const answer = problem.summary;
      const hints: ProblemHints = { retryAfterMs: problem.retryAfterMs, backoffStrategy: problem.backoffStrategy };
      // Identity first: a refused client keeps its reports (they are delivered once the WFM takes it back).
      if (isIdentityProblem(problem)) {
        this.state.identityProblem = answer;
        // The profile says what to check: v1 onboarding and the certificate, rc3 the client relationship.
        return this.attemptFailed(entry, { code: "IDENTITY_REJECTED", message: this.o.client.profile.identityRefusal(problem), hints });
      }
      // Refused for what it says (400/422), or the WFM said outright not to retry: parked. Any other
      // answer is retried with backoff, honouring Retry-After: a status the specification does not give
      // this route (a 404 from a misrouted path prefix) must not cost a report.
      if (isContentProblem(problem) || problem.said.retryable === false) {
        this.o.journal.park(entry.seq, answer);
        log.error({ code: "REPORT_REJECTED", answer }, "the WFM rejected a status report; parked, not retried");
        return "ok";
      }
      return this.attemptFailed(entry, { code: "WFM_HTTP_ERROR", message: `status report: WFM answered ${answer}`, retryAfterMs: problem.retryAfterMs, hints });
    } catch (err) {
      const e = asAgentError(err, "WFM_UNREACHABLE");
      return this.attemptFailed(entry, { code: e.code, message: e.message });
    }
  }

  private attemptFailed(entry: JournalEntry, f: Omit<Failure, "deploymentId">): Failure {
    this.o.journal.attemptFailed(entry.seq, `${f.code}: ${f.message}`);
    return { ...f, deploymentId: entry.deploymentId };
  }

  /** One failed round: one step of backoff, however many reports were in flight. */
  private fail(f: Failure): void {
    const quiet = this.o.mayCommunicate && !this.o.mayCommunicate();
    const delay = nextDelay(this.state.failures, this.o.policy, { retryAfterMs: f.retryAfterMs, hints: f.hints }, this.o.random);
    this.state.failures++;
    this.state.lastError = { code: f.code, message: f.message, atMs: Date.now() };
    if (!quiet) this.o.log.warn({ code: f.code, deploymentId: f.deploymentId, retryInMs: delay }, f.message);
    this.schedule(delay);
  }
}

interface Failure {
  code: string;
  message: string;
  deploymentId: string;
  retryAfterMs?: number;
  hints?: ProblemHints;
}

/** The Margo problem type for a request the WFM's policy refuses (rc3: "the client relationship has been retired"). */
const NOT_AUTHORIZED = /[#/]not-authorized$/;

function isNotAuthorized(body: string): boolean {
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === "string" && NOT_AUTHORIZED.test(type);
  } catch {
    return false;
  }
}
