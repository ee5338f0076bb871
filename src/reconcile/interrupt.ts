/**
 * A step cut short by the agent's stop signal. An abort is not a failure: it is
 * neither recorded nor reported, and the next start does the step again
 * (docs/architecture.md, INV-RECONCILE-1).
 */
export class StepInterrupted extends Error {
  constructor() {
    super("agent stopping");
  }
}

/** Call after a failure: when the stop signal caused it, the failure means nothing. */
export function interruptedBy(signal: AbortSignal): void {
  if (signal.aborted) throw new StepInterrupted();
}
