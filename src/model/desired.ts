/**
 * A deployment the WFM wants, as the reconciler consumes it: its verified YAML
 * and the parse of it (or the error that made it unusable, reported as failed).
 */
import type { AgentError } from "../errors/index.ts";
import type { Deployment } from "./deployment.ts";

export interface DesiredDeployment {
  digest: string;
  yaml: string;
  parsed: Deployment | AgentError;
}
