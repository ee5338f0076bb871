import { Database } from "bun:sqlite";
import type { SqlDatabase, SqlValue, Statement } from "../types.ts";

export function openDatabase(path: string, opts: { readonly?: boolean } = {}): SqlDatabase {
  const db = opts.readonly
    ? new Database(path, { readonly: true, strict: true })
    : new Database(path, { create: true, strict: true });
  // One wrapper per SQL text, like db.query's own cache: the idle poll asks the same few questions every time.
  const statements = new Map<string, Statement<unknown>>();
  return {
    exec: (sql) => db.exec(sql),
    prepare<Row>(sql: string): Statement<Row> {
      let wrapped = statements.get(sql) as Statement<Row> | undefined;
      if (wrapped === undefined) {
        const stmt = db.query(sql);
        wrapped = {
          get: (...p: SqlValue[]) => (stmt.get(...(p as never[])) as Row | null) ?? null,
          all: (...p: SqlValue[]) => stmt.all(...(p as never[])) as Row[],
          run: (...p: SqlValue[]) => stmt.run(...(p as never[])),
        };
        // Statements built from data (none today) must not grow this without bound.
        if (statements.size < 256) statements.set(sql, wrapped as Statement<unknown>);
      }
      return wrapped;
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    close: () => {
      statements.clear();
      db.close();
    },
  };
}
