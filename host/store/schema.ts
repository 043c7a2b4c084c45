// The database schema and its migrations. `SCHEMA_VERSION` is what this Airlock writes; an
// older database is migrated forward on open, a newer one is refused untouched.
import type { Database, SqlValue, Statement } from 'sql.js';
import { PACKED_EVENTS_TABLE, packEvents, type SqlRunner } from './packed-events.js';
import { FINISHED_STATUSES } from './store.js';

export const SCHEMA_VERSION = 9;

/** Undo (issue 16): every applied file change and revert, with the contents they name. */
const UNDO_TABLES = `
CREATE TABLE changes (
  change_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT, path TEXT NOT NULL,
  kind TEXT NOT NULL, before TEXT, after TEXT, reverts TEXT, reverted_by TEXT, by TEXT,
  mode INTEGER, at TEXT NOT NULL);
CREATE INDEX changes_run ON changes (run_id);
CREATE TABLE contents (hash TEXT PRIMARY KEY, body BLOB, in_file INTEGER NOT NULL);
`;

/** Team mode (issue 17): decisions made for another process to apply (`airlock wait`). */
const DEFERRED_TABLE = `
CREATE TABLE deferred (
  run_id TEXT NOT NULL, id TEXT NOT NULL, resolution BLOB NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
`;

/** The current schema, for a new database. */
export const CURRENT_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, workspace TEXT, prompt TEXT,
  status TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT, version INTEGER NOT NULL,
  state BLOB NOT NULL, nested_in TEXT);
CREATE INDEX runs_updated ON runs (updated_at);
CREATE INDEX runs_status ON runs (status);
CREATE TABLE segments (
  segment_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, parent_segment_id TEXT,
  kind TEXT NOT NULL, resume TEXT, started_at TEXT NOT NULL);
CREATE INDEX segments_run ON segments (run_id);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, segment_id TEXT NOT NULL,
  type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX events_run ON events (run_id, seq);
CREATE TABLE pending (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE INDEX pending_run ON pending (run_id);
CREATE TABLE decisions (
  run_id TEXT NOT NULL, id TEXT NOT NULL, resolution TEXT NOT NULL, decided_at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
CREATE TABLE claims (
  run_id TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, claimed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
CREATE TABLE rules (
  rule_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, run_id TEXT, tool TEXT NOT NULL, paths TEXT,
  action TEXT NOT NULL, cover TEXT NOT NULL, created_by TEXT, created_at TEXT NOT NULL,
  approval_id TEXT, revoked_at TEXT, revoked_by TEXT, reason TEXT);
CREATE INDEX rules_workspace ON rules (workspace);
${UNDO_TABLES}${DEFERRED_TABLE}${PACKED_EVENTS_TABLE}`;

/** MIGRATIONS[n] takes a database from schema n to n + 1. */
const MIGRATIONS: Record<number, string | ((db: Database) => void)> = {
  // 2: nested runs are listed under their parent; retention scans by age; segments by run.
  1: `
ALTER TABLE runs ADD COLUMN nested_in TEXT;
CREATE INDEX IF NOT EXISTS runs_updated ON runs (updated_at);
CREATE INDEX IF NOT EXISTS segments_run ON segments (run_id);
`,
  // 3: standing rules get ids (to list and revoke them), a run scope, what they cover, who made
  // them and when they were revoked. Older rules covered the whole tool.
  2: `
CREATE TABLE rules_v3 (
  rule_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, run_id TEXT, tool TEXT NOT NULL, paths TEXT,
  action TEXT NOT NULL, cover TEXT NOT NULL, created_by TEXT, created_at TEXT NOT NULL,
  approval_id TEXT, revoked_at TEXT, revoked_by TEXT);
INSERT INTO rules_v3 (rule_id, workspace, run_id, tool, paths, action, cover, created_at)
  SELECT 'rule_legacy_' || rowid, workspace, NULL, tool, paths, action,
         CASE WHEN paths IS NULL THEN 'tool' ELSE 'file' END, created_at FROM rules;
DROP TABLE rules;
ALTER TABLE rules_v3 RENAME TO rules;
CREATE INDEX rules_workspace ON rules (workspace);
`,
  // 4: the tables are unchanged, but the journal now holds state changes (`putRun` with a
  // `delta`, `updatePending`) that an Airlock of schema 3 would misapply (a state replaced by
  // null, pending rows kept). The new version makes such an Airlock refuse the database instead.
  3: `SELECT 1;`,
  // 5: a standing rule keeps the reviewer's reason (redacted), which an "always deny" tells the
  // model each time it denies a call. Older rules have none.
  4: `ALTER TABLE rules ADD COLUMN reason TEXT;`,
  // 6: journal records leave out what they repeat (a pending row names its event in the same
  // record, a run's update omits its unchanging fields: journal-codec.ts), which an Airlock of
  // schema 5 would misread; it refuses the database instead. Runs are indexed by status: finding
  // the running ones (interrupted runs, on every `pending`) read every run's row at 10k runs.
  5: `CREATE INDEX IF NOT EXISTS runs_status ON runs (status);`,
  // 7: undo (issue 16).
  6: UNDO_TABLES,
  // 8: team mode's deferred decisions (issue 17).
  7: DEFERRED_TABLE,
  // 9: finished runs' events, packed (packed-events.ts): those of runs already finished, now.
  8: (db) => {
    db.exec(PACKED_EVENTS_TABLE);
    const sql = runnerOf(db);
    const finished = sql.all(
      `SELECT DISTINCT e.run_id FROM events e JOIN runs r ON r.run_id = e.run_id
       WHERE r.status IN (${FINISHED_STATUSES.map(() => '?').join(', ')})`,
      [...FINISHED_STATUSES],
    );
    for (const r of finished) packEvents(sql, String(r.run_id), undefined);
  },
};

/** Every row a bound statement yields, as objects. */
export function rowsOf(stmt: Statement): Record<string, SqlValue>[] {
  const rows: Record<string, SqlValue>[] = [];
  while (stmt.step()) rows.push(stmt.getAsObject());
  return rows;
}

function runnerOf(db: Database): SqlRunner {
  return {
    all(sql: string, params: SqlValue[] = []) {
      const stmt = db.prepare(sql, params);
      try {
        return rowsOf(stmt);
      } finally {
        stmt.free();
      }
    },
    run(sql: string, params: SqlValue[]) {
      db.run(sql, params);
    },
  };
}

export function schemaVersionOf(db: Database): number {
  const hasMeta = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!hasMeta.length) return 0;
  const row = db.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0]?.values[0]?.[0];
  return Number(row ?? 0);
}

function setVersion(db: Database, version: number): void {
  db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", [
    String(version),
  ]);
}

export function createSchema(db: Database): void {
  db.exec(CURRENT_SCHEMA);
  setVersion(db, SCHEMA_VERSION);
}

/** Migrates in place, in one transaction; returns the version it started from. */
export function migrate(db: Database, file: string): number {
  const from = schemaVersionOf(db);
  if (from > SCHEMA_VERSION) {
    throw new Error(
      `The Airlock database ${file} was written by a newer Airlock (schema ${from}; this one reads up to ${SCHEMA_VERSION}). Update Airlock; the file was left untouched.`,
    );
  }
  if (from === 0) {
    throw new Error(`${file} is a SQLite file but not an Airlock database; pass another --db.`);
  }
  if (from === SCHEMA_VERSION) return from;
  db.exec('BEGIN');
  try {
    for (let v = from; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
    }
    setVersion(db, SCHEMA_VERSION);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
  // The rows packing freed, given back: the snapshot written next is that much smaller.
  if (from < 9) db.exec('VACUUM');
  return from;
}
