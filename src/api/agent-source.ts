/**
 * StatusSource over a running agent's read model (src/agent/read-model.ts): an
 * immutable snapshot, read-only store and journal views, the engine's version
 * and a sync on request. It never reaches into the Agent itself.
 */
import { systemClock } from "../agent/clock.ts";
import type { AgentReadModel } from "../agent/read-model.ts";
import { META } from "../store/meta-keys.ts";
import { BUILD } from "../build-info.ts";
import type { Config } from "../config/schema.ts";
import type { EngineInfo } from "../../runtimes/types.ts";
import type { PollOutcome } from "../sync/desired-state-sync.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import type { StepOutcome } from "../reconcile/reconciler.ts";
import { ApiProblem } from "./errors.ts";
import { lazyFileDigest } from "./self-hash.ts";
import type { MetricsSnapshot, RestartResultView, StatusSource, StatusView, SyncResultView, Verdict } from "./source.ts";
import { countByState, deploymentDetail, deploymentSummaries } from "./views/deployments.ts";
import { backoffViews, statusView } from "./views/status.ts";
import { iso } from "./views/iso.ts";
import { journalView } from "./views/journal.ts";
import { liveness } from "./liveness.ts";
import { stepAllowanceMs } from "./step-allowance.ts";

export interface AgentSourceOptions {
  config: Config;
  /** platform.executablePath() */
  executablePath: string;
}

/** Engine probes may spawn a process: ask at most this often. */
const ENGINE_INFO_TTL_MS = 10_000;

function syncView(o: PollOutcome, durationMs: number): SyncResultView {
  const error = "error" in o ? { code: o.error.code, message: o.error.message } : null;
  return {
    outcome: o.outcome,
    manifestVersion: o.outcome === "applied" ? o.manifestVersion.toString() : null,
    error,
    steps:
      o.outcome === "applied"
        ? o.steps.map((s) => ({ action: s.step.action, deploymentId: s.step.deploymentId, state: s.state, error: s.error ? { code: s.error.code, message: s.error.message } : null }))
        : [],
    durationMs: Math.round(durationMs),
  };
}

export function agentStatusSource(agent: AgentReadModel, o: AgentSourceOptions): StatusSource {
  const { config } = o;
  const digest = lazyFileDigest(o.executablePath);
  // A poll (or the reconcile it triggers) may legitimately take a request timeout on top of its interval.
  const staleAfterMs = 3 * config.poll.interval + config.wfm.requestTimeout;
  let engine: { info: EngineInfo; atMs: number } | undefined;

  async function engineInfo(): Promise<EngineInfo> {
    if (engine && Date.now() - engine.atMs < ENGINE_INFO_TTL_MS) return engine.info;
    let info: EngineInfo;
    try {
      info = await agent.engineInfo();
    } catch (err) {
      info = { runtime: agent.snapshot().runtimeName, reachable: false, detail: asAgentError(err).message };
    }
    engine = { info, atMs: Date.now() };
    return info;
  }

  const clock = systemClock();
  const clockNow = () => ({ wallMs: clock.wallMs(), monoMs: clock.monoMs(), bootId: clock.bootId });

  /** The stored deployment (and component) an action names; ApiProblem 404 otherwise. */
  function knownDeployment(id: string, component: string | undefined) {
    const d = agent.store.getDeployment(id);
    if (!d) throw new ApiProblem(404, "API_NOT_FOUND", `no deployment with id ${JSON.stringify(id)} on this device`);
    if (component !== undefined && !d.components.some((c) => c.name === component)) {
      throw new ApiProblem(404, "API_NOT_FOUND", `deployment ${id} has no component ${JSON.stringify(component)} (it has ${d.components.map((c) => c.name).join(", ")})`);
    }
    return d;
  }

  return {
    async status(): Promise<StatusView> {
      const [sha, info] = await Promise.all([digest(), engineInfo()]);
      return statusView({ config, executablePath: o.executablePath, executableSha256: sha, engine: info, snap: agent.snapshot(), store: agent.store, journal: agent.journal, nowMs: Date.now() });
    },

    deployments: () => deploymentSummaries(agent.store),

    deployment: (id) => deploymentDetail(agent.store, id, agent.journal.pendingFor(id), backoffViews(agent.snapshot(), Date.now()).find((b) => b.deploymentId === id) ?? null),

    journal: () => journalView(agent.journal, { ...clockNow(), offsetMs: agent.snapshot().clockOffsetMs }),

    health(): Verdict {
      const snap = agent.snapshot();
      const nowWallMs = Date.now();
      const nowMonoMs = performance.now();
      const startedMonoMs = nowMonoMs - (nowWallMs - snap.startedAtMs);
      const progress = [startedMonoMs, snap.sender.lastWakeAtMs, snap.lastWfmAnswerMonoMs].filter((t): t is number => t !== undefined);
      return liveness({
        nowWallMs,
        nowMonoMs,
        pollDueAtWallMs: snap.nextPollAtMs ?? snap.startedAtMs,
        staleAfterMs,
        pollIntervalMs: config.poll.interval,
        lastProgressMonoMs: Math.max(...progress),
        stepAllowanceMs: () => {
          try {
            return stepAllowanceMs(agent.store.listDeployments().filter((d) => d.state === "installing" || d.state === "removing"), config.wfm.requestTimeout);
          } catch {
            return 0; // the store does not read: readiness says so; liveness just allows no step time
          }
        },
      });
    },

    async readiness(): Promise<Verdict> {
      const reasons: string[] = [];
      try {
        agent.store.getMeta(META.manifestVersion);
      } catch (err) {
        reasons.push(`state database not readable: ${asAgentError(err).message}`);
      }
      const info = await engineInfo();
      if (!info.reachable) reasons.push(`runtime ${info.runtime} not reachable${info.detail ? `: ${info.detail}` : ""}`);
      const snap = agent.snapshot();
      const last = snap.lastSuccessfulPollMs;
      if (last === undefined) {
        reasons.push(snap.lastPoll?.error ? `no successful poll yet; last error ${snap.lastPoll.error.code}: ${snap.lastPoll.error.message}` : "no poll completed yet");
      } else if (Date.now() - last > staleAfterMs) {
        const err = snap.lastPoll?.error;
        reasons.push(`last successful poll at ${iso(last)}${err ? `; since then ${err.code}: ${err.message}` : ""}`);
      }
      return { ok: reasons.length === 0, reasons };
    },

    metrics(): MetricsSnapshot {
      const snap = agent.snapshot();
      const totals = snap.reconcile;
      const polls: Record<string, number> = { "not-modified": 0, applied: 0, rejected: 0, "still-rejected": 0, retrying: 0, unreachable: 0, ...snap.pollCounts };
      return {
        version: BUILD.version,
        commit: BUILD.commit,
        polls,
        reconcile: { count: totals.count, sumSeconds: totals.sumMs / 1000, recentSeconds: totals.recentMs.map((ms) => ms / 1000) },
        deploymentsByState: countByState(agent.store.listDeployments()),
        journal: { ...agent.journal.counts(), compacted: agent.journal.compacted() },
        lastSuccessfulPollSeconds: snap.lastSuccessfulPollMs === undefined ? null : snap.lastSuccessfulPollMs / 1000,
      };
    },

    async sync(opts = {}): Promise<SyncResultView> {
      const started = performance.now();
      const outcome = await agent.syncNow(opts);
      return syncView(outcome, performance.now() - started);
    },

    async restart(id, component, opts = {}): Promise<RestartResultView> {
      const d = knownDeployment(id, component);
      if (!d.wanted) throw new ApiProblem(409, "API_CONFLICT", `deployment ${id} is being removed (the WFM no longer lists it); it cannot be restarted`);
      if (d.state !== "installed") {
        throw new ApiProblem(409, "API_CONFLICT", `deployment ${id} is ${d.state}; only an installed deployment is restarted (a failed one is retried on its own; margo-agent sync retries it now)`);
      }
      const started = performance.now();
      const o: StepOutcome = await agent.restart(id, component, opts);
      return { deploymentId: id, component: component ?? null, state: o.state, error: o.error ? { code: o.error.code, message: o.error.message } : null, durationMs: Math.round(performance.now() - started) };
    },

    async logs(id, req) {
      knownDeployment(id, req.component);
      if (!agent.logs) throw new ApiProblem(409, "LOGS_UNAVAILABLE", `the ${agent.snapshot().runtimeName} runtime runs no containers, so it has no logs to show`);
      try {
        return await agent.logs(id, { component: req.component, follow: req.follow, tail: req.tail, signal: req.signal });
      } catch (err) {
        if (err instanceof AgentError && err.code === "LOGS_UNAVAILABLE") throw new ApiProblem(409, err.code, err.message);
        throw err;
      }
    },
  };
}
