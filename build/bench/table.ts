/** The bench's result table (markdown) and the issue 7 targets it is read against. */

export interface Row {
  figure: string;
  value: string;
  baseline?: string;
  /** value / baseline, when both are numbers of the same kind. */
  ratio?: number;
  target?: string;
  /** undefined: no target for this figure. */
  met?: boolean;
}

const cell = (s: string | undefined) => (s ?? "").replace(/\|/g, "\\|");

export function markdownTable(rows: readonly Row[]): string {
  const lines = ["| figure | value | baseline | ratio | target | met |", "|---|---:|---:|---:|---|:---:|"];
  for (const r of rows) {
    const ratio = r.ratio === undefined || !Number.isFinite(r.ratio) ? "" : `${r.ratio.toFixed(2)}×`;
    const met = r.met === undefined ? "" : r.met ? "yes" : "**NO**";
    lines.push(`| ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.baseline)} | ${ratio} | ${cell(r.target)} | ${met} |`);
  }
  return lines.join("\n");
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const ms = (x: number, digits = 2) => `${x.toFixed(digits)} ms`;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
