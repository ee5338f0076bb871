/**
 * Liveness: are the agent's loops alive? Not "did a poll complete recently": a
 * reconcile of thousands of deployments, or one component that waits minutes
 * for its container, is a poll that runs long and is healthy. The poll loop is
 * alive when its next poll is scheduled (not long overdue), or when the poll
 * under way keeps making progress: a report journaled, an answer from the WFM.
 * Between two signs of progress a step may take as long as its own timeouts
 * allow. (That the API answers at all shows the event loop runs.) Pure.
 */
export interface LivenessInput {
  /** Date.now() and performance.now() at the check. */
  nowWallMs: number;
  nowMonoMs: number;
  /** When the next (or the running) poll was due, wall clock. */
  pollDueAtWallMs: number;
  /** 3 × poll.interval + wfm.requestTimeout: how late a poll may be. */
  staleAfterMs: number;
  pollIntervalMs: number;
  /** performance.now() of the latest sign of progress (report journaled, WFM answer); the start when none yet. */
  lastProgressMonoMs: number;
  /** How long the steps under way may take by their own timeouts; asked only when the poll is late. */
  stepAllowanceMs: () => number;
}

export interface LivenessVerdict {
  ok: boolean;
  reasons: string[];
}

export function liveness(i: LivenessInput): LivenessVerdict {
  const overdueMs = i.nowWallMs - i.pollDueAtWallMs;
  if (overdueMs <= i.staleAfterMs) return { ok: true, reasons: [] };
  // The poll that was due is under way (or the loop is stuck): alive while it moves.
  const quietMs = i.nowMonoMs - i.lastProgressMonoMs;
  if (quietMs <= i.staleAfterMs) return { ok: true, reasons: [] };
  const allowedMs = i.staleAfterMs + i.stepAllowanceMs();
  if (quietMs <= allowedMs) return { ok: true, reasons: [] };
  return {
    ok: false,
    reasons: [
      `the poll loop has not completed a poll since ${new Date(i.pollDueAtWallMs).toISOString()} (${Math.round(overdueMs / 1000)} s; expected every ${i.pollIntervalMs / 1000} s) ` +
        `and has made no progress for ${Math.round(quietMs / 1000)} s (no report journaled, no answer from the WFM; the steps under way allow ${Math.round(allowedMs / 1000)} s)`,
    ],
  };
}
