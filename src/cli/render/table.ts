/**
 * Plain-text tables: columns padded to their widest cell, styles applied after
 * padding so ANSI codes never skew alignment.
 */
import type { Painter, Style } from "./color.ts";

export interface Cell {
  text: string;
  style?: Style;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly (Cell | string)[])[], paint: Painter): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "string" ? { text: c } : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.text.length ?? 0)));
  const line = (r: readonly Cell[]) =>
    r
      .map((c, i) => paint(i === r.length - 1 ? c.text : c.text.padEnd(widths[i]!), c.style))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => ({ text: h, style: "bold" as const }))), ...cells.map(line)].join("\n");
}
