/**
 * Prometheus text exposition format 0.0.4, rendered from a snapshot. Pure, so
 * the format is unit-tested without an agent. Series are always present (zero
 * when nothing happened) so alerts and dashboards need no "absent()" tricks.
 */
import type { MetricsSnapshot } from "./source.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const QUANTILES = [0.5, 0.9, 0.99] as const;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function labels(l: Record<string, string> | undefined): string {
  if (!l || Object.keys(l).length === 0) return "";
  return `{${Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** Nearest-rank quantile of the recent window; NaN when there is no observation (as client libraries do). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

class Writer {
  private readonly lines: string[] = [];
  family(name: string, type: "counter" | "gauge" | "summary", help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, value: number, l?: Record<string, string>): this {
    this.lines.push(`${name}${labels(l)} ${num(value)}`);
    return this;
  }
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

export function renderMetrics(s: MetricsSnapshot): string {
  const w = new Writer();
  w.family("margo_agent_build_info", "gauge", "Build of the running agent; the value is always 1.");
  w.sample("margo_agent_build_info", 1, { version: s.version, commit: s.commit });

  w.family("margo_agent_polls_total", "counter", "Polls of the WFM's desired state since start, by outcome.");
  for (const outcome of Object.keys(s.polls).sort()) w.sample("margo_agent_polls_total", s.polls[outcome]!, { outcome });

  const r = "margo_agent_reconcile_duration_seconds";
  w.family(r, "summary", "Time spent reconciling (applying a new manifest or retrying failures); quantiles over the last 100 reconciles.");
  for (const q of QUANTILES) w.sample(r, quantile(s.reconcile.recentSeconds, q), { quantile: String(q) });
  w.sample(`${r}_sum`, s.reconcile.sumSeconds);
  w.sample(`${r}_count`, s.reconcile.count);

  w.family("margo_agent_deployments", "gauge", "Deployments on this device, by state.");
  for (const state of Object.keys(s.deploymentsByState).sort()) w.sample("margo_agent_deployments", s.deploymentsByState[state]!, { state });

  w.family("margo_agent_journal_pending", "gauge", "Status reports waiting to be delivered to the WFM.");
  w.sample("margo_agent_journal_pending", s.journal.pending);
  w.family("margo_agent_journal_parked", "gauge", "Status reports the WFM rejected for good (400/422); kept, not retried.");
  w.sample("margo_agent_journal_parked", s.journal.parked);
  w.family("margo_agent_journal_compacted_total", "counter", "Intermediate status reports dropped to keep the journal bounded during an outage.");
  w.sample("margo_agent_journal_compacted_total", s.journal.compacted);

  w.family("margo_agent_last_successful_poll_timestamp_seconds", "gauge", "Unix time of the last poll the WFM answered; 0 when none since start.");
  w.sample("margo_agent_last_successful_poll_timestamp_seconds", s.lastSuccessfulPollSeconds ?? 0);
  return w.text();
}
