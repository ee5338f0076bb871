/**
 * One agent per data directory. Two agents on one dataDir both polled and
 * reconciled the same containers and reported `installed` twice; `run` now
 * takes this lock before it touches anything in the directory and holds it for
 * the life of the process.
 *
 * The lock is SQLite's own: `agent.lock` is a tiny database held with
 * `PRAGMA locking_mode = EXCLUSIVE` after one write, so SQLite keeps its POSIX
 * (fcntl) write lock until the connection closes. Why this and not the others:
 * - the kernel drops fcntl locks when the process dies, however it dies
 *   (kill -9, OOM killer), and a reboot leaves none behind: nothing is ever
 *   stale, so there is no stale check to get wrong (an O_EXCL pid file needs
 *   one, and a recycled pid after a reboot fools it);
 * - it goes through the platform's SQLite seam, so no FFI (flock through
 *   bun:ffi would need the libc name of glibc and musl builds) and it works the
 *   same under another runtime's adapter;
 * - busy_timeout 0: the second agent fails at once instead of waiting.
 * The holder's pid is written beside it (`agent.pid`, for the message only: the
 * lock, not the file, decides), since a locked database cannot be read.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../errors/index.ts";
import type { SqlDatabase } from "../platform/types.ts";
import { isCorruption } from "./integrity.ts";

export const LOCK_FILE = "agent.lock";
export const PID_FILE = "agent.pid";

export interface DataDirLock {
  readonly dir: string;
  release(): void;
}

/** Locks held by this process; the reference also keeps a connection from being collected (which would drop its lock). */
const held = new Set<SqlDatabase>();

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === "string" && code.startsWith("SQLITE_BUSY")) || /database is locked/i.test(String((err as Error)?.message ?? err));
}

function holderPid(dir: string): string {
  try {
    const text = readFileSync(join(dir, PID_FILE), "utf8").trim();
    return /^\d+$/.test(text) ? text : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Takes the data directory's lock (creating the directory 0700 when missing).
 * Throws AgentError DATA_DIR_IN_USE naming the directory and the holder's pid
 * when another process has it, STORE_UNAVAILABLE when the lock file cannot be made.
 */
export function lockDataDir(openDatabase: (path: string) => SqlDatabase, dir: string, pid = process.pid, retried = false): DataDirLock {
  const path = join(dir, LOCK_FILE);
  let db: SqlDatabase;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    db = openDatabase(path);
  } catch (err) {
    throw new AgentError("STORE_UNAVAILABLE", `cannot create the data directory lock ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  try {
    db.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE;");
    // The first write takes SQLite's exclusive lock; in EXCLUSIVE locking mode it is never given back.
    db.transaction(() => {
      db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since_ms INTEGER NOT NULL)");
      db.exec("DELETE FROM holder");
      db.prepare("INSERT INTO holder (pid, since_ms) VALUES (?, ?)").run(pid, Date.now());
    });
  } catch (err) {
    db.close();
    if (isBusy(err)) {
      throw new AgentError(
        "DATA_DIR_IN_USE",
        `data directory ${dir} is in use by another margo-agent (pid ${holderPid(dir)}); ` +
          `stop that one first, or give this one its own dataDir`,
        { dir, pid: holderPid(dir) },
      );
    }
    if (isCorruption(err) && !retried) {
      // Nothing of value is in it: a damaged lock file is replaced.
      rmSync(path, { force: true });
      return lockDataDir(openDatabase, dir, pid, true);
    }
    throw new AgentError("STORE_UNAVAILABLE", `cannot lock the data directory with ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  held.add(db);
  const pidFile = join(dir, PID_FILE);
  try {
    writeFileSync(`${pidFile}.tmp`, `${pid}\n`, { mode: 0o644 });
    renameSync(`${pidFile}.tmp`, pidFile);
  } catch {
    // Only the message of a second agent needs it; the lock holds without it.
  }
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      if (holderPid(dir) === String(pid)) rmSync(pidFile, { force: true });
      held.delete(db);
      db.close();
    },
  };
}
