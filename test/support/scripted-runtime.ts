/**
 * The simulated runtime with failures on cue: every call goes to a real
 * SimulatedRuntime (its containers live in a file, as an engine's would),
 * unless a rule the test set up matches first: fail this apply, abort the stop
 * signal during that removal, pretend the engine is missing. Every call is
 * logged, in order, for the test to read back.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../../src/errors/index.ts";
import type { ErrorCode } from "../../src/errors/codes.ts";
import { SimulatedRuntime } from "../../runtimes/simulated/index.ts";
import type { ComponentResolver } from "../../src/reconcile/component-resolver.ts";
import type { ApplyContext, DeploymentObservation, DeploymentRef, EngineInfo, ProfileType, ResolvedComponent, RuntimeAdapter } from "../../runtimes/types.ts";

export type Op = "apply" | "remove";

export interface Call {
  op: Op;
  deploymentId: string;
  component: string;
  /** The deployment digest the call was made for. */
  digest: string;
}

/** Which calls a rule applies to; an absent field matches anything. */
export interface Match {
  deploymentId?: string;
  component?: string;
  digest?: string;
}

type Hook = (call: Call, ctx: ApplyContext) => void | Promise<void>;

interface Rule {
  op: Op;
  match: Match;
  left: number;
  hook: Hook;
}

export class ScriptedRuntime implements RuntimeAdapter {
  readonly name = "scripted";
  readonly calls: Call[] = [];
  readonly engine: SimulatedRuntime;
  /** What supportedProfiles() answers. */
  profiles: ProfileType[] = ["compose"];
  /** What engineInfo() answers. */
  info: EngineInfo = { runtime: "scripted", reachable: true, version: "scripted" };
  /** What inspect() throws, when set (an engine that does not answer). */
  inspectError: Error | undefined;
  private readonly rules: Rule[] = [];

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.engine = new SimulatedRuntime({ dataDir });
  }

  /** Runs `hook` before matching calls (at most `times` of them); a hook that throws fails the call. */
  on(op: Op, match: Match, hook: Hook, times = Number.POSITIVE_INFINITY): this {
    this.rules.push({ op, match, left: times, hook });
    return this;
  }

  /** Matching calls fail with this AgentError (COMPONENT_APPLY_FAILED / COMPONENT_REMOVE_FAILED unless `code` is given). */
  failOn(op: Op, match: Match, message: string, opts: { times?: number; code?: ErrorCode } = {}): this {
    const code = opts.code ?? (op === "apply" ? "COMPONENT_APPLY_FAILED" : "COMPONENT_REMOVE_FAILED");
    return this.on(op, match, () => {
      throw new AgentError(code, message);
    }, opts.times);
  }

  /** Forget every rule (the engine "recovers"). */
  heal(): void {
    this.rules.length = 0;
  }

  /** The calls of one kind, as "deploymentId/component@digest" (digest shortened to its first 8 hex digits). */
  log(op?: Op): string[] {
    return this.calls.filter((c) => !op || c.op === op).map((c) => `${c.op} ${c.deploymentId}/${c.component}@${c.digest.slice(7, 15)}`);
  }

  async supportedProfiles(): Promise<ProfileType[]> {
    return [...this.profiles];
  }

  async engineInfo(): Promise<EngineInfo> {
    return { ...this.info };
  }

  async applyComponent(deployment: DeploymentRef, component: ResolvedComponent, ctx: ApplyContext): Promise<void> {
    await this.run({ op: "apply", deploymentId: deployment.deploymentId, component: component.name, digest: deployment.digest }, ctx);
    await this.engine.applyComponent(deployment, component, ctx);
  }

  async removeComponent(deployment: DeploymentRef, componentName: string, ctx: ApplyContext): Promise<void> {
    await this.run({ op: "remove", deploymentId: deployment.deploymentId, component: componentName, digest: deployment.digest }, ctx);
    await this.engine.removeComponent(deployment, componentName, ctx);
  }

  async inspect(): Promise<DeploymentObservation[]> {
    if (this.inspectError) throw this.inspectError;
    return this.engine.inspect();
  }

  private async run(call: Call, ctx: ApplyContext): Promise<void> {
    this.calls.push(call);
    for (const rule of this.rules) {
      if (rule.op !== call.op || rule.left <= 0) continue;
      const m = rule.match;
      if ((m.deploymentId && m.deploymentId !== call.deploymentId) || (m.component && m.component !== call.component) || (m.digest && m.digest !== call.digest)) continue;
      rule.left--;
      await rule.hook(call, ctx);
    }
  }
}

/**
 * A resolver without a package server: each component's compose file is
 * written under `dir`, naming its packageLocation (so each version of a
 * deployment is a different file). A packageLocation in `failing` fails to
 * resolve, as a download or digest check would.
 */
export function scriptedResolver(dir: string, failing: Map<string, AgentError> = new Map()): ComponentResolver & { failing: Map<string, AgentError> } {
  const resolve = async (deployment: Parameters<ComponentResolver>[0], component: Parameters<ComponentResolver>[1]) => {
    const location = component.packageLocation ?? `${component.repository ?? "none"}@${component.revision ?? ""}`;
    const failure = failing.get(location);
    if (failure) throw failure;
    const at = join(dir, "packages", deployment.id, component.name);
    mkdirSync(at, { recursive: true });
    const composeFile = join(at, "compose.yaml");
    writeFileSync(composeFile, `# from ${location}\nservices:\n  ${component.name}:\n    image: localhost/test/${component.name}:1\n`);
    return { name: component.name, composeFile, packageDigest: `sha256:${"0".repeat(64)}`, env: deployment.env[component.name] ?? {}, wait: component.wait, timeoutMs: component.timeoutMs };
  };
  return Object.assign(resolve, { failing });
}
