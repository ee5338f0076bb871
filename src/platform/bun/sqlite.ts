import { Database } from "bun:sqlite";
import type { SqlDatabase, SqlValue, Statement } from "../types.ts";

export function openDatabase(path: string, opts: { readonly?: boolean; cacheStatements?: boolean } = {}): SqlDatabase {
  const db = opts.readonly
    ? new Database(path, { readonly: true, strict: true })
    : new Database(path, { create: true, strict: true });
  return {
    exec: (sql) => db.exec(sql),
    // db.query keeps the compiled statement; the writer's idle reads do not get here at all
    // (src/platform/counted-db.ts keeps one wrapper per SQL text and answers them from memory).
    prepare<Row>(sql: string): Statement<Row> {
      if (opts.cacheStatements === false) return once<Row>(db, sql);
      const stmt = db.query(sql);
      return {
        get: (...p: SqlValue[]) => (stmt.get(...(p as never[])) as Row | null) ?? null,
        all: (...p: SqlValue[]) => stmt.all(...(p as never[])) as Row[],
        run: (...p: SqlValue[]) => stmt.run(...(p as never[])),
      };
    },
    transaction<T>(fn: () => T): T {
      // Bun's transaction() keeps nine compiled statements (begin, commit, savepoints) per database.
      if (opts.cacheStatements === false) return plainTransaction(db, fn);
      return db.transaction(fn).immediate();
    },
    close: () => db.close(),
  };
}

/** A statement compiled when it runs and finalized right after (src/platform/types.ts, cacheStatements). */
function once<Row>(db: Database, sql: string): Statement<Row> {
  const use = <T>(fn: (stmt: ReturnType<Database["prepare"]>) => T): T => {
    const stmt = db.prepare(sql);
    try {
      return fn(stmt);
    } finally {
      stmt.finalize();
    }
  };
  return {
    get: (...p: SqlValue[]) => use((s) => (s.get(...(p as never[])) as Row | null) ?? null),
    all: (...p: SqlValue[]) => use((s) => s.all(...(p as never[])) as Row[]),
    run: (...p: SqlValue[]) => use((s) => s.run(...(p as never[]))),
  };
}

/** BEGIN IMMEDIATE … COMMIT by hand, savepoints when nested, nothing kept compiled. */
const depthOf = new WeakMap<Database, number>();
function plainTransaction<T>(db: Database, fn: () => T): T {
  const depth = depthOf.get(db) ?? 0;
  const name = `sp${depth}`;
  db.exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${name}`);
  depthOf.set(db, depth + 1);
  try {
    const result = fn();
    db.exec(depth === 0 ? "COMMIT" : `RELEASE ${name}`);
    return result;
  } catch (err) {
    db.exec(depth === 0 ? "ROLLBACK" : `ROLLBACK TO ${name}; RELEASE ${name}`);
    throw err;
  } finally {
    depthOf.set(db, depth);
  }
}
