import type { Journal, JournalEntry } from "../../journal/journal.ts";
import type { JournalEntryView, JournalView } from "../source.ts";
import { iso } from "./iso.ts";

/** Enough to see what waits and why; the counts say how many there are in all. */
const LIST_LIMIT = 200;

const entryView = (e: JournalEntry, nowMs: number): JournalEntryView => ({
  seq: e.seq,
  deploymentId: e.deploymentId,
  state: e.state,
  status: e.status,
  attempts: e.attempts,
  lastError: e.lastError ?? null,
  createdAt: iso(e.wallMs),
  ageSeconds: Math.max(0, Math.round((nowMs - e.wallMs) / 1000)),
});

export function journalView(journal: Journal, nowMs: number): JournalView {
  const counts = journal.counts();
  return {
    counts: { ...counts, compacted: journal.compacted() },
    pending: journal.list("pending", LIST_LIMIT).map((e) => entryView(e, nowMs)),
    parked: journal.list("parked", LIST_LIMIT).map((e) => entryView(e, nowMs)),
  };
}
