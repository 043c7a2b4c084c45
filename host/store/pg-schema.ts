// The PostgreSQL store's tables (team mode, issue 17): the sql.js schema's columns, prefixed
// `airlock_` so they can share a team's database, with explicit insertion order where SQLite
// had rowid. `airlock_meta` holds the schema version; an older one is migrated forward on open,
// a newer one refused untouched.
import type { ClientBase } from 'pg';

export const PG_SCHEMA_VERSION = 1;

/**
 * Serializes schema creation and migration between processes opening the same database at once
 * (a transaction-scoped advisory lock; the same class id as the owners' locks, object 0).
 */
export const LOCK_CLASS = 0x41495200; // "AIR\0"

export const PG_SCHEMA = `
CREATE TABLE airlock_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE airlock_runs (
  run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, workspace TEXT, prompt TEXT,
  status TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT, version INTEGER NOT NULL,
  state BYTEA NOT NULL, nested_in TEXT);
CREATE INDEX airlock_runs_updated ON airlock_runs (updated_at);
CREATE INDEX airlock_runs_status ON airlock_runs (status);
CREATE INDEX airlock_runs_nested ON airlock_runs (nested_in);
CREATE TABLE airlock_segments (
  ord BIGSERIAL, segment_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, parent_segment_id TEXT,
  kind TEXT NOT NULL, resume TEXT, started_at TEXT NOT NULL);
CREATE INDEX airlock_segments_run ON airlock_segments (run_id);
CREATE TABLE airlock_events (
  seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, segment_id TEXT NOT NULL,
  type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX airlock_events_run ON airlock_events (run_id, seq);
CREATE TABLE airlock_pending (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE INDEX airlock_pending_run ON airlock_pending (run_id);
CREATE TABLE airlock_decisions (
  ord BIGSERIAL, run_id TEXT NOT NULL, id TEXT NOT NULL, resolution TEXT NOT NULL,
  decided_at TEXT NOT NULL, PRIMARY KEY (run_id, id));
CREATE TABLE airlock_claims (
  ord BIGSERIAL, run_id TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL,
  claimed_at TEXT NOT NULL, PRIMARY KEY (run_id, id));
CREATE TABLE airlock_rules (
  rule_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, run_id TEXT, tool TEXT NOT NULL, paths TEXT,
  action TEXT NOT NULL, cover TEXT NOT NULL, created_by TEXT, created_at TEXT NOT NULL,
  approval_id TEXT, revoked_at TEXT, revoked_by TEXT, reason TEXT);
CREATE INDEX airlock_rules_workspace ON airlock_rules (workspace);
CREATE TABLE airlock_changes (
  ord BIGSERIAL, change_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT,
  path TEXT NOT NULL, kind TEXT NOT NULL, before TEXT, after TEXT, reverts TEXT,
  reverted_by TEXT, by TEXT, mode INTEGER, at TEXT NOT NULL);
CREATE INDEX airlock_changes_run ON airlock_changes (run_id);
CREATE TABLE airlock_contents (hash TEXT PRIMARY KEY, body BYTEA NOT NULL);
CREATE TABLE airlock_deferred (
  run_id TEXT NOT NULL, id TEXT NOT NULL, resolution BYTEA NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
`;

/** PG_MIGRATIONS[n] takes the tables from schema n to n + 1 (none yet: schema 1 is the first). */
const PG_MIGRATIONS: Record<number, string> = {};

/**
 * Creates the tables in an empty database or migrates older ones, in one transaction that holds
 * the schema lock; refuses a newer schema or tables that are not Airlock's. Returns the version
 * it found (0: created).
 */
export async function preparePgSchema(client: ClientBase, where: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS]);
    const found = await versionOf(client, where);
    if (found > PG_SCHEMA_VERSION) {
      throw new Error(
        `The Airlock tables in ${where} were written by a newer Airlock (schema ${found}; this one reads up to ${PG_SCHEMA_VERSION}). Update Airlock; nothing was changed.`,
      );
    }
    if (found === 0) await client.query(PG_SCHEMA);
    for (let v = Math.max(found, 1); v < PG_SCHEMA_VERSION; v++) {
      await client.query(PG_MIGRATIONS[v]!);
    }
    if (found < PG_SCHEMA_VERSION) {
      await client.query(
        `INSERT INTO airlock_meta (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(PG_SCHEMA_VERSION)],
      );
    }
    await client.query('COMMIT');
    return found;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function versionOf(client: ClientBase, where: string): Promise<number> {
  const tables = await client.query<{ meta: string | null; runs: string | null }>(
    "SELECT to_regclass('airlock_meta')::text AS meta, to_regclass('airlock_runs')::text AS runs",
  );
  const { meta, runs } = tables.rows[0]!;
  if (!meta) {
    if (runs) {
      throw new Error(
        `${where} has an airlock_runs table but no airlock_meta: it is not an Airlock database (or was damaged). Point Airlock at another database or schema.`,
      );
    }
    return 0;
  }
  const row = await client.query<{ value: string }>(
    "SELECT value FROM airlock_meta WHERE key = 'schema_version'",
  );
  const version = Number(row.rows[0]?.value);
  if (!Number.isInteger(version) || version < 1) {
    throw new Error(
      `${where} has Airlock tables without a schema version: it was damaged. Point Airlock at another database or schema.`,
    );
  }
  return version;
}
