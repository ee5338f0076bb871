/**
 * How long the reconcile steps under way may run without a sign of progress,
 * by their own timeouts: a component that waits five minutes for its container
 * journals nothing meanwhile and is still healthy. Generous on purpose: a
 * liveness probe that fails restarts the agent in the middle of an apply.
 */
import { parseDeployment } from "../deployment/parse.ts";
import type { AppliedDeployment } from "../model/applied.ts";

/** The compose tool's own floor for a command (up, down), and what a component gets when its timeout is unknown. */
const TOOL_FLOOR_MS = 120_000;
const UNKNOWN_TIMEOUT_MS = 5 * 60_000;

/**
 * Per component being installed: the package download (the resolver allows
 * 4 × wfm.requestTimeout), compose up (at least TOOL_FLOOR_MS, maybe twice
 * after a recreate race) and the wait (its timeout); all of it again if the
 * update is rolled back. Per component being removed: compose down and the
 * label sweep, a few tool commands.
 */
export function stepAllowanceMs(rows: readonly AppliedDeployment[], requestTimeoutMs: number): number {
  let total = 0;
  for (const row of rows) {
    if (row.state === "removing") {
      total += 3 * TOOL_FLOOR_MS * Math.max(1, row.components.length);
    } else if (row.state === "installing") {
      let timeouts: number[];
      try {
        timeouts = parseDeployment(row.yaml, `deployment ${row.id}`).components.map((c) => c.timeoutMs);
      } catch {
        timeouts = row.components.map(() => UNKNOWN_TIMEOUT_MS);
      }
      for (const t of timeouts) total += 2 * (4 * requestTimeoutMs + 3 * Math.max(TOOL_FLOOR_MS, t));
    }
  }
  return total;
}
