/** `journal`: what waits for the WFM and what it refused. Pure: the API's JSON in, text out. */
import type { JournalEntryView, JournalView } from "../../api/source.ts";
import { type Painter, stateStyle } from "./color.ts";
import { renderTable } from "./table.ts";
import { shortId, truncate } from "./text.ts";

function age(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function table(entries: readonly JournalEntryView[], paint: Painter): string {
  return renderTable(
    ["SEQ", "DEPLOYMENT", "STATE", "AGE", "ATTEMPTS", "LAST ERROR"],
    entries.map((e) => [String(e.seq), shortId(e.deploymentId, 24), { text: e.state, style: stateStyle(e.state) }, age(e.ageSeconds), String(e.attempts), e.lastError ? { text: truncate(e.lastError, 80), style: "red" as const } : ""]),
    paint,
  );
}

export function renderJournal(j: JournalView, paint: Painter): string {
  const c = j.counts;
  const out = [`${c.pending} pending, ${c.parked ? paint(`${c.parked} parked (rejected by the WFM)`, "red") : "0 parked"}${c.compacted ? `, ${c.compacted} compacted` : ""}`];
  if (j.pending.length) out.push("", paint("waiting for the WFM, oldest first:", "bold"), table(j.pending, paint));
  if (j.parked.length) out.push("", paint("rejected by the WFM (kept, not retried):", "bold"), table(j.parked, paint));
  if (!j.pending.length && !j.parked.length) out.push(paint("nothing waits: every report reached the WFM", "dim"));
  return out.join("\n");
}
