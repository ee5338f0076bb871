/**
 * GET /v1/status (README, "Local status API"): the agent's snapshot, its
 * stored manifest and journal counts, the engine's answer, as one view.
 * Pure but for the store reads it is given.
 */
import type { EngineInfo } from "../../../runtimes/types.ts";
import type { AgentReadModel, AgentSnapshot } from "../../agent/read-model.ts";
import { BUILD } from "../../build-info.ts";
import type { Config } from "../../config/schema.ts";
import { META } from "../../store/meta-keys.ts";
import { bytesWrittenSinceStart } from "../proc-io.ts";
import type { BackoffView, StatusView } from "../source.ts";
import { iso, isoOrNull } from "./iso.ts";

export interface StatusInput {
  config: Config;
  executablePath: string;
  executableSha256: string | null;
  engine: EngineInfo;
  snap: AgentSnapshot;
  store: AgentReadModel["store"];
  journal: AgentReadModel["journal"];
  nowMs: number;
}

export function statusView(i: StatusInput): StatusView {
  const { config, snap, store, journal, nowMs: now } = i;
  const sender = snap.sender;
  const applied = store.getMeta(META.manifestAppliedAtMs);
  const plan = snap.lastPlan;
  return {
    agent: {
      version: BUILD.version,
      commit: BUILD.commit,
      executable: i.executablePath,
      executableSha256: i.executableSha256,
      startedAt: iso(snap.startedAtMs),
      uptimeSeconds: Math.round((now - snap.startedAtMs) / 1000),
      bytesWrittenSinceStart: bytesWrittenSinceStart(),
    },
    device: { id: config.device.id, clientId: snap.clientId ?? null },
    wfm: { url: config.wfm.url },
    poll: {
      intervalMs: config.poll.interval,
      lastAt: isoOrNull(snap.lastPoll?.atMs),
      lastOutcome: snap.lastPoll?.outcome ?? null,
      lastError: snap.lastPoll?.error ?? null,
      lastDurationMs: snap.lastPoll ? Math.round(snap.lastPoll.durationMs) : null,
      lastSuccessAt: isoOrNull(snap.lastSuccessfulPollMs),
      nextAt: isoOrNull(snap.nextPollAtMs),
      counts: { ...snap.pollCounts },
    },
    desiredState: desiredStateView(config, store),
    manifestVersion: store.lastManifestVersion()?.toString() ?? null,
    manifestAppliedAt: applied ? iso(Number(applied)) : null,
    runtime: { name: i.engine.runtime, reachable: i.engine.reachable, version: i.engine.version ?? null, detail: i.engine.detail ?? null },
    reports: { ...journal.counts(), compacted: journal.compacted() },
    sender: {
      failures: sender.failures,
      nextAttemptAt: isoOrNull(monoToWall(sender.nextAttemptAtMs, now)),
      lastError: sender.lastError ? { code: sender.lastError.code, message: sender.lastError.message, at: iso(sender.lastError.atMs) } : null,
      lastDeliveryAt: isoOrNull(sender.lastDeliveryAtMs),
      delivered: sender.delivered,
      identityProblem: sender.identityProblem ?? null,
    },
    identity: snap.identity
      ? { profile: snap.identity.profile, id: snap.identity.id, notAfter: snap.identity.notAfter ?? null, warnings: [...snap.identity.warnings], refused: snap.identity.refused ?? null }
      : null,
    downtimeWindow: downtimeView(snap, config),
    clockOffsetMs: snap.clockOffsetMs ?? null,
    lastPlan: plan
      ? { at: iso(plan.atMs), trigger: plan.trigger, steps: plan.steps.map((s) => ({ action: s.action, deploymentId: s.deploymentId, reason: s.reason, fromDigest: s.fromDigest ?? null, toDigest: s.toDigest ?? null })) }
      : null,
    backoff: backoffViews(snap, now),
    pulls: snap.pulls.map((p) => ({ deploymentId: p.deploymentId, component: p.component, reference: p.reference, bytes: p.bytes, total: p.total, startedAt: iso(p.startedAtMs) })),
  };
}

/** When each failing deployment is tried again, as wall-clock instants. */
export function backoffViews(snap: AgentSnapshot, now: number): BackoffView[] {
  return snap.backoff.map((b) => ({ deploymentId: b.deploymentId, failures: b.failures, retryInMs: b.retryInMs, nextRetryAt: iso(now + b.retryInMs) }));
}

/** performance.now()-based instants (the sender's) as wall-clock milliseconds. */
function monoToWall(mono: number | undefined, now: number): number | undefined {
  return mono === undefined ? undefined : now + (mono - performance.now());
}

function downtimeView(snap: AgentSnapshot, config: Config): StatusView["downtimeWindow"] {
  const c = snap.communication;
  if (c.allowed) return null;
  return { reason: c.reason ?? "paused", days: c.window?.days ?? [], start: c.window?.start ?? null, end: c.window?.end ?? null, timeZone: config.downtime.timeZone };
}

/** The source and, for git, the last applied commit (meta written by src/gitops only after every step ran). */
function desiredStateView(config: Config, store: AgentReadModel["store"]): StatusView["desiredState"] {
  if (config.desiredState.source !== "git") return { source: "wfm", git: null };
  const at = store.getMeta(META.gitAppliedAtMs);
  return { source: "git", git: { url: config.git.url ?? "", ref: config.git.ref, path: config.git.path, commit: store.getMeta(META.gitCommit) ?? null, appliedAt: at ? iso(Number(at)) : null } };
}
