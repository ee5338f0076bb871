/**
 * The stored state, read straight from dataDir/state.db (read-only) when the
 * agent is not running: what was applied, what failed, what waits to be
 * reported. Uses the same views as the API so both read alike.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "../agent/clock.ts";
import { Journal } from "../journal/journal.ts";
import type { Platform } from "../platform/types.ts";
import type { MetaKey } from "../store/meta-keys.ts";
import { StateStore } from "../store/state-store.ts";
import type { DeploymentDetail, DeploymentSummary, JournalView } from "./source.ts";
import { deploymentDetail, deploymentSummaries } from "./views/deployments.ts";
import { iso, isoOrNull } from "./views/iso.ts";
import { journalView } from "./views/journal.ts";

export interface StoredState {
  database: string;
  /** Last write to the database (its file or its WAL): the agent was alive then. */
  lastWriteAt: string;
  /** Last deployment state change recorded. */
  lastStateChangeAt: string | null;
  manifestVersion: string | null;
  manifestAppliedAt: string | null;
  reports: JournalView["counts"];
}

export interface OfflineReader {
  state(): StoredState;
  deployments(): DeploymentSummary[];
  deployment(id: string): DeploymentDetail | undefined;
  journal(): JournalView;
  /** One stored metadata value (the clientId, …). */
  meta(key: MetaKey): string | undefined;
  /** SQLite's `PRAGMA quick_check`: "ok", or what is damaged. */
  quickCheck(): string;
  close(): void;
}

/**
 * When the agent last wrote the database: the file's mtime, or its WAL's when
 * the WAL holds frames (an agent killed before its checkpoint). An empty WAL
 * and the -shm index are what readers (this command included) create or
 * touch, so they say nothing about the agent.
 */
export function lastAgentWriteMs(file: string): number {
  const stat = (f: string) => statSync(f, { throwIfNoEntry: false });
  const wal = stat(`${file}-wal`);
  return Math.max(stat(file)?.mtimeMs ?? 0, wal && wal.size > 0 ? wal.mtimeMs : 0);
}

/** Undefined when there is no database (the agent never ran with this dataDir). */
export function openStoredState(platform: Platform, dataDir: string): OfflineReader | undefined {
  const file = join(dataDir, "state.db");
  if (!existsSync(file)) return undefined;
  // Taken before our own open: opening creates an empty -wal and touches -shm, which said "0s ago".
  const lastWriteMs = lastAgentWriteMs(file);
  const store = StateStore.open(platform.openDatabase(file, { readonly: true }), systemClock(), { readonly: true });
  const journal = new Journal(store.db);
  return {
    state() {
      const last = store.db.prepare<{ ms: number | null }>("SELECT MAX(wall_ms) AS ms FROM history").get()?.ms ?? null;
      const applied = store.getMeta("manifestAppliedAtMs");
      return {
        database: file,
        lastWriteAt: iso(lastWriteMs),
        lastStateChangeAt: isoOrNull(last),
        manifestVersion: store.getMeta("manifestVersion") ?? null,
        manifestAppliedAt: applied ? iso(Number(applied)) : null,
        reports: { ...journal.counts(), compacted: journal.compacted() },
      };
    },
    deployments: () => deploymentSummaries(store),
    deployment: (id) => deploymentDetail(store, id, journal.pendingFor(id), null),
    journal: () => {
      const c = systemClock();
      return journalView(journal, { wallMs: c.wallMs(), monoMs: c.monoMs(), bootId: c.bootId });
    },
    meta: (key) => store.getMeta(key),
    quickCheck: () => store.db.prepare<Record<string, string>>("PRAGMA quick_check").all().map((r) => Object.values(r)[0]).join("; "),
    close: () => store.close(),
  };
}
