import type { JournalReader } from "../../agent/read-model.ts";
import type { JournalEntry } from "../../journal/journal.ts";
import { reportTime, type Stamp } from "../../journal/report-time.ts";
import type { JournalEntryView, JournalView } from "../source.ts";
import { iso } from "./iso.ts";

/** Enough to see what waits and why; the counts say how many there are in all. */
const LIST_LIMIT = 200;

export interface ClockNow extends Stamp {
  /** WFM time minus device time, when known. */
  offsetMs?: number;
}

const entryView = (e: JournalEntry, now: ClockNow): JournalEntryView => {
  const at = reportTime(e, now, now.offsetMs);
  return {
    seq: e.seq,
    deploymentId: e.deploymentId,
    state: e.state,
    delivery: e.status === "parked" ? "parked" : "queued",
    attempts: e.attempts,
    lastError: e.lastError ?? null,
    createdAt: iso(at.atMs),
    createdAtBasis: at.basis,
    deviceClockAt: iso(e.wallMs),
    ageSeconds: Math.max(0, Math.round((now.wallMs + (now.offsetMs ?? 0) - at.atMs) / 1000)),
  };
};

export function journalView(journal: JournalReader, now: ClockNow): JournalView {
  const counts = journal.counts();
  return {
    counts: { ...counts, compacted: journal.compacted() },
    pending: journal.list("pending", LIST_LIMIT).map((e) => entryView(e, now)),
    parked: journal.list("parked", LIST_LIMIT).map((e) => entryView(e, now)),
  };
}
