/**
 * The state database: desired state as applied, and the outbox of status
 * reports, in one SQLite file so a state change and its report commit together.
 *
 * Pragmas, chosen for a device on flash that loses power:
 * - journal_mode=WAL: readers (the CLI, the local API) never block the writer,
 *   and a commit appends to the WAL instead of rewriting pages twice.
 * - synchronous=FULL: the WAL is fsync'd at every commit, so a report the
 *   journal has acknowledged survives a power cut. NORMAL would be faster but
 *   may lose the last commits on power loss, which would break "never lose a report".
 * - wal_autocheckpoint default (1000 pages); idle polls answered 304 write nothing at all.
 */
export const PRAGMAS = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 5000;
`;

export const SCHEMA_VERSION = 1;

export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deployments (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  digest           TEXT NOT NULL,          -- sha256 of the YAML below: the stored desired state is content-addressed
  yaml             TEXT NOT NULL,
  state            TEXT NOT NULL,
  components       TEXT NOT NULL,          -- JSON [{name,state,error?}]
  error            TEXT,                   -- JSON {code,source,message} when failed
  manifest_version TEXT NOT NULL,
  good_digest      TEXT,                   -- last version that reached installed: kept for rollback
  good_yaml        TEXT,
  since_ms         INTEGER NOT NULL,       -- wall time of the last state change
  attempts         INTEGER NOT NULL DEFAULT 0,
  wanted           INTEGER NOT NULL DEFAULT 1  -- 0 once the WFM no longer lists it (removal under way or failed)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS journal (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  deployment_id TEXT NOT NULL,
  state         TEXT NOT NULL,
  body          TEXT NOT NULL,             -- the DeploymentStatusManifest, exactly as it will be sent
  wall_ms       INTEGER NOT NULL,
  mono_ms       REAL NOT NULL,
  boot_id       TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'parked')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT
);
CREATE INDEX IF NOT EXISTS journal_by_deployment ON journal (deployment_id, seq);

CREATE TABLE IF NOT EXISTS history (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  deployment_id TEXT NOT NULL,
  state         TEXT NOT NULL,
  error_code    TEXT,
  message       TEXT,
  wall_ms       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_deployment ON history (deployment_id, seq);
`,
];
