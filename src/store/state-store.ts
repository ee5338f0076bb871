/**
 * Durable state: what the device has applied (so a restart needs no WFM), the
 * last accepted manifest version and ETag, and the status journal's outbox.
 * Every state change of a deployment and the report that describes it are
 * written in one transaction.
 */
import { join } from "node:path";
import { Journal } from "../journal/journal.ts";
import { META, type MetaKey } from "./meta-keys.ts";
import type { Change } from "../lifecycle/lifecycle.ts";
import type { AppliedDeployment } from "../model/applied.ts";
import type { Clock } from "../util/clock.ts";
import type { SqlDatabase } from "../platform/types.ts";
import type { ComponentStatus, DeploymentState, StatusError } from "../model/states.ts";
import { countWrites, UntilWrite } from "../platform/counted-db.ts";
import { assertIntact, guardStoreErrors } from "./integrity.ts";
import { MIGRATIONS, PRAGMAS, SCHEMA_VERSION } from "./schema.ts";


interface DeploymentRow {
  id: string;
  name: string;
  digest: string;
  yaml: string;
  state: string;
  components: string;
  error: string | null;
  manifest_version: string;
  good_digest: string | null;
  good_yaml: string | null;
  since_ms: number;
  attempts: number;
  wanted: number;
}

export type { Clock };

function toApplied(r: DeploymentRow): AppliedDeployment {
  return {
    id: r.id,
    name: r.name,
    digest: r.digest,
    yaml: r.yaml,
    state: r.state as DeploymentState,
    components: JSON.parse(r.components) as ComponentStatus[],
    error: r.error ? (JSON.parse(r.error) as StatusError) : undefined,
    manifestVersion: r.manifest_version,
    goodDigest: r.good_digest ?? undefined,
    goodYaml: r.good_yaml ?? undefined,
    sinceMs: r.since_ms,
    attempts: r.attempts,
    wanted: r.wanted === 1,
  };
}

/** The state database inside the data directory. */
export const stateDbPath = (dataDir: string): string => join(dataDir, "state.db");

const HISTORY_KEEP = 50;

export class StateStore {
  /** The outbox of status reports, in the same database: every change appends to it in its own transaction. */
  readonly journal: Journal;
  private readonly meta = new Map<MetaKey, UntilWrite<string | undefined>>();
  private readonly unsettled: UntilWrite<boolean>;

  /**
   * `db` as open() hands it over: the writer's connection counts its writes, and
   * then the idle poll's reads are answered from memory until it writes
   * (src/platform/counted-db.ts); any other connection is read every time.
   */
  constructor(
    readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {
    this.unsettled = new UntilWrite(db);
    this.journal = new Journal(db, clock);
  }

  /**
   * Opens (and migrates) the database. The writer checks its integrity first
   * (src/store/integrity.ts) and throws AgentError STORE_CORRUPT naming `path`;
   * read-only openers (the CLI) skip the check and the migrations.
   */
  static open(db: SqlDatabase, clock: Clock, opts: { readonly?: boolean; path?: string } = {}): StateStore {
    const path = opts.path ?? "the state database";
    if (!opts.readonly) {
      guardStoreErrors(path, () => {
        db.exec("PRAGMA busy_timeout = 5000;");
        // Before anything writes: migrating or switching the journal mode of a damaged file makes it worse.
        assertIntact(db, path);
        db.exec(PRAGMAS);
        const current = Number(db.prepare<{ user_version: number }>("PRAGMA user_version").get()?.user_version ?? 0);
        for (let v = current; v < SCHEMA_VERSION; v++) {
          db.transaction(() => {
            db.exec(MIGRATIONS[v]!);
            db.exec(`PRAGMA user_version = ${v + 1}`);
          });
        }
      });
    } else {
      db.exec("PRAGMA busy_timeout = 2000;");
    }
    // The writer (one per data directory, under its lock) remembers its idle reads until it writes;
    // a reader beside a running agent must see every change, so it asks every time.
    return new StateStore(opts.readonly ? db : countWrites(db), clock);
  }

  /**
   * A store in memory, for the fleet simulator's many devices in one process
   * (docs/simulate.md): the same schema, statements and transactions, none of
   * the durability. A fresh memory database has nothing to check, and small
   * pages keep each of its eight tables and indexes to 1 KiB instead of 4.
   */
  static openInMemory(openDatabase: (path: string) => SqlDatabase, clock: Clock): StateStore {
    const db = openDatabase(":memory:");
    db.exec("PRAGMA page_size = 1024;");
    db.exec(MIGRATIONS.join("\n"));
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    // Its device is its only writer: the idle poll's reads are answered from memory, as for the file store.
    return new StateStore(countWrites(db), clock);
  }

  /** Opens the file at `path` for writing: open errors and corruption come back as AgentError naming it. */
  static openFile(openDatabase: (path: string) => SqlDatabase, path: string, clock: Clock): StateStore {
    const db = guardStoreErrors(path, () => openDatabase(path));
    try {
      return StateStore.open(db, clock, { path });
    } catch (err) {
      db.close();
      throw err;
    }
  }

  getMeta(key: MetaKey): string | undefined {
    let cached = this.meta.get(key);
    if (cached === undefined) this.meta.set(key, (cached = new UntilWrite(this.db)));
    return cached.get(() => this.db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = ?").get(key)?.value);
  }

  setMeta(key: MetaKey, value: string): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  lastManifestVersion(): bigint | null {
    const v = this.getMeta(META.manifestVersion);
    return v === undefined ? null : BigInt(v);
  }

  lastEtag(): string | undefined {
    return this.getMeta(META.etag);
  }

  /** Written only after the reconcile of that manifest has been carried out. */
  commitManifest(version: bigint, etag: string): void {
    this.db.transaction(() => {
      this.setMeta(META.manifestVersion, version.toString());
      this.setMeta(META.etag, etag);
      this.setMeta(META.manifestAppliedAtMs, String(this.clock.wallMs()));
    });
  }

  listDeployments(): AppliedDeployment[] {
    return this.db.prepare<DeploymentRow>("SELECT * FROM deployments ORDER BY id").all().map(toApplied);
  }

  /** Is any deployment not settled (failed, pending, installing, removing)? A tiny read for the idle path. */
  hasUnsettled(): boolean {
    return this.unsettled.get(() => this.db.prepare<{ one: number }>("SELECT 1 AS one FROM deployments WHERE state <> 'installed' LIMIT 1").get() !== null);
  }

  getDeployment(id: string): AppliedDeployment | undefined {
    const row = this.db.prepare<DeploymentRow>("SELECT * FROM deployments WHERE id = ?").get(id);
    return row ? toApplied(row) : undefined;
  }

  /**
   * A lifecycle change (src/lifecycle/), its report and its history line, in
   * one transaction: a state change is never recorded without its report, nor
   * a report journaled without its state change (INV-JOURNAL-1).
   */
  apply(change: Change): void {
    const report = change.report;
    if (report === undefined) {
      // Only the attempt count moved: no report, no history line, and the state keeps its since.
      this.db.prepare("UPDATE deployments SET attempts = ? WHERE id = ?").run(change.next?.attempts ?? 0, change.deploymentId);
      return;
    }
    const now = this.clock.wallMs();
    this.db.transaction(() => {
      const n = change.next;
      if (n) {
        this.db
          .prepare(
            `INSERT INTO deployments (id, name, digest, yaml, state, components, error, manifest_version, good_digest, good_yaml, since_ms, attempts, wanted)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, digest = excluded.digest, yaml = excluded.yaml, state = excluded.state,
               components = excluded.components, error = excluded.error, manifest_version = excluded.manifest_version,
               good_digest = excluded.good_digest, good_yaml = excluded.good_yaml, since_ms = excluded.since_ms, attempts = excluded.attempts, wanted = excluded.wanted`,
          )
          .run(
            n.id, n.name, n.digest, n.yaml, n.state, JSON.stringify(n.components), n.error ? JSON.stringify(n.error) : null,
            n.manifestVersion, n.goodDigest ?? null, n.goodYaml ?? null, now, n.attempts, n.wanted ? 1 : 0,
          );
      } else {
        this.db.prepare("DELETE FROM deployments WHERE id = ?").run(change.deploymentId);
      }
      this.journal.append(change.deploymentId, change.state, report);
      this.db.prepare("INSERT INTO history (deployment_id, state, error_code, message, wall_ms) VALUES (?, ?, ?, ?, ?)").run(
        change.deploymentId, change.state, change.error?.code ?? null, change.error?.message ?? null, now,
      );
      this.pruneHistory(change.deploymentId);
    });
  }

  /** History is for people: the last HISTORY_KEEP transitions per deployment are enough. */
  private pruneHistory(id: string): void {
    this.db
      .prepare("DELETE FROM history WHERE deployment_id = ? AND seq <= (SELECT seq FROM history WHERE deployment_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)")
      .run(id, id, HISTORY_KEEP);
  }

  history(deploymentId: string, limit = 20): { state: string; errorCode?: string; message?: string; wallMs: number }[] {
    return this.db
      .prepare<{ state: string; error_code: string | null; message: string | null; wall_ms: number }>(
        "SELECT state, error_code, message, wall_ms FROM history WHERE deployment_id = ? ORDER BY seq DESC LIMIT ?",
      )
      .all(deploymentId, limit)
      .map((r) => ({ state: r.state, errorCode: r.error_code ?? undefined, message: r.message ?? undefined, wallMs: r.wall_ms }));
  }

  /** Idempotent: the Agent closes the store when it stops, the bootstrap again on the way out. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private closed = false;
}
