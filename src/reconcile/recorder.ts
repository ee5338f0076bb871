/**
 * What the executors call to say what happened to a deployment: the lifecycle
 * (src/lifecycle/) decides the next record and its report, the store writes both
 * in one transaction, and the sender is woken.
 */
import { type LifecycleEvent, type Subject, transition } from "../lifecycle/lifecycle.ts";
import type { DeploymentState } from "../model/states.ts";
import type { StatusFormat } from "../protocol/status-manifest.ts";
import type { StateStore } from "../store/state-store.ts";

export class Recorder {
  constructor(
    private readonly store: StateStore,
    private readonly onReport: () => void = () => {},
    /** The profile's report frame (v1 envelope by default). */
    private readonly format?: StatusFormat,
  ) {}

  /** Records the event; returns the deployment's state after it. */
  record(subject: Subject, event: LifecycleEvent): DeploymentState | "removed" {
    const previous = this.store.getDeployment(subject.id);
    const change = transition(previous, subject, event, this.format);
    if (!change) return previous?.state ?? "pending";
    this.store.apply(change);
    if (change.report !== undefined) this.onReport();
    return change.state;
  }
}
