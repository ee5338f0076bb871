/** What every step executor gets, and what it returns. */
import type { RuntimeAdapter } from "../../../runtimes/types.ts";
import type { Logger } from "../../log.ts";
import type { StatusError } from "../../model/states.ts";
import type { DeploymentState } from "../../model/states.ts";
import type { StateStore } from "../../store/state-store.ts";
import type { ComponentResolver } from "../component-resolver.ts";
import type { Recorder } from "../recorder.ts";
import type { ConstraintDevice } from "../../deployment/constraints.ts";

export interface ExecutorContext {
  store: StateStore;
  runtime: RuntimeAdapter;
  resolve: ComponentResolver;
  recorder: Recorder;
  log: Logger;
  /** Re-apply the last known good version when an update fails. */
  rollback: boolean;
  workDir: (deploymentId: string) => string;
  signal: AbortSignal;
  /** What this device is, for deployments that name a device or constraints (rc3); absent: not checked. */
  placement?: () => Promise<ConstraintDevice>;
}

export interface ExecutorResult {
  state: DeploymentState | "removed";
  error?: StatusError;
}
