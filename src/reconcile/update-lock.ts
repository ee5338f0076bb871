/**
 * Update locks (balena-supervisor's update locking, README "Update locks"): a
 * workload doing something that must not be cut short holds the file
 * `<dataDir>/locks/<deploymentId>/updates.lock`; while it exists the agent
 * defers every step that would stop or replace the deployment's containers
 * (update, removal, retry of a version that ran, restart), reports the
 * deployment pending with the reason, and goes ahead anyway once the step has
 * waited `updateLocks.maxDeferral`, or at once when an operator forces it
 * (`margo-agent sync --force`, `restart --force`).
 *
 * `lockDecision` and `subjectToLock` are pure; `UpdateLocks` adds the file
 * check and remembers, per deployment, when the first deferral began
 * (monotonic, in memory: an agent restart starts the wait again).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AppliedDeployment } from "../model/applied.ts";
import type { StepAction } from "./plan.ts";

export const LOCK_FILE = "updates.lock";

/** Where deployment `id`'s lock file lives, under the data directory. */
export function lockFilePath(dataDir: string, id: string): string {
  return join(dataDir, "locks", id, LOCK_FILE);
}

/**
 * Whether a step would stop or replace containers a workload may be using: a
 * removal always; an update, retry or restart once a version of the deployment
 * has run (it has a last known good version). Adding and repairing start what
 * is not running, so they never wait.
 */
export function subjectToLock(action: StepAction, record: Pick<AppliedDeployment, "goodDigest"> | undefined): boolean {
  if (action === "remove") return record !== undefined;
  if (action === "update" || action === "retry" || action === "restart") return record?.goodDigest !== undefined;
  return false;
}

export interface LockInput {
  /** The lock file exists now. */
  held: boolean;
  /** Monotonic ms when this deployment's step was first deferred; undefined if it was not. */
  deferredSinceMs: number | undefined;
  nowMs: number;
  maxDeferralMs: number;
  /** An operator overrides every lock for this pass. */
  forced: boolean;
}

export type LockDecision =
  | { proceed: true; why: "no lock" | "forced" | "max deferral reached" }
  | { proceed: false; deferredSinceMs: number; untilMs: number };

export function lockDecision(i: LockInput): LockDecision {
  if (!i.held) return { proceed: true, why: "no lock" };
  if (i.forced) return { proceed: true, why: "forced" };
  const since = i.deferredSinceMs ?? i.nowMs;
  const untilMs = since + i.maxDeferralMs;
  if (i.nowMs >= untilMs) return { proceed: true, why: "max deferral reached" };
  return { proceed: false, deferredSinceMs: since, untilMs };
}

export interface Deferral {
  /** The lock file that holds the step back. */
  file: string;
  /** Wall-clock ms when the step goes ahead at the latest (fixed at the first deferral, so the report does not change each pass). */
  untilWallMs: number;
  /** The first deferral of this deployment's step (later passes repeat it). */
  first: boolean;
}

export interface UpdateLocksOptions {
  dataDir: string;
  maxDeferralMs: number;
  /** Monotonic ms (INV-TIME-1); injectable for tests. */
  now?: () => number;
}

export class UpdateLocks {
  private readonly since = new Map<string, { monoMs: number; untilWallMs: number }>();
  private forcedPasses = 0;
  private readonly now: () => number;

  constructor(private readonly o: UpdateLocksOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** Runs `fn` with every lock overridden (an operator's --force). */
  async overriding<T>(fn: () => Promise<T>): Promise<T> {
    this.forcedPasses++;
    try {
      return await fn();
    } finally {
      this.forcedPasses--;
    }
  }

  /**
   * The deferral in force for this step, or undefined when it may go ahead
   * (then `onProceed` says why, for the log, when a lock was there).
   */
  check(id: string, action: StepAction, record: AppliedDeployment | undefined, onProceed?: (why: string) => void): Deferral | undefined {
    if (!subjectToLock(action, record)) return undefined;
    const file = lockFilePath(this.o.dataDir, id);
    const nowMs = this.now();
    const previous = this.since.get(id);
    const d = lockDecision({ held: existsSync(file), deferredSinceMs: previous?.monoMs, nowMs, maxDeferralMs: this.o.maxDeferralMs, forced: this.forcedPasses > 0 });
    if (d.proceed) {
      this.since.delete(id);
      if (d.why !== "no lock") onProceed?.(d.why);
      return undefined;
    }
    const entry = previous ?? { monoMs: d.deferredSinceMs, untilWallMs: Date.now() + (d.untilMs - nowMs) };
    this.since.set(id, entry);
    return { file, untilWallMs: entry.untilWallMs, first: previous === undefined };
  }
}
