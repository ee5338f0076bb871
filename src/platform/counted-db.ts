/**
 * A connection that counts its own writes, so that the reads of every idle poll
 * (the ETag, "is anything unsettled?", "is any report waiting?") are answered
 * from memory until this connection writes again (README.md, "Footprint and
 * speed"). The agent's process is the only writer of its state.db while it
 * runs (the data-directory lock, src/store/data-dir-lock.ts), so its own
 * writes are all a cached read has to notice.
 *
 * Anything that is not a SELECT counts as a write, however it is run (get/all
 * on an UPDATE … RETURNING or a PRAGMA included), and a transaction counts at
 * its end too, so that nothing read inside one (which may be rolled back)
 * outlives it.
 */
import type { SqlDatabase, SqlValue, Statement } from "./types.ts";

export interface CountedDatabase extends SqlDatabase {
  /** Changes whenever this connection may have written. */
  readonly writes: number;
}

export function isCounted(db: SqlDatabase): db is CountedDatabase {
  return typeof (db as Partial<CountedDatabase>).writes === "number";
}

const READ_ONLY = /^\s*SELECT\b/i;

export function countWrites(db: SqlDatabase): CountedDatabase {
  if (isCounted(db)) return db;
  let writes = 0;
  const statements = new Map<string, Statement<unknown>>();
  return {
    get writes() {
      return writes;
    },
    exec(sql) {
      writes++;
      db.exec(sql);
    },
    prepare<Row>(sql: string): Statement<Row> {
      let counted = statements.get(sql) as Statement<Row> | undefined;
      if (counted === undefined) {
        const stmt = db.prepare<Row>(sql);
        counted = READ_ONLY.test(sql)
          ? stmt
          : {
              get: (...p: SqlValue[]) => (writes++, stmt.get(...p)),
              all: (...p: SqlValue[]) => (writes++, stmt.all(...p)),
              run: (...p: SqlValue[]) => (writes++, stmt.run(...p)),
            };
        if (statements.size < 256) statements.set(sql, counted as Statement<unknown>);
      }
      return counted;
    },
    transaction<T>(fn: () => T): T {
      writes++;
      try {
        return db.transaction(fn);
      } finally {
        writes++;
      }
    },
    close() {
      writes++;
      statements.clear();
      db.close();
    },
  };
}

/** One read remembered until the connection writes. */
export class UntilWrite<T> {
  private at = -1;
  private value!: T;

  constructor(private readonly db: SqlDatabase) {}

  get(read: () => T): T {
    if (!isCounted(this.db)) return read();
    const now = this.db.writes;
    if (this.at !== now) {
      this.value = read();
      this.at = now;
    }
    return this.value;
  }
}
