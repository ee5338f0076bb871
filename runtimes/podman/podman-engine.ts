/**
 * Podman as a compose engine: listing with `podman ps --format json` (one
 * process per inspect cycle, no daemon needed) and the compose tool pointed at
 * Podman's Docker-compatible API socket. See README.md for why this mechanism.
 */
import { access } from "node:fs/promises";
import { AgentError } from "../../src/errors/index.ts";
import type { Platform } from "../../src/platform/types.ts";
import type { ContainerRow } from "../shared/containers.ts";
import { healthFromStatus } from "../shared/containers.ts";
import type { ContainerEngine, EngineVersion } from "../shared/engine.ts";
import { cliLines, type LineStream } from "../shared/events.ts";
import { toolFailure } from "../shared/failures.ts";
import { LABEL, MANAGED_BY } from "../shared/naming.ts";
import { PodmanApiSocket } from "./api-socket.ts";

export interface PodmanEngineOptions {
  run: Platform["run"];
  env: Record<string, string>;
  podman?: string;
  socketPath: string;
  idleSeconds?: number;
}

export class PodmanEngine implements ContainerEngine {
  readonly name = "podman";
  readonly cli: string;
  private readonly socket: PodmanApiSocket;
  private systemdBooted: Promise<boolean> | null = null;

  constructor(private readonly opts: PodmanEngineOptions) {
    this.cli = opts.podman ?? "podman";
    this.socket = new PodmanApiSocket({
      run: opts.run,
      env: opts.env,
      podman: this.cli,
      socketPath: opts.socketPath,
      idleSeconds: opts.idleSeconds ?? 120,
    });
  }

  async prepareCompose(): Promise<Record<string, string>> {
    await this.socket.ensure();
    return { DOCKER_HOST: this.socket.dockerHost };
  }

  async list(project?: string): Promise<ContainerRow[]> {
    const argv = [this.cli, "ps", "--all", "--filter", `label=${LABEL.managedBy}=${MANAGED_BY}`];
    if (project) argv.push("--filter", `label=${LABEL.composeProject}=${project}`);
    argv.push("--format", "json");
    const r = await this.opts.run(argv, { env: this.opts.env, timeoutMs: 30_000 });
    if (r.code !== 0) throw toolFailure(r, argv, "listing the agent's containers", "ENGINE_UNREACHABLE");
    return parsePodmanPs(r.stdout);
  }

  /**
   * `podman events` reads Podman's event log itself (file or journald), so it
   * needs no API service; it is a resident process (≈33 MiB RSS, most of it the
   * podman binary's shared pages), the price of seeing drift without polling.
   */
  events(): LineStream {
    return cliLines([this.cli, "events", "--format", "json", "--filter", "type=container", "--filter", `label=${LABEL.managedBy}=${MANAGED_BY}`], this.opts.env);
  }

  async version(): Promise<EngineVersion> {
    const argv = [this.cli, "version", "--format", "{{.Server.Version}}"];
    const r = await this.opts.run(argv, { env: this.opts.env, timeoutMs: 15_000 });
    if (r.code === 0 && r.stdout.trim()) return { reachable: true, version: `podman ${r.stdout.trim()}` };
    const err = toolFailure(r, argv, "asking Podman for its version", "ENGINE_UNREACHABLE");
    return { reachable: false, detail: `${err.code}: ${err.message}`, code: err.code };
  }

  /**
   * Podman schedules healthchecks with systemd timers; without systemd they never
   * run and a container stays "starting" forever. While waiting we run the
   * pending checks ourselves (only then: never in inspect()).
   */
  async nudgeHealth(rows: ContainerRow[]): Promise<void> {
    this.systemdBooted ??= access("/run/systemd/system").then(() => true, () => false);
    if (await this.systemdBooted) return;
    for (const row of rows) {
      await this.opts.run([this.cli, "healthcheck", "run", row.id], { env: this.opts.env, timeoutMs: 30_000 });
    }
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}

interface PodmanPsEntry {
  Id: string;
  State: string;
  Status?: string;
  ExitCode?: number;
  StartedAt?: number;
  Labels?: Record<string, string> | null;
}

export function parsePodmanPs(stdout: string): ContainerRow[] {
  if (!stdout.trim()) return [];
  let entries: PodmanPsEntry[];
  try {
    entries = JSON.parse(stdout) as PodmanPsEntry[];
  } catch {
    throw new AgentError("ENGINE_UNREACHABLE", `podman ps printed something that is not JSON: ${stdout.slice(0, 200)}`);
  }
  return (entries ?? []).map((e) => {
    const row: ContainerRow = { id: e.Id, labels: e.Labels ?? {}, state: e.State.toLowerCase() };
    const health = healthFromStatus(e.Status ?? "");
    if (health) row.health = health;
    if (row.state === "exited" || row.state === "stopped") row.exitCode = e.ExitCode ?? 0;
    if (row.state === "restarting" && e.ExitCode !== undefined) row.exitCode = e.ExitCode;
    if (typeof e.StartedAt === "number" && e.StartedAt > 0) row.startedAt = e.StartedAt;
    return row;
  });
}
