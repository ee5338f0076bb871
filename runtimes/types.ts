/**
 * The one interface between the agent and a container runtime. The reconciler
 * in src/ talks only to this; an adapter (compose on Docker, Podman, a future
 * Helm one) implements it without touching src/.
 */
import type { ErrorCode } from "../src/errors/codes.ts";
import type { AgentError } from "../src/errors/index.ts";
import type { ComposePolicy } from "../src/packages/compose-policy.ts";

import type { ProfileType } from "../src/model/deployment.ts";

export type { ProfileType };

/** A component ready to apply: its package already downloaded, verified and unpacked. */
export interface ResolvedComponent {
  name: string;
  /** Absolute path of the compose file inside the agent's data directory. */
  composeFile: string;
  /** Digest of the package bytes (sha256:<hex>), for labels and caching. */
  packageDigest: string;
  /**
   * Parameters for this component: pointer → value, variables for compose
   * interpolation only. Never a process environment, never passed through a shell.
   */
  env: Record<string, string>;
  /**
   * What the device allows this component to ask of the host; the adapter
   * judges the model it will run against it before starting anything
   * (COMPOSE_POLICY_DENIED). Absent: the strictest policy.
   */
  policy?: ComposePolicy;
  /** Wait until running (healthy when a healthcheck exists) before the next component. */
  wait: boolean;
  /** Bound on that wait, in milliseconds. */
  timeoutMs: number;
  /**
   * Given the adapter's failure, a truer one when the agent can tell (an image
   * the engine could not get: asked of the registry itself). Never throws.
   */
  explainFailure?: (err: AgentError) => Promise<AgentError>;
}

export interface DeploymentRef {
  deploymentId: string;
  /** metadata.name of the ApplicationDeployment. */
  name: string;
  /** Digest of the ApplicationDeployment YAML (sha256:<hex>); labelled on everything created. */
  digest: string;
}

export interface ApplyContext {
  /** Aborted when a newer desired state made this work stale (Ankaios-style retry token). */
  signal: AbortSignal;
  /** A directory under the agent's data directory that belongs to this deployment. */
  workDir: string;
}

/** "completed": a one-shot service (no restart policy) that exited 0 — done, not drifted. */
export type ObservedState = "running" | "starting" | "unhealthy" | "exited" | "completed" | "missing";

export interface ComponentObservation {
  name: string;
  state: ObservedState;
  /** Exit code of the first exited container, when state is "exited". */
  exitCode?: number;
  /** The deployment digest found on the containers' labels. */
  digest?: string;
  detail?: string;
}

export interface DeploymentObservation {
  deploymentId: string;
  components: ComponentObservation[];
}

export interface EngineInfo {
  /** Adapter name: "podman", "compose", "simulated", "unsupported". */
  runtime: string;
  reachable: boolean;
  /** Engine and compose tool versions, as the engine reports them. */
  version?: string;
  detail?: string;
  /** Why it cannot run anything now, when it cannot: ENGINE_NOT_FOUND or ENGINE_UNREACHABLE. */
  code?: ErrorCode;
}


/** Something happened to one of the agent's containers that may be drift: it died, was stopped, killed or removed. */
export interface EngineEvent {
  action: "die" | "stop" | "kill" | "remove";
  containerId: string;
  /** From the container's labels, when the engine sent them. */
  deploymentId?: string;
  component?: string;
}

export interface WatchHandlers {
  onEvent(event: EngineEvent): void;
  /** The event stream is connected (true) or dropped (false, with why); the adapter reconnects by itself, with backoff. */
  onStatus?(up: boolean, detail?: string): void;
}

export interface LogOptions {
  /** Only this component's containers (all of the deployment's when absent). */
  component?: string;
  /** Keep streaming new output until the signal aborts. */
  follow: boolean;
  /** Only the last N lines of each container (all when absent). */
  tail?: number;
  /** Ends the stream (and the engine's log process). */
  signal: AbortSignal;
}

export interface RuntimeAdapter {
  readonly name: string;
  /** What this adapter can run on this device now (feeds supportedDeploymentTypes). */
  supportedProfiles(): Promise<ProfileType[]>;
  engineInfo(): Promise<EngineInfo>;
  /**
   * Create or update one component; resolves when it is up (and, with wait, running). Throws AgentError;
   * COMPOSE_POLICY_DENIED (nothing started) when what it would run breaks `component.policy`.
   */
  applyComponent(deployment: DeploymentRef, component: ResolvedComponent, ctx: ApplyContext): Promise<void>;
  /** Remove one component's containers and networks. Idempotent. Throws AgentError. */
  removeComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void>;
  /** Everything this agent owns on the engine, found by labels. Never lists containers it does not own. */
  inspect(): Promise<DeploymentObservation[]>;
  /**
   * Optional: follow the engine's events about the agent's containers until
   * `signal` aborts (src/agent/drift-watch.ts turns them into drift checks, so an
   * idle device needs no periodic inspection while the stream is up). Returns at once.
   */
  watch?(handlers: WatchHandlers, signal: AbortSignal): void;
  /**
   * Restarts one component's containers in place (an operator's `margo-agent
   * restart`); resolves when they run again. Absent: this runtime cannot. Throws AgentError.
   */
  restartComponent?(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void>;
  /**
   * The output (stdout and stderr) of a deployment's containers, found by the
   * agent's labels: the caller needs no project names. Lines are prefixed with
   * `component/service | ` when more than one container is shown. Absent: this
   * runtime runs no containers. Throws AgentError LOGS_UNAVAILABLE when none exist.
   */
  logs?(deploymentId: string, opts: LogOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * Releases what the adapter itself started (Podman: the `podman system
   * service` it runs when no API socket answers). The Agent calls it once, as
   * it stops; workloads are left running.
   */
  close?(): Promise<void>;
}
