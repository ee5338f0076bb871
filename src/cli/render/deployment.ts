/** `deployments ID`: one deployment in detail. Pure: JSON in, text out. */
import type { DeploymentDetail } from "../../api/source.ts";
import { type Painter, stateStyle } from "./color.ts";
import { renderTable } from "./table.ts";
import { relativeTime, truncate } from "./text.ts";

export function renderDeployment(d: DeploymentDetail, nowMs: number, paint: Painter): string {
  const f = (label: string, value: string) => `${paint(label.padEnd(15), "dim")}${value}`;
  const out = [
    f("id", d.id),
    f("name", d.name),
    f("state", `${paint(d.state, stateStyle(d.state))} since ${relativeTime(d.since, nowMs)} (${d.since})${d.wanted ? "" : ", no longer wanted: removal under way or failed"}`),
  ];
  if (d.error) out.push(f("error", paint(`${d.error.code}: ${d.error.message}`, "red")));
  out.push(f("digest", d.digest), f("last good", d.lastKnownGoodDigest ?? "none"), f("manifest", d.manifestVersion), f("profile", d.profileType ?? "unknown"));
  if (d.retry) out.push(f("retry", `after ${d.retry.failures} failure(s), ${relativeTime(d.retry.nextRetryAt, nowMs)}`));
  out.push(f("reports", `${d.pendingReports} pending`));
  if (d.parseError) out.push(f("stored YAML", paint(`${d.parseError.code}: ${d.parseError.message}`, "red")));
  out.push("", renderTable(["COMPONENT", "STATE", "ERROR"], d.components.map((c) => [c.name, { text: c.state, style: stateStyle(c.state) }, c.error ? { text: truncate(`${c.error.code}: ${c.error.message}`, 80), style: "red" as const } : ""]), paint));
  if (d.parameters.length) {
    out.push("", renderTable(["PARAMETER", "VALUE", "TARGETS"], d.parameters.map((p) => [p.name, truncate(typeof p.value === "string" ? p.value : JSON.stringify(p.value), 40), p.targets.map((t) => `${t.pointer} → ${t.components.join(",")}`).join("; ")]), paint));
  }
  if (d.history.length) {
    out.push("", renderTable(["WHEN", "STATE", "ERROR"], d.history.map((h) => [`${relativeTime(h.at, nowMs)}`, { text: h.state, style: stateStyle(h.state) }, h.error ? truncate(`${h.error.code}: ${h.error.message}`, 80) : ""]), paint));
  }
  return out.join("\n");
}
