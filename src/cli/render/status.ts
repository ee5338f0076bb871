/**
 * The `status` screen: a header (WFM, last poll, manifestVersion, reports) and
 * one line per deployment. Pure: takes the API's JSON, returns text.
 */
import type { DeploymentSummary, StatusView } from "../../api/source.ts";
import type { StoredState } from "../../api/offline.ts";
import { type Painter, stateStyle } from "./color.ts";
import { renderTable } from "./table.ts";
import { relativeTime, shortId, truncate } from "./text.ts";

const ERROR_WIDTH = 72;

export function renderDeploymentTable(deployments: readonly DeploymentSummary[], nowMs: number, paint: Painter): string {
  if (deployments.length === 0) return paint("no deployments", "dim");
  return renderTable(
    ["ID", "NAME", "STATE", "SINCE", "ERROR"],
    deployments.map((d) => [
      shortId(d.id),
      truncate(d.name, 30),
      { text: d.wanted ? d.state : `${d.state} (removing)`, style: stateStyle(d.state) },
      relativeTime(d.since, nowMs),
      d.error ? { text: truncate(`${d.error.code}: ${d.error.message}`, ERROR_WIDTH), style: "red" as const } : "",
    ]),
    paint,
  );
}

function reportsLine(r: { pending: number; parked: number; compacted: number }, paint: Painter): string {
  const parts = [`${r.pending} pending`, r.parked ? paint(`${r.parked} parked (rejected by the WFM)`, "red") : "0 parked"];
  if (r.compacted) parts.push(`${r.compacted} compacted`);
  return parts.join(", ");
}

function field(label: string, value: string, paint: Painter): string {
  return `${paint(label.padEnd(17), "dim")}${value}`;
}

export function renderStatus(s: StatusView, deployments: readonly DeploymentSummary[], nowMs: number, paint: Painter): string {
  const lastPoll = s.poll.lastAt
    ? `${relativeTime(s.poll.lastAt, nowMs)}: ${s.poll.lastError ? paint(`${s.poll.lastOutcome} (${s.poll.lastError.code}: ${truncate(s.poll.lastError.message, 80)})`, s.poll.lastOutcome === "unreachable" ? "yellow" : "red") : paint(s.poll.lastOutcome ?? "", "green")}`
    : "none yet";
  const lines = [
    field("agent", `margo-agent ${s.agent.version} (${s.agent.commit}), up ${relativeTime(s.agent.startedAt, nowMs).replace(/ ago$/, "")}`, paint),
    field("WFM", `${s.wfm.url}${s.device.clientId ? ` as ${s.device.clientId}` : ""}`, paint),
    field("last poll", lastPoll, paint),
    field("next poll", s.poll.nextAt ? relativeTime(s.poll.nextAt, nowMs) : "not scheduled", paint),
    ...(s.desiredState?.git
      ? [field("git", `${s.desiredState.git.url} ${s.desiredState.git.ref}: ${s.desiredState.git.commit ? `${s.desiredState.git.commit.slice(0, 12)}${s.desiredState.git.appliedAt ? `, applied ${relativeTime(s.desiredState.git.appliedAt, nowMs)}` : ""}` : "none applied yet"}`, paint)]
      : [field("manifestVersion", s.manifestVersion ?? "none applied yet", paint)]),
    field("runtime", `${runtimeLabel(s.runtime)}${s.runtime.reachable ? "" : paint(` not reachable${s.runtime.detail ? `: ${truncate(s.runtime.detail, 60)}` : ""}`, "red")}`, paint),
    field("reports", reportsLine(s.reports, paint), paint),
    ...(s.downtimeWindow ? [field("paused", paint(`${s.downtimeWindow.reason}${s.downtimeWindow.start ? ` (${s.downtimeWindow.days.join(",") || "daily"} ${s.downtimeWindow.start}-${s.downtimeWindow.end} ${s.downtimeWindow.timeZone})` : ""}`, "yellow"), paint)] : []),
  ];
  if (s.sender.lastError && s.sender.failures > 0) {
    lines.push(field("reporting", paint(`${s.sender.failures} failed round(s), next ${relativeTime(s.sender.nextAttemptAt, nowMs)}: ${s.sender.lastError.code}: ${truncate(s.sender.lastError.message, 80)}`, "yellow"), paint));
  }
  const refused = s.identity?.refused;
  if (refused) {
    const next = refused.reonboardAt ? `; onboarding again ${relativeTime(refused.reonboardAt, nowMs)}` : "; not onboarding again (wfm.clientId set, or identity.reonboardAfter 0)";
    lines.push(field("identity", paint(`the WFM refuses clientId ${refused.clientId} since ${relativeTime(refused.since, nowMs)} (${refused.status}: ${truncate(refused.detail, 80)}): it may not know this device any more${next}`, "red"), paint));
  } else if (s.sender.identityProblem) lines.push(field("identity", paint(truncate(s.sender.identityProblem, 100), "red"), paint));
  for (const w of s.identity?.warnings ?? []) if (!refused || !w.includes("refuses clientId")) lines.push(field("identity", paint(truncate(w, 120), "yellow"), paint));
  for (const p of s.pulls ?? []) lines.push(field("pulling", `${shortId(p.deploymentId)}/${p.component} ${p.reference}: ${mib(p.bytes)} of ${mib(p.total)} MiB (${p.total ? Math.floor((100 * p.bytes) / p.total) : 0}%)`, paint));
  for (const b of s.backoff) lines.push(field("retry", `${shortId(b.deploymentId)} after ${b.failures} failure(s), ${relativeTime(b.nextRetryAt, nowMs)}`, paint));
  return `${lines.join("\n")}\n\n${renderDeploymentTable(deployments, nowMs, paint)}`;
}

export function renderStoredState(s: StoredState, deployments: readonly DeploymentSummary[], why: string, nowMs: number, paint: Painter): string {
  const lines = [
    paint(`The agent is not running (${why}).`, "red"),
    `It last wrote its state ${relativeTime(s.lastWriteAt, nowMs)} (${s.lastWriteAt}); showing the state stored in ${s.database}.`,
    "",
    field("last change", s.lastStateChangeAt ? `${relativeTime(s.lastStateChangeAt, nowMs)} (${s.lastStateChangeAt})` : "none", paint),
    field("manifestVersion", s.manifestVersion ? `${s.manifestVersion}${s.manifestAppliedAt ? `, applied ${relativeTime(s.manifestAppliedAt, nowMs)} (${s.manifestAppliedAt})` : ""}` : "none applied yet", paint),
    field("reports", reportsLine(s.reports, paint), paint),
  ];
  return `${lines.join("\n")}\n\n${renderDeploymentTable(deployments, nowMs, paint)}`;
}

/** "podman 4.3.1; docker-compose 1.29.2", not "podman podman 4.3.1; …" when the version already names the engine. */
function runtimeLabel(r: { name: string; version: string | null }): string {
  if (!r.version) return r.name;
  return r.version.startsWith(r.name) ? r.version : `${r.name} ${r.version}`;
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
