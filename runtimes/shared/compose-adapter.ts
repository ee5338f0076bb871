/**
 * A RuntimeAdapter for any engine driven by a compose tool: apply = render the
 * model (`config`), judge it against the device's compose policy, then `up`;
 * remove = `down`; inspect = one labelled list call. Engine specifics live in a
 * ContainerEngine (runtimes/compose, runtimes/podman).
 *
 * The compose tool runs with a small fixed environment (a few keys of the
 * agent's own, plus what the engine needs). Parameters never enter it: they
 * reach compose only through the env file passed with `--env-file`
 * (runtimes/shared/env-file.ts).
 */
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { AgentError } from "../../src/errors/index.ts";
import { STRICT_POLICY, checkComposeModel, hostFs } from "../../src/packages/compose-policy.ts";
import type { Platform } from "../../src/platform/types.ts";
import type {
  ApplyContext,
  DeploymentObservation,
  LogOptions,
  DeploymentRef,
  EngineInfo,
  ProfileType,
  ResolvedComponent,
  RuntimeAdapter,
  WatchHandlers,
} from "../types.ts";
import { outlineModel, overrideYaml } from "./compose-file.ts";
import { checkRenderInputs, parseComposeSource, renderCompose } from "./compose-render.ts";
import { type ComposeTool, type ComposeToolKind, UP, composeArgv, downArgs, findComposeTool } from "./compose-tool.ts";
import { checkParameters, envFileText, parsePackageDotEnv } from "./env-file.ts";
import { containerLogs, restartContainers } from "./container-actions.ts";
import { groupObservations } from "./containers.ts";
import type { ContainerEngine } from "./engine.ts";
import { type FollowOptions, follow } from "./events.ts";
import { toolFailure } from "./failures.ts";
import { ownershipLabels, projectName } from "./naming.ts";
import { waitForProject } from "./wait.ts";

export interface ComposeAdapterOptions {
  run: Platform["run"];
  engine: ContainerEngine;
  /** `down --volumes`: also delete the component's named volumes. Default false (data survives removal). */
  removeVolumes?: boolean;
  /** Force a compose tool; "auto" (default) prefers v2, then v1. */
  composeTool?: ComposeToolKind | "auto";
  /** Environment the tools run with (PATH, HOME, ...); defaults to a few keys of process.env. */
  baseEnv?: Record<string, string>;
  /** Interval between state polls while waiting, ms. */
  pollMs?: number;
  /** After a wait succeeds, look again this much later to catch crash loops (0 disables). Default 1000. */
  settleMs?: number;
  /** Bound on one compose invocation, ms (a hung engine must not hang the agent). */
  commandTimeoutMs?: number;
  /** Reconnect timing of watch() (tests shorten it). */
  watchBackoff?: FollowOptions;
  /** Streams a process's output (container logs); without it the adapter offers no logs. */
  spawnStreaming?: Platform["spawnStreaming"];
}

/** compose's recreate lost a race with the engine's restart policy; transient. */
const RECREATE_RACE = /cannot remove container [0-9a-f]+ as it is running/;

/** Keys of the agent's own environment the tools need; everything else stays out (operator-set, never the WFM's). */
export const PASSED_ENV = [
  "PATH", "HOME", "USER", "LANG", "TMPDIR", "XDG_RUNTIME_DIR",
  "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_API_VERSION", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
] as const;

export function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  return env;
}

interface ApplyRecord {
  files: string[];
  /** The env file `up` used; `down` passes it too (absent in records of older agents). */
  envFile?: string;
}

export class ComposeAdapter implements RuntimeAdapter {
  readonly name: string;
  private tool: ComposeTool | null = null;
  private readonly baseEnv: Record<string, string>;

  constructor(private readonly opts: ComposeAdapterOptions) {
    this.name = opts.engine.name;
    this.baseEnv = opts.baseEnv ?? defaultBaseEnv();
  }

  async supportedProfiles(): Promise<ProfileType[]> {
    const v = await this.opts.engine.version();
    if (!v.reachable) return [];
    return (await this.findTool()) ? ["compose"] : [];
  }

  async engineInfo(): Promise<EngineInfo> {
    const v = await this.opts.engine.version();
    const tool = v.reachable ? await this.findTool() : null;
    const parts = [v.version, tool ? `${tool.argv.join(" ")} ${tool.version}` : "no compose tool found"].filter(Boolean);
    const code = !v.reachable ? (v.code ?? "ENGINE_UNREACHABLE") : tool ? undefined : "ENGINE_NOT_FOUND";
    return { runtime: this.name, reachable: v.reachable && tool !== null, version: parts.join("; "), detail: v.detail, code };
  }

  /** Removes (-f) the project's own containers whose ids the compose tool's error names. */
  private async forceRemoveStuck(project: string, output: string, env: Record<string, string>): Promise<void> {
    const named = new Set([...output.matchAll(/cannot remove container ([0-9a-f]{12,64})/g)].map((m) => m[1]!));
    const mine = (await this.opts.engine.list(project)).filter((row) => [...named].some((id) => row.id.startsWith(id) || id.startsWith(row.id)));
    for (const row of mine) await this.opts.run([this.opts.engine.cli, "rm", "-f", row.id], { env: { ...this.baseEnv, ...env }, timeoutMs: 60_000 });
  }

  async applyComponent(deployment: DeploymentRef, component: ResolvedComponent, ctx: ApplyContext): Promise<void> {
    const what = `applying component "${component.name}" of deployment ${deployment.deploymentId}`;
    throwIfAborted(ctx.signal, what);
    const project = projectName(deployment.deploymentId, component.name);
    const projectDir = dirname(component.composeFile);

    const engineEnv = await this.opts.engine.prepareCompose(ctx.signal);
    const tool = await this.requireTool(engineEnv, what);
    const toolEnv = { ...this.baseEnv, ...engineEnv };
    checkParameters(component.env, new Set([...PASSED_ENV, ...Object.keys(toolEnv)]), what);

    // The package's .env is merged under the parameters: --env-file replaces it for the tool.
    await mkdir(ctx.workDir, { recursive: true });
    const dotEnvText = readPackageDotEnv(projectDir, what);
    const dotEnv = dotEnvText === null ? {} : parsePackageDotEnv(dotEnvText, { ...toolEnv, ...component.env }, `${what}: the package's .env`);
    const envFile = join(ctx.workDir, `${project}.env`);
    await writeAtomic(envFile, envFileText({ ...dotEnv, ...component.env }, tool.kind), 0o600);

    // Judge what compose itself will run: nothing outside the package is read while rendering,
    // then the rendered model (same env file, project, working directory as `up`) against the policy.
    checkRenderInputs(component.composeFile, projectDir, what);
    const model = await renderCompose({
      run: this.opts.run,
      tool,
      project,
      files: [component.composeFile],
      envFile,
      env: toolEnv,
      cwd: ctx.workDir,
      signal: ctx.signal,
      timeoutMs: this.commandTimeout(0),
      what,
    });
    throwIfAborted(ctx.signal, what);
    checkComposeModel(model, component.policy ?? STRICT_POLICY, { projectDir, what });

    // The model was rendered without our override: it adds labels only (derived from that model), so
    // it cannot change what the policy judged; `up` runs the package's file with it.
    const source = parseComposeSource(component.composeFile, what) as { version?: unknown } | null;
    const outline = outlineModel(model, source?.version === undefined ? undefined : String(source.version), component.composeFile);
    const override = join(ctx.workDir, `${project}.override.yaml`);
    await writeAtomic(override, overrideYaml(outline, ownershipLabels(deployment, component.name, component.packageDigest)));
    const files = [component.composeFile, override];
    await writeAtomic(recordPath(ctx.workDir, project), JSON.stringify({ files, envFile } satisfies ApplyRecord));

    const argv = composeArgv(tool, project, files, UP, envFile);
    const up = () => this.opts.run(argv, { env: toolEnv, cwd: ctx.workDir, signal: ctx.signal, timeoutMs: this.commandTimeout(component.timeoutMs) });
    let result = await up();
    throwIfAborted(ctx.signal, what);
    if (result.code !== 0 && RECREATE_RACE.test(result.stderr)) {
      // A crash-looping container (restart policy) came back between compose
      // stopping and removing it, and now blocks every recreate. Force-remove
      // exactly the containers named, if they are this project's, and try again.
      await this.forceRemoveStuck(project, `${result.stdout}\n${result.stderr}`, engineEnv);
      result = await up();
      throwIfAborted(ctx.signal, what);
    }
    if (result.code !== 0) throw toolFailure(result, argv, what, "COMPONENT_APPLY_FAILED");

    if (component.wait) {
      await waitForProject({
        engine: this.opts.engine,
        run: this.opts.run,
        project,
        services: outline.startedServices,
        timeoutMs: component.timeoutMs,
        pollMs: this.opts.pollMs ?? 500,
        signal: ctx.signal,
        what,
        settleMs: this.opts.settleMs ?? 1000,
      });
    }
  }

  async removeComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void> {
    const what = `removing component "${componentName}" of deployment ${deployment.deploymentId}`;
    throwIfAborted(ctx.signal, what);
    const project = projectName(deployment.deploymentId, componentName);
    const record = await readRecord(recordPath(ctx.workDir, project));
    const engineEnv = await this.opts.engine.prepareCompose(ctx.signal);
    const tool = await this.requireTool(engineEnv, what);
    const env = { ...this.baseEnv, ...engineEnv };

    // compose down stops gracefully (stop_grace_period) and removes the project's networks.
    // v1 needs the files; without them (or if they are gone) the label sweep below does the work.
    const files = record && (await allExist(record.files)) ? record.files : tool.kind === "v2" ? [] : null;
    if (files) {
      // Always an env file of ours: without one the tool would read the package's .env as its settings.
      let envFile = record?.envFile;
      if (!envFile || !existsSync(envFile)) {
        envFile = join(ctx.workDir, `${project}.env`);
        await mkdir(ctx.workDir, { recursive: true });
        await writeAtomic(envFile, envFileText({}, tool.kind), 0o600);
      }
      const argv = composeArgv(tool, project, files, downArgs(this.opts.removeVolumes ?? false), envFile);
      const result = await this.opts.run(argv, { env, cwd: ctx.workDir, signal: ctx.signal, timeoutMs: this.commandTimeout(120_000) });
      throwIfAborted(ctx.signal, what);
      if (result.code !== 0) {
        // A file the tool now rejects must not block removal: the label sweep below still removes everything.
        const err = toolFailure(result, argv, what, "COMPONENT_REMOVE_FAILED");
        if (err.code === "ENGINE_NOT_FOUND" || err.code === "ENGINE_UNREACHABLE") throw err;
      }
    }
    await this.sweep(project, what, ctx.signal);
    await rm(join(ctx.workDir, `${project}.override.yaml`), { force: true });
    await rm(join(ctx.workDir, `${project}.env`), { force: true });
    await rm(recordPath(ctx.workDir, project), { force: true });
  }

  async inspect(): Promise<DeploymentObservation[]> {
    return groupObservations(await this.opts.engine.list());
  }

  /** The engine's events about our containers, reconnecting with backoff (runtimes/shared/events.ts). */
  watch(handlers: WatchHandlers, signal: AbortSignal): void {
    const events = this.opts.engine.events?.();
    if (events) void follow(events, handlers, signal, this.opts.watchBackoff);
  }

  async close(): Promise<void> {
    await this.opts.engine.close?.();
  }

  /** `<cli> restart` of the component's own containers (container-actions.ts). */
  async restartComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void> {
    const what = `restarting component "${componentName}" of deployment ${deployment.deploymentId}`;
    throwIfAborted(ctx.signal, what);
    const project = projectName(deployment.deploymentId, componentName);
    await restartContainers({ engine: this.opts.engine, run: this.opts.run, env: { ...this.baseEnv }, project, what, signal: ctx.signal });
  }

  /** The deployment's container output, found by labels (container-actions.ts). */
  async logs(deploymentId: string, opts: LogOptions): Promise<ReadableStream<Uint8Array>> {
    const spawn = this.opts.spawnStreaming;
    if (!spawn) throw new AgentError("LOGS_UNAVAILABLE", `the ${this.name} runtime was built without a way to stream process output`);
    return containerLogs({ engine: this.opts.engine, spawn, env: { ...this.baseEnv }, deploymentId, opts });
  }

  /** Removes whatever of the project is left, by labels: only containers we own, only this project's networks/volumes. */
  private async sweep(project: string, what: string, signal: AbortSignal): Promise<void> {
    const cli = this.opts.engine.cli;
    const env = { ...this.baseEnv };
    const left = await this.opts.engine.list(project);
    if (left.length) {
      const argv = [cli, "rm", "--force", "--volumes", ...left.map((r) => r.id)];
      const r = await this.opts.run(argv, { env, signal, timeoutMs: 120_000 });
      if (r.code !== 0 && !/no such container/i.test(r.stderr)) throw toolFailure(r, argv, what, "COMPONENT_REMOVE_FAILED");
    }
    const kinds = this.opts.removeVolumes ? ["network", "volume"] : ["network"];
    for (const kind of kinds) {
      const ls = [cli, kind, "ls", "--quiet", "--filter", `label=com.docker.compose.project=${project}`];
      const r = await this.opts.run(ls, { env, signal, timeoutMs: 30_000 });
      if (r.code !== 0) throw toolFailure(r, ls, what, "COMPONENT_REMOVE_FAILED");
      const ids = r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
      if (!ids.length) continue;
      const rmArgv = [cli, kind, "rm", ...ids];
      const rr = await this.opts.run(rmArgv, { env, signal, timeoutMs: 60_000 });
      if (rr.code !== 0 && !/no such|not found/i.test(rr.stderr)) throw toolFailure(rr, rmArgv, what, "COMPONENT_REMOVE_FAILED");
    }
  }

  private commandTimeout(componentTimeoutMs: number): number {
    return this.opts.commandTimeoutMs ?? Math.max(120_000, componentTimeoutMs);
  }

  private async findTool(env?: Record<string, string>): Promise<ComposeTool | null> {
    if (this.tool) return this.tool;
    const pin = this.opts.composeTool ?? "auto";
    this.tool = await findComposeTool(this.opts.run, { ...this.baseEnv, ...env }, pin === "auto" ? ["v2", "v1"] : [pin]);
    return this.tool;
  }

  private async requireTool(env: Record<string, string>, what: string): Promise<ComposeTool> {
    const tool = await this.findTool(env);
    if (!tool) {
      const wanted = this.opts.composeTool === "v1" ? "docker-compose" : this.opts.composeTool === "v2" ? "docker compose" : "docker compose (v2) or docker-compose (v1)";
      throw new AgentError("ENGINE_NOT_FOUND", `${what}: no compose tool found: install ${wanted}`);
    }
    return tool;
  }
}

/** Largest package .env the agent reads. */
const MAX_DOTENV_BYTES = 1 << 20;

/** The package's .env, if it has one: a regular file of the package itself (a symlink out of it is refused). */
function readPackageDotEnv(projectDir: string, what: string): string | null {
  const path = join(projectDir, ".env");
  if (!existsSync(path)) return null;
  const real = hostFs.realpath(path);
  const root = hostFs.realpath(projectDir);
  if (!real.startsWith(root + sep) || hostFs.kind(real) !== "file") {
    throw new AgentError("COMPOSE_POLICY_DENIED", `${what}: the package's .env is not a file of the package (it leads to ${real})`, { where: ".env" });
  }
  if (statSync(real).size > MAX_DOTENV_BYTES) throw new AgentError("COMPOSE_INVALID", `${what}: the package's .env is larger than ${MAX_DOTENV_BYTES} bytes`, { where: ".env" });
  return readFileSync(real, "utf8");
}

function recordPath(workDir: string, project: string): string {
  return join(workDir, `${project}.applied.json`);
}

async function readRecord(path: string): Promise<ApplyRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as ApplyRecord;
    return Array.isArray(parsed.files) ? parsed : null;
  } catch {
    return null;
  }
}

async function allExist(files: string[]): Promise<boolean> {
  for (const f of files) {
    try {
      await access(f);
    } catch {
      return false;
    }
  }
  return true;
}

async function writeAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

export function throwIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new AgentError("COMPONENT_APPLY_FAILED", `${what}: cancelled because a newer desired state superseded it`, { cancelled: true });
}
