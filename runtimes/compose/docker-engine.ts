/**
 * The Docker engine as the compose adapter sees it: the `docker` CLI for listing
 * (one `docker ps` per inspect cycle) and the daemon the compose tool talks to.
 * The CLI negotiates the API version with the daemon, so a newer client works
 * against an older dockerd (e.g. client 28 with Debian's dockerd 20.10).
 */
import { AgentError } from "../../src/errors/index.ts";
import type { Platform } from "../../src/platform/types.ts";
import { type ContainerRow, exitCodeFromStatus, healthFromStatus } from "../shared/containers.ts";
import type { ContainerEngine, EngineVersion } from "../shared/engine.ts";
import { cliLines, dockerSocketLines, dockerSocketPath, type LineStream } from "../shared/events.ts";
import { toolFailure } from "../shared/failures.ts";
import { LABEL, MANAGED_BY } from "../shared/naming.ts";

/** Labels read back from `docker ps`; `{{json}}` keeps any character in a value safe. */
const READ_LABELS = [LABEL.deploymentId, LABEL.component, LABEL.digest, LABEL.composeService, LABEL.composeProject, LABEL.managedBy, LABEL.job];

const PS_FORMAT =
  `{"id":{{json .ID}},"state":{{json .State}},"status":{{json .Status}},"labels":{` +
  READ_LABELS.map((l) => `${JSON.stringify(l)}:{{json (.Label ${JSON.stringify(l)})}}`).join(",") +
  `}}`;

export interface DockerEngineOptions {
  run: Platform["run"];
  env: Record<string, string>;
  /** The docker CLI binary. */
  docker?: string;
}

export class DockerEngine implements ContainerEngine {
  readonly name = "compose";
  readonly cli: string;

  constructor(private readonly opts: DockerEngineOptions) {
    this.cli = opts.docker ?? "docker";
  }

  async prepareCompose(): Promise<Record<string, string>> {
    return {};
  }

  async list(project?: string): Promise<ContainerRow[]> {
    const argv = [this.cli, "ps", "--all", "--no-trunc", "--filter", `label=${LABEL.managedBy}=${MANAGED_BY}`];
    if (project) argv.push("--filter", `label=${LABEL.composeProject}=${project}`);
    argv.push("--format", PS_FORMAT);
    const r = await this.opts.run(argv, { env: this.opts.env, timeoutMs: 30_000 });
    if (r.code !== 0) throw toolFailure(r, argv, "listing the agent's containers", "ENGINE_UNREACHABLE");
    return parseDockerPs(r.stdout);
  }

  /**
   * Docker's /events over the local socket: no process of our own (a `docker
   * events` CLI stays resident at ≈24 MiB). A remote DOCKER_HOST or a context
   * goes through the CLI, which knows how to reach it.
   */
  events(): LineStream {
    const socket = dockerSocketPath(this.opts.env);
    if (socket) return dockerSocketLines(socket);
    const filters = ["type=container", `label=${LABEL.managedBy}=${MANAGED_BY}`, "event=die", "event=stop", "event=kill", "event=destroy"];
    return cliLines([this.cli, "events", "--format", "{{json .}}", ...filters.flatMap((f) => ["--filter", f])], this.opts.env);
  }

  async version(): Promise<EngineVersion> {
    const argv = [this.cli, "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"];
    const r = await this.opts.run(argv, { env: this.opts.env, timeoutMs: 15_000 });
    if (r.code === 0 && r.stdout.trim()) return { reachable: true, version: `docker ${r.stdout.trim()}` };
    const err = toolFailure(r, argv, "asking the Docker engine for its version", "ENGINE_UNREACHABLE");
    return { reachable: false, detail: `${err.code}: ${err.message}`, code: err.code };
  }
}

/** Parses `docker ps --format PS_FORMAT` output, one JSON object per line. */
export function parseDockerPs(stdout: string): ContainerRow[] {
  const rows: ContainerRow[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let raw: { id: string; state: string; status: string; labels: Record<string, string> };
    try {
      raw = JSON.parse(line);
    } catch {
      throw new AgentError("ENGINE_UNREACHABLE", `docker ps printed a line that is not the requested format: ${line.slice(0, 200)}`);
    }
    const labels = Object.fromEntries(Object.entries(raw.labels).filter(([, v]) => v !== "" && v != null));
    const row: ContainerRow = { id: raw.id, labels, state: raw.state.toLowerCase() };
    const health = healthFromStatus(raw.status);
    if (health) row.health = health;
    const exit = exitCodeFromStatus(raw.status);
    if (exit !== undefined) row.exitCode = exit;
    rows.push(row);
  }
  return rows;
}
