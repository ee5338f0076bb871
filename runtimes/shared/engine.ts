/**
 * What a compose-file based adapter needs from its container engine. The compose
 * adapter (Docker) and the Podman adapter differ only here; the apply, wait,
 * remove and inspect logic in compose-adapter.ts is shared.
 */
import type { ErrorCode } from "../../src/errors/codes.ts";
import type { ContainerRow } from "./containers.ts";
import type { LineStream } from "./events.ts";

export interface EngineVersion {
  reachable: boolean;
  version?: string;
  detail?: string;
  /** When not reachable: ENGINE_NOT_FOUND (no such CLI) or ENGINE_UNREACHABLE (it does not answer). */
  code?: ErrorCode;
}

export interface ContainerEngine {
  /** Adapter name reported in engineInfo(): "compose" or "podman". */
  readonly name: string;
  /** The engine CLI ("docker" or "podman"), used for rm/logs/network sweeps. */
  readonly cli: string;
  /** Make the engine API the compose tool talks to available; returns env pointing the tool at it. Throws AgentError. */
  prepareCompose(signal?: AbortSignal): Promise<Record<string, string>>;
  /** ONE list call: every container carrying our managed-by label (optionally one project only). */
  list(project?: string): Promise<ContainerRow[]>;
  version(): Promise<EngineVersion>;
  /**
   * Called while waiting for a component, with its containers whose healthcheck
   * has not reported yet (Podman without systemd never schedules its checks).
   */
  nudgeHealth?(rows: ContainerRow[]): Promise<void>;
  /** One connection to the engine's event stream about our containers (JSON lines), for watch(). */
  events?(): LineStream;
  close?(): Promise<void>;
}
