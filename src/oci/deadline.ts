/** Time limits as AbortSignals whose reason is the AgentError to report (REGISTRY_UNREACHABLE). */
import { AgentError } from "../errors/index.ts";

export interface Deadline {
  signal: AbortSignal;
  /** Stops the timer and unlinks the parent; the signal stays as it is. */
  clear(): void;
}

/** Aborts after `ms` with `message`, or when `parent` aborts (with the parent's reason). */
export function deadline(ms: number, message: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AgentError("REGISTRY_UNREACHABLE", message)), ms);
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/** The AgentError an aborted signal carries, or a generic one naming `what`. */
export function abortReason(signal: AbortSignal, what: string): AgentError {
  const reason = signal.reason;
  if (reason instanceof AgentError) return reason;
  return new AgentError("REGISTRY_UNREACHABLE", `${what}: aborted${reason instanceof Error ? ` (${reason.message})` : ""}`);
}
