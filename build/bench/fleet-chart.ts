/**
 * The outage-recovery histogram of `bun build/bench-fleet.ts` as SVG (pure):
 * requests the WFM answered per second, and reports delivered per second,
 * from a while before the outage to the end of the run, with the outage
 * shaded. build/bench-fleet.ts rasterises it to PNG with headless Chromium.
 */
export interface ChartInput {
  title: string;
  /** Per second since the fleet started. */
  answered: readonly number[];
  reports: readonly number[];
  /** Seconds since the fleet started. */
  outageFrom: number;
  outageTo: number;
  /** The first second shown. */
  from: number;
}

const W = 1200;
const H = 520;
const M = { left: 70, right: 20, top: 50, bottom: 60 };

export function outageChart(c: ChartInput): string {
  const to = Math.max(c.answered.length, c.reports.length);
  const seconds = Math.max(1, to - c.from);
  const at = (series: readonly number[], s: number) => series[s] ?? 0;
  let peak = 1;
  for (let s = c.from; s < to; s++) peak = Math.max(peak, at(c.answered, s), at(c.reports, s));
  const yMax = niceCeil(peak);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (s: number) => M.left + ((s - c.from) / seconds) * pw;
  const y = (v: number) => M.top + ph - (v / yMax) * ph;
  const bw = Math.max(0.5, pw / seconds);
  const bars = (series: readonly number[], fill: string) => {
    let out = "";
    for (let s = c.from; s < to; s++) {
      const v = at(series, s);
      if (v > 0) out += `<rect x="${x(s).toFixed(1)}" y="${y(v).toFixed(1)}" width="${bw.toFixed(2)}" height="${(M.top + ph - y(v)).toFixed(1)}" fill="${fill}"/>`;
    }
    return out;
  };
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const step = niceCeil(seconds / 12);
  const xTicks: number[] = [];
  for (let t = Math.ceil((c.from - c.outageTo) / step) * step; c.outageTo + t < to; t += step) xTicks.push(t);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="28" font-size="16" font-weight="bold">${escape(c.title)}</text>
<rect x="${x(c.outageFrom).toFixed(1)}" y="${M.top}" width="${(x(c.outageTo) - x(c.outageFrom)).toFixed(1)}" height="${ph}" fill="#f3d6d6"/>
<text x="${((x(c.outageFrom) + x(c.outageTo)) / 2).toFixed(1)}" y="${M.top + 18}" text-anchor="middle" fill="#a33">WFM down (${Math.round(c.outageTo - c.outageFrom)} s)</text>
${yTicks.map((v) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${M.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`).join("\n")}
${bars(c.answered, "#4a7bb7")}
${bars(c.reports, "#e08a2c")}
${xTicks.map((t) => `<line x1="${x(c.outageTo + t).toFixed(1)}" x2="${x(c.outageTo + t).toFixed(1)}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/><text x="${x(c.outageTo + t).toFixed(1)}" y="${M.top + ph + 20}" text-anchor="middle">${t}</text>`).join("\n")}
<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>
<text x="${M.left + pw / 2}" y="${H - 15}" text-anchor="middle">seconds since the WFM came back</text>
<text x="18" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${M.top + ph / 2})">per second</text>
<rect x="${W - M.right - 330}" y="${M.top + 30}" width="12" height="12" fill="#4a7bb7"/><text x="${W - M.right - 312}" y="${M.top + 41}">requests answered by the WFM</text>
<rect x="${W - M.right - 330}" y="${M.top + 50}" width="12" height="12" fill="#e08a2c"/><text x="${W - M.right - 312}" y="${M.top + 61}">status reports delivered</text>
</svg>
`;
}

/** 1, 2, 5 × 10^n at or above v. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);
}
