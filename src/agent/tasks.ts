/**
 * Background work that runs beside the agent's own loops (polling, delivery,
 * drift): onboarding, capabilities reports, SVID rotation, trust-bundle
 * refresh. The Agent starts every task with itself and stops them all, promptly,
 * when it stops (docs/architecture.md, "Start and stop").
 */
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { Logger } from "../log.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import type { StateStore } from "../store/state-store.ts";

export interface TaskContext {
  /** Aborted when the agent stops: a task returns soon after. */
  signal: AbortSignal;
  client: WfmClient;
  store: StateStore;
  runtime: RuntimeAdapter;
  log: Logger;
  /** Ask for a poll now (e.g. right after onboarding completed). Never throws. */
  syncNow(): void;
}

export interface BackgroundTask {
  readonly name: string;
  /** Runs until done or until ctx.signal aborts. Must not throw: failures are logged with their code and retried. */
  run(ctx: TaskContext): Promise<void>;
}
