import { Database } from "bun:sqlite";
import type { SqlDatabase, SqlValue, Statement } from "../types.ts";

export function openDatabase(path: string, opts: { readonly?: boolean } = {}): SqlDatabase {
  const db = opts.readonly
    ? new Database(path, { readonly: true, strict: true })
    : new Database(path, { create: true, strict: true });
  return {
    exec: (sql) => db.exec(sql),
    prepare<Row>(sql: string): Statement<Row> {
      const stmt = db.query(sql);
      return {
        get: (...p: SqlValue[]) => (stmt.get(...(p as never[])) as Row | null) ?? null,
        all: (...p: SqlValue[]) => stmt.all(...(p as never[])) as Row[],
        run: (...p: SqlValue[]) => stmt.run(...(p as never[])),
      };
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    close: () => db.close(),
  };
}
