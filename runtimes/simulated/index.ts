/**
 * The simulated runtime: runs no containers but goes through every state and
 * report exactly as a real device would. For demos without an engine and for
 * WFM vendors who want many devices on one machine. Its "containers" live in a
 * JSON file in the data directory, so restarts behave like a real engine's.
 *
 * Faults for testing a WFM: a compose file whose text contains
 * `x-simulated-fail: <message>` fails to apply with COMPONENT_APPLY_FAILED,
 * and so does a share `failureRate` of all applies (the fleet simulator's).
 *
 * The compose policy is judged on the file as written (no compose tool here
 * to render it: no interpolation, `extends` not followed), so a value that is
 * still a `${…}` reference counts as set. It runs nothing either way.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AgentError } from "../../src/errors/index.ts";
import { STRICT_POLICY, checkComposeModel } from "../../src/packages/compose-policy.ts";
import { checkRenderInputs, parseComposeSource } from "../shared/compose-render.ts";
import { checkParameters } from "../shared/env-file.ts";
import type { ApplyContext, DeploymentObservation, DeploymentRef, ResolvedComponent, RuntimeAdapter } from "../types.ts";

interface SimContainer {
  deploymentId: string;
  component: string;
  digest: string;
  packageDigest: string;
  env: Record<string, string>;
  state: "running" | "exited";
  /** How often `margo-agent restart` restarted it. */
  restarts?: number;
}

export interface SimulatedOptions {
  /** Where the simulated engine keeps its containers. */
  dataDir: string;
  /** Pretend work per component, so each state is visible on a WFM's page. */
  applyDelayMs?: number;
  /** Share of applies that fail with COMPONENT_APPLY_FAILED (0–1), for a fleet that is not all green (`margo-agent simulate`). */
  failureRate?: number;
  /** False: the containers live in memory only (many simulated devices in one process write no engine file). Default true. */
  persist?: boolean;
  random?: () => number;
}

export class SimulatedRuntime implements RuntimeAdapter {
  readonly name = "simulated";
  private readonly file: string;
  private containers: Map<string, SimContainer>;

  constructor(private readonly o: SimulatedOptions) {
    this.file = join(o.dataDir, "simulated-engine.json");
    this.containers = o.persist === false ? new Map() : this.load();
  }

  private load(): Map<string, SimContainer> {
    try {
      const list = JSON.parse(readFileSync(this.file, "utf8")) as SimContainer[];
      return new Map(list.map((c) => [`${c.deploymentId}/${c.component}`, c]));
    } catch {
      return new Map();
    }
  }

  private save(): void {
    if (this.o.persist === false) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.containers.values()]));
    renameSync(tmp, this.file);
  }

  async supportedProfiles() {
    return ["compose" as const];
  }

  async engineInfo() {
    return { runtime: "simulated", reachable: true, version: "simulated (no containers run)" };
  }

  async applyComponent(deployment: DeploymentRef, component: ResolvedComponent, ctx: ApplyContext): Promise<void> {
    const what = `applying component "${component.name}" of deployment ${deployment.deploymentId}`;
    checkParameters(component.env, new Set(), what);
    const model = parseComposeSource(component.composeFile, what) as { services?: unknown } | null;
    if (model && typeof model === "object" && model.services) {
      const projectDir = dirname(component.composeFile);
      checkRenderInputs(component.composeFile, projectDir, what);
      checkComposeModel(model, component.policy ?? STRICT_POLICY, { projectDir, what });
    }
    const text = readFileSync(component.composeFile, "utf8");
    if (this.o.applyDelayMs) await sleep(this.o.applyDelayMs, ctx.signal);
    const fault = /x-simulated-fail:\s*(.+)/.exec(text);
    if (fault) throw new AgentError("COMPONENT_APPLY_FAILED", `simulated failure: ${fault[1]!.trim()}`);
    const rate = this.o.failureRate ?? 0;
    if (rate > 0 && (this.o.random ?? Math.random)() < rate) throw new AgentError("COMPONENT_APPLY_FAILED", `simulated failure (failure rate ${rate})`);
    this.containers.set(`${deployment.deploymentId}/${component.name}`, {
      deploymentId: deployment.deploymentId,
      component: component.name,
      digest: deployment.digest,
      packageDigest: component.packageDigest,
      env: component.env,
      state: "running",
    });
    this.save();
  }

  async removeComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void> {
    if (this.o.applyDelayMs) await sleep(this.o.applyDelayMs, ctx.signal);
    if (this.containers.delete(`${deployment.deploymentId}/${componentName}`)) this.save();
  }

  /** A restart of a simulated container: it runs (again), and counts the restart. It has no logs to show. */
  async restartComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void> {
    const c = this.containers.get(`${deployment.deploymentId}/${componentName}`);
    if (!c) throw new AgentError("COMPONENT_APPLY_FAILED", `restarting component "${componentName}" of deployment ${deployment.deploymentId}: no container of the component exists`);
    if (this.o.applyDelayMs) await sleep(this.o.applyDelayMs, ctx.signal);
    c.state = "running";
    c.restarts = (c.restarts ?? 0) + 1;
    this.save();
  }

  async inspect(): Promise<DeploymentObservation[]> {
    const byDeployment = new Map<string, DeploymentObservation>();
    for (const c of this.containers.values()) {
      const obs = byDeployment.get(c.deploymentId) ?? { deploymentId: c.deploymentId, components: [] };
      obs.components.push({ name: c.component, state: c.state, digest: c.digest });
      byDeployment.set(c.deploymentId, obs);
    }
    return [...byDeployment.values()];
  }

  /** Test and demo hook: what a component was started with. */
  container(deploymentId: string, component: string): SimContainer | undefined {
    return this.containers.get(`${deploymentId}/${component}`);
  }

  /** Test hook: make drift happen, as if someone removed a container by hand. */
  removeBehindAgentsBack(deploymentId: string, component: string): void {
    this.containers.delete(`${deploymentId}/${component}`);
    this.save();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}
