/**
 * The state database's health at start. A damaged file used to pass the open,
 * fail somewhere inside the boot reconcile, and leave a process that answered
 * /healthz 503 forever without polling (the local API kept it alive), so
 * systemd's Restart=on-failure never fired and nobody heard why. Now the writer
 * checks the file before touching it and the agent exits with STORE_CORRUPT.
 *
 * PRAGMA integrity_check rather than quick_check: on a 10,000-report journal
 * (6 MiB) it took 7.4 ms against 3.7 ms (warm cache, Debian 12, 2 cores), and
 * in 200 trials of random bytes written into the middle of pages it caught 3
 * damaged files quick_check passed, all "row N missing from index
 * journal_by_deployment": an index the sender walks to find each deployment's
 * next report, so such a file loses or reorders reports. (The other 105 files
 * had only payload bytes changed, which no SQLite check can see; stored YAMLs
 * are re-verified against their digests for that reason.) The cost grows with
 * the journal, which journal.maxEntries bounds.
 */
import { AgentError } from "../errors/index.ts";
import type { SqlDatabase } from "../platform/types.ts";

/** How many problems integrity_check lists before it stops: enough to show the kind of damage. */
const MAX_PROBLEMS = 5;

/** SQLite result codes (https://sqlite.org/rescode.html) by name, as bun:sqlite and others report them. */
function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** Damage to the file itself, as opposed to a problem around it (permissions, disk full, locks). */
export function isCorruption(err: unknown): boolean {
  const code = sqliteCode(err);
  if (code) return code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB";
  return /database disk image is malformed|file is not a database/i.test(String((err as Error)?.message ?? err));
}

/** Runs fn; SQLite errors come back as AgentError naming the file: STORE_CORRUPT for damage, STORE_UNAVAILABLE otherwise. */
export function guardStoreErrors<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const message = (err as Error)?.message ?? String(err);
    if (isCorruption(err)) {
      throw new AgentError("STORE_CORRUPT", `state database ${path} is damaged: ${message}`, { path, sqlite: sqliteCode(err) }, { cause: err });
    }
    if (sqliteCode(err)) {
      throw new AgentError("STORE_UNAVAILABLE", `state database ${path} cannot be used: ${message} (${sqliteCode(err)})`, { path, sqlite: sqliteCode(err) }, { cause: err });
    }
    throw err;
  }
}

/** Throws AgentError STORE_CORRUPT, naming the file and the first problems, unless integrity_check says "ok". */
export function assertIntact(db: SqlDatabase, path: string): void {
  const rows = db.prepare<{ integrity_check: string }>(`PRAGMA integrity_check(${MAX_PROBLEMS})`).all();
  if (rows.length === 1 && rows[0]!.integrity_check === "ok") return;
  const problems = rows
    .flatMap((r) => r.integrity_check.split("\n"))
    .filter((line) => line && !line.startsWith("***"))
    .slice(0, MAX_PROBLEMS);
  throw new AgentError("STORE_CORRUPT", `state database ${path} failed its integrity check: ${problems.join("; ")}`, { path, problems });
}
