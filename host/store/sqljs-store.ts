// The run store on sql.js: a real SQLite file that `sqlite3` opens. Writers serialize through a
// lock file and always start from the latest file on disk, so the CLI and editor hosts can share
// one database.
import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { FileLock, processAlive } from './file-lock.js';
import type {
  CommitResult,
  EventRow,
  PendingRow,
  RunRow,
  RunState,
  RunSummary,
  SegmentRow,
  Store,
  StoreOp,
  WorkspaceRule,
} from './store.js';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, workspace TEXT, prompt TEXT,
  status TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT, version INTEGER NOT NULL,
  state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
  segment_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, parent_segment_id TEXT,
  kind TEXT NOT NULL, resume TEXT, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, segment_id TEXT NOT NULL,
  type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS pending (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pending_run ON pending (run_id);
CREATE TABLE IF NOT EXISTS decisions (
  run_id TEXT NOT NULL, id TEXT NOT NULL, resolution TEXT NOT NULL, decided_at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
CREATE TABLE IF NOT EXISTS claims (
  run_id TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, claimed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, id));
CREATE TABLE IF NOT EXISTS rules (
  workspace TEXT NOT NULL, tool TEXT NOT NULL, paths TEXT, action TEXT NOT NULL,
  created_at TEXT NOT NULL);
`;

let sqlJs: Promise<SqlJsStatic> | undefined;

/** sql.js's wasm sits beside the bundle in dist/, or in node_modules when run from source. */
function locateWasm(file: string): string {
  const besideBundle = path.join(__dirname, file);
  if (fs.existsSync(besideBundle)) return besideBundle;
  return require.resolve(`sql.js/dist/${file}`);
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs({ locateFile: locateWasm });
  return sqlJs;
}

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

function stamp(file: string): FileStamp | undefined {
  try {
    const s = fs.statSync(file);
    return { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
  } catch {
    return undefined;
  }
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export class SqlJsStore implements Store {
  private db: Database;
  private loaded: FileStamp | undefined;
  private readonly lock: FileLock | undefined;

  private constructor(
    private readonly SQL: SqlJsStatic,
    private readonly file: string | undefined,
  ) {
    this.lock = file ? new FileLock(`${file}.lock`) : undefined;
    this.db = new SQL.Database();
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.lock!.with(() => this.reload(true));
    } else {
      this.db.exec(SCHEMA);
    }
  }

  /** Opens (or creates) the database file; `undefined` keeps it in memory. */
  static async open(file?: string): Promise<SqlJsStore> {
    return new SqlJsStore(await loadSqlJs(), file ? path.resolve(file) : undefined);
  }

  private reload(create: boolean): void {
    const file = this.file!;
    const current = stamp(file);
    if (current && sameStamp(current, this.loaded)) return;
    if (!current) {
      if (!create) return;
      this.db.exec(SCHEMA);
      this.db.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', [
        'schema_version',
        String(SCHEMA_VERSION),
      ]);
      this.persist();
      return;
    }
    const bytes = fs.readFileSync(file);
    let next: Database;
    try {
      next = new this.SQL.Database(bytes);
      next.exec('SELECT count(*) FROM sqlite_master');
    } catch (err) {
      throw new Error(
        `The Airlock database ${file} is not a readable SQLite file (${String(err)}). Move it aside to start a new one.`,
        { cause: err },
      );
    }
    const version = Number(
      next.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0]?.values[0]?.[0] ?? 0,
    );
    if (version > SCHEMA_VERSION) {
      next.close();
      throw new Error(
        `The Airlock database ${file} was written by a newer Airlock (schema ${version}, this one reads ${SCHEMA_VERSION}). Update Airlock; the file was left untouched.`,
      );
    }
    this.db.close();
    this.db = next;
    this.loaded = stamp(file);
  }

  private persist(): void {
    const file = this.file!;
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, this.db.export());
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    this.loaded = stamp(file);
  }

  /** Readers see other processes' commits: the file is replaced atomically, never torn. */
  private fresh(): Database {
    if (this.file) this.reload(false);
    return this.db;
  }

  commit(ops: StoreOp[]): CommitResult {
    const run = (): CommitResult => {
      if (this.file) this.reload(false);
      const claimed = this.takenClaims(ops);
      if (claimed.length) return { ok: false, claimed };
      const stale = this.staleRun(ops);
      if (stale) return { ok: false, conflict: 'version', run_id: stale };
      this.db.exec('BEGIN');
      try {
        for (const op of ops) this.apply(op);
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
      if (this.file) this.persist();
      return { ok: true };
    };
    return this.lock ? this.lock.with(run) : run();
  }

  private takenClaims(ops: StoreOp[]): string[] {
    const taken: string[] = [];
    for (const op of ops) {
      if (op.op !== 'claim') continue;
      for (const id of op.ids) {
        if (this.all('SELECT 1 FROM claims WHERE run_id = ? AND id = ?', [op.run_id, id]).length) {
          taken.push(id);
        }
      }
    }
    return taken;
  }

  private staleRun(ops: StoreOp[]): string | undefined {
    for (const op of ops) {
      if (op.op !== 'putRun') continue;
      const current = this.all('SELECT version FROM runs WHERE run_id = ?', [op.row.run_id])[0];
      const version = current ? Number(current.version) : null;
      if (version !== op.expect_version) return op.row.run_id;
    }
    return undefined;
  }

  private apply(op: StoreOp): void {
    const db = this.db;
    switch (op.op) {
      case 'putRun': {
        const r = op.row;
        db.run(
          `INSERT INTO runs (run_id, agent, workspace, prompt, status, reason, message, created_at, updated_at, owner, version, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
             message = excluded.message, updated_at = excluded.updated_at, owner = excluded.owner,
             version = excluded.version, state = excluded.state`,
          [
            r.run_id,
            r.agent,
            r.workspace,
            r.prompt,
            r.status,
            r.reason,
            r.message,
            r.created_at,
            r.updated_at,
            r.owner,
            r.version,
            new TextEncoder().encode(json(op.state)),
          ],
        );
        return;
      }
      case 'addSegment': {
        const s = op.row;
        db.run(
          'INSERT INTO segments (segment_id, run_id, parent_segment_id, kind, resume, started_at) VALUES (?, ?, ?, ?, ?, ?)',
          [
            s.segment_id,
            s.run_id,
            s.parent_segment_id,
            s.kind,
            s.resume ? json(s.resume) : null,
            s.started_at,
          ],
        );
        return;
      }
      case 'appendEvents':
        for (const event of op.events) {
          db.run('INSERT INTO events (run_id, segment_id, type, body) VALUES (?, ?, ?, ?)', [
            op.run_id,
            op.segment_id,
            String(event.type),
            json(event),
          ]);
        }
        return;
      case 'setPending':
        db.run('DELETE FROM pending WHERE run_id = ?', [op.run_id]);
        for (const p of op.rows) {
          db.run(
            'INSERT INTO pending (id, run_id, kind, body, created_at) VALUES (?, ?, ?, ?, ?)',
            [p.id, p.run_id, p.kind, json(p.event), p.created_at],
          );
        }
        return;
      case 'claim':
        for (const id of op.ids) {
          db.run('INSERT INTO claims (run_id, id, owner, claimed_at) VALUES (?, ?, ?, ?)', [
            op.run_id,
            id,
            op.owner,
            op.at,
          ]);
        }
        return;
      case 'decide':
        db.run(
          'INSERT OR REPLACE INTO decisions (run_id, id, resolution, decided_at) VALUES (?, ?, ?, ?)',
          [op.run_id, op.id, json(op.resolution), op.at],
        );
        return;
      case 'addRule':
        db.run(
          'INSERT INTO rules (workspace, tool, paths, action, created_at) VALUES (?, ?, ?, ?, ?)',
          [
            op.rule.workspace,
            op.rule.tool,
            op.rule.paths ? json(op.rule.paths) : null,
            op.rule.action,
            op.at,
          ],
        );
        return;
    }
  }

  private all(sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const rows: Record<string, SqlValue>[] = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  }

  private query(sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
    this.fresh();
    return this.all(sql, params);
  }

  getRun(runId: string): { row: RunRow; state: unknown } | undefined {
    const r = this.query('SELECT * FROM runs WHERE run_id = ?', [runId])[0];
    if (!r) return undefined;
    const state: unknown = JSON.parse(new TextDecoder().decode(r.state as Uint8Array));
    return { row: toRunRow(r), state };
  }

  listRuns(): RunSummary[] {
    return this.query(
      `SELECT r.run_id, r.agent, r.workspace, r.prompt, r.status, r.reason, r.message, r.created_at,
              r.updated_at, r.owner, r.version, (SELECT count(*) FROM pending p WHERE p.run_id = r.run_id) AS pending
       FROM runs r ORDER BY r.created_at DESC, r.run_id`,
    ).map((r) => {
      const row = toRunRow(r);
      return { ...row, status: this.statusOf(row), pending: Number(r.pending) };
    });
  }

  statusOf(row: RunRow): RunState {
    if (row.status === 'running' && row.owner && !processAlive(row.owner)) return 'interrupted';
    return row.status;
  }

  pending(runId?: string): PendingRow[] {
    const rows = runId
      ? this.query('SELECT * FROM pending WHERE run_id = ? ORDER BY created_at, id', [runId])
      : this.query('SELECT * FROM pending ORDER BY created_at, id');
    return rows.map((r) => ({
      id: String(r.id),
      run_id: String(r.run_id),
      kind: r.kind === 'interaction' ? 'interaction' : 'approval',
      event: JSON.parse(String(r.body)) as Record<string, unknown>,
      created_at: String(r.created_at),
    }));
  }

  events(runId: string): EventRow[] {
    return this.query('SELECT * FROM events WHERE run_id = ? ORDER BY seq', [runId]).map((r) => ({
      seq: Number(r.seq),
      run_id: String(r.run_id),
      segment_id: String(r.segment_id),
      event: JSON.parse(String(r.body)) as Record<string, unknown>,
    }));
  }

  segments(runId: string): SegmentRow[] {
    return this.query('SELECT * FROM segments WHERE run_id = ? ORDER BY started_at, rowid', [
      runId,
    ]).map((r) => ({
      segment_id: String(r.segment_id),
      run_id: String(r.run_id),
      parent_segment_id: r.parent_segment_id === null ? null : String(r.parent_segment_id),
      kind: r.kind === 'resume' ? 'resume' : 'start',
      resume: r.resume === null ? null : (JSON.parse(String(r.resume)) as Record<string, unknown>),
      started_at: String(r.started_at),
    }));
  }

  claims(runId: string): { id: string; owner: string; claimed_at: string }[] {
    return this.query('SELECT id, owner, claimed_at FROM claims WHERE run_id = ? ORDER BY rowid', [
      runId,
    ]).map((r) => ({ id: String(r.id), owner: String(r.owner), claimed_at: String(r.claimed_at) }));
  }

  decisions(runId: string): { id: string; resolution: unknown; decided_at: string }[] {
    return this.query('SELECT * FROM decisions WHERE run_id = ? ORDER BY decided_at, rowid', [
      runId,
    ]).map((r) => ({
      id: String(r.id),
      resolution: JSON.parse(String(r.resolution)) as unknown,
      decided_at: String(r.decided_at),
    }));
  }

  rules(workspace: string): WorkspaceRule[] {
    return this.query('SELECT * FROM rules WHERE workspace = ? ORDER BY rowid', [workspace]).map(
      (r) => ({
        workspace: String(r.workspace),
        tool: String(r.tool),
        ...(r.paths === null ? {} : { paths: JSON.parse(String(r.paths)) as string[] }),
        action: r.action === 'allow' ? 'allow' : r.action === 'deny' ? 'deny' : 'ask',
      }),
    );
  }

  close(): void {
    this.db.close();
  }
}

function toRunRow(r: Record<string, SqlValue>): RunRow {
  const status = String(r.status);
  return {
    run_id: String(r.run_id),
    agent: String(r.agent),
    workspace: r.workspace === null ? null : String(r.workspace),
    prompt: r.prompt === null ? null : String(r.prompt),
    status:
      (['running', 'paused', 'success', 'error', 'cancelled'] as const).find((s) => s === status) ??
      'error',
    reason: String(r.reason),
    message: String(r.message),
    created_at: String(r.created_at),
    updated_at: String(r.updated_at),
    owner: r.owner === null ? null : String(r.owner),
    version: Number(r.version),
  };
}
