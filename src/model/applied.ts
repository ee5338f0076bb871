/**
 * What the device has applied for one deployment, as the store keeps it: the
 * record the lifecycle (src/lifecycle/) moves from state to state.
 */
import type { ComponentStatus, DeploymentState, StatusError } from "./states.ts";

export interface AppliedDeployment {
  id: string;
  name: string;
  digest: string;
  yaml: string;
  state: DeploymentState;
  components: ComponentStatus[];
  error?: StatusError;
  /** The manifestVersion this version of the deployment arrived with (u64 as decimal text). */
  manifestVersion: string;
  /** The last version that reached installed: what a failed update rolls back to. */
  goodDigest?: string;
  goodYaml?: string;
  sinceMs: number;
  /** Attempts since the last success or new version (drives the retry backoff). */
  attempts: number;
  /** False once the WFM no longer lists it: its removal is under way or failed. */
  wanted: boolean;
}
