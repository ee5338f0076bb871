/**
 * The simulator's figures, from the meter, the devices' progress and the
 * error tally: one plain object for --json, rendered as text otherwise.
 * Pure (docs/simulate.md).
 */
import type { ErrorTally } from "./error-tally.ts";
import type { DeviceProgress, FleetMeter } from "./meter.ts";

export interface RouteSummary {
  route: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** HTTP status or "network" → count. */
  outcomes: Record<string, number>;
}

export interface FleetSummary {
  kind: "progress" | "summary";
  profile: "v1" | "rc3";
  elapsedSeconds: number;
  devices: { wanted: number; started: number; failedToStart: number; identified: number; polled: number; reported: number };
  requests: number;
  requestsPerSecond: number;
  reportsDelivered: number;
  routes: RouteSummary[];
  errorsByCode: Record<string, number>;
  memory: { rssMiB: number; perDeviceKiB: number | null };
}

export interface SummaryInput {
  kind: FleetSummary["kind"];
  profile: FleetSummary["profile"];
  wanted: number;
  progress: readonly DeviceProgress[];
  failedToStart: number;
  meter: FleetMeter;
  errors: ErrorTally;
  rssBytes: number;
  /** RSS once the first device ran: what the other devices cost is the growth since. */
  baseRssBytes: number;
}

export function summarize(i: SummaryInput): FleetSummary {
  const elapsed = i.meter.secondsSinceStart();
  const routes = [...i.meter.routes].map(([route, f]) => ({
    route,
    count: f.count,
    p50Ms: round(f.latency.quantile(0.5)),
    p99Ms: round(f.latency.quantile(0.99)),
    maxMs: round(f.latency.maxMs),
    outcomes: Object.fromEntries([...f.outcomes].sort()),
  }));
  routes.sort((a, b) => b.count - a.count || a.route.localeCompare(b.route));
  const started = i.progress.length;
  return {
    kind: i.kind,
    profile: i.profile,
    elapsedSeconds: round(elapsed),
    devices: {
      wanted: i.wanted,
      started,
      failedToStart: i.failedToStart,
      identified: i.progress.filter((p) => p.identified).length,
      polled: i.progress.filter((p) => p.polls > 0).length,
      reported: i.progress.filter((p) => p.reports > 0).length,
    },
    requests: i.meter.requests,
    requestsPerSecond: elapsed > 0 ? round(i.meter.requests / elapsed) : 0,
    reportsDelivered: i.meter.reportsDelivered,
    routes,
    errorsByCode: Object.fromEntries([...i.errors.byCode].sort((a, b) => b[1] - a[1])),
    memory: {
      rssMiB: round(i.rssBytes / 1048576),
      perDeviceKiB: started > 1 ? round(Math.max(0, i.rssBytes - i.baseRssBytes) / 1024 / (started - 1)) : null,
    },
  };
}

/** One line while the fleet runs. */
export function progressLine(s: FleetSummary): string {
  const d = s.devices;
  const errors = Object.values(s.errorsByCode).reduce((a, b) => a + b, 0);
  return `${s.elapsedSeconds.toFixed(0).padStart(4)}s  devices ${d.started}/${d.wanted} started, ${d.identified} identified, ${d.polled} polled, ${d.reported} reported · ${s.requestsPerSecond} req/s · ${s.reportsDelivered} reports · ${errors} errors`;
}

/** The end-of-run table. */
export function renderSummary(s: FleetSummary): string {
  const d = s.devices;
  const lines = [
    `simulated ${d.wanted} ${s.profile} devices for ${s.elapsedSeconds.toFixed(1)} s`,
    `devices     ${d.started} started${d.failedToStart ? `, ${d.failedToStart} failed to start` : ""}; ${d.identified} identified, ${d.polled} polled, ${d.reported} reported`,
    `requests    ${s.requests} (${s.requestsPerSecond}/s); reports delivered ${s.reportsDelivered}`,
    `memory      ${s.memory.rssMiB} MiB RSS${s.memory.perDeviceKiB === null ? "" : `, ${s.memory.perDeviceKiB} KiB per device (RSS growth after the first device; warm-up dominates small fleets)`}`,
    "",
    `${"route".padEnd(58)} ${"count".padStart(7)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}  answers`,
    ...s.routes.map(
      (r) =>
        `${r.route.padEnd(58)} ${String(r.count).padStart(7)} ${r.p50Ms.toFixed(1).padStart(8)} ${r.p99Ms.toFixed(1).padStart(8)} ${r.maxMs.toFixed(1).padStart(8)}  ${Object.entries(r.outcomes)
          .map(([k, v]) => `${k}×${v}`)
          .join(" ")}`,
    ),
    "",
    Object.keys(s.errorsByCode).length ? `errors by code: ${Object.entries(s.errorsByCode).map(([k, v]) => `${k} ${v}`).join(", ")}` : "errors by code: none",
  ];
  return lines.join("\n");
}

const round = (n: number) => Math.round(n * 100) / 100;
