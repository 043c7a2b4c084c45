// The run store on PostgreSQL (team mode, issue 17), asynchronous: what pg-store.ts runs on a
// worker thread behind the synchronous Store interface. Same semantics as the sql.js store:
// a commit is one transaction that fails whole when a claim is taken (a unique key, so two
// machines racing for one gate get one winner) or a run changed since its writer read it (the
// row is locked and its version compared). Every commit notifies `airlock_changes`, which the
// windows and `airlock pending --watch` listen on. See docs/store.md, "Team mode".
import { createHash } from 'node:crypto';
import pg from 'pg';
import { applyStateDelta, StateDeltaError } from './state-delta.js';
import { fault } from './faults.js';
import { shownLocation } from './location.js';
import { LOCK_CLASS, preparePgSchema } from './pg-schema.js';
import { CorruptDatabaseError } from './snapshot.js';
import {
  contentBytes,
  retentionDrops,
  changeValues,
  RUN_TABLES,
  runValues,
  ruleValues,
  segmentValues,
  toChangeRow,
  toDecision,
  toPendingRow,
  toSegmentRow,
  toStandingRule,
  upgradeRule,
  type LegacyRule,
} from './rows.js';
import { FINISHED_STATUSES, toRunRow } from './store.js';
import type {
  ChangeRow,
  CommitResult,
  EventRow,
  PendingRow,
  Retention,
  RunRow,
  RunSummary,
  SegmentRow,
  StoreOp,
} from './store.js';
import type { StandingRule } from '../runtime/policy.js';

/** The channel every commit notifies (its payload: the runs it touched, comma-separated). */
export const CHANGES_CHANNEL = 'airlock_changes';

export interface PgConnection {
  /** `postgres://…` as the user gave it (TLS and socket options in its query, libpq style). */
  url: string;
  /** From SecretStorage; else `PGPASSWORD` or the URL's own. */
  password?: string;
}

export function pgConfig(connection: PgConnection): pg.ClientConfig {
  return {
    connectionString: connection.url,
    ...(connection.password ? { password: connection.password } : {}),
    connectionTimeoutMillis: 30_000,
    application_name: 'airlock',
  };
}

/**
 * The advisory lock key of a process (`host:pid:start`): every session of that process holds it
 * shared while it lives, so any machine can tell a run whose driver died (PostgreSQL drops a
 * session's locks when its connection goes). The same 31 bits of md5 in SQL and here.
 */
export function ownerKey(owner: string): number {
  return parseInt(createHash('md5').update(owner).digest('hex').slice(0, 8), 16) & 0x7fffffff;
}
const OWNER_ALIVE = (column: string) => `EXISTS (
  SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
    AND l.classid = ${LOCK_CLASS}::oid
    AND l.objid = ((('x' || substr(md5(${column}), 1, 8))::bit(32)::int) & 2147483647)::oid)`;

type Row = Record<string, unknown>;
type Queryable = pg.ClientBase;

/** A run row as listed: its stored status, whether its owner lives, its pending count. */
type ListedRow = Row & { owner_alive: boolean | null; pending?: string };

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export class PgBackend {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly where: string;

  constructor(
    private readonly connection: PgConnection,
    /** This process's owner id (`selfOwner`): its advisory lock says it is alive. */
    private readonly owner: string,
  ) {
    this.where = shownLocation(connection.url);
  }

  /** Connects, creates or migrates the tables; returns the schema version it found. */
  async open(): Promise<number> {
    const client = await this.connect();
    return preparePgSchema(client, this.where);
  }

  /** The connection, opened again after a drop (taking the owner's lock again). */
  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client(pgConfig(this.connection));
      // The connection dropped (server restart, network): the next call reconnects.
      const dropped = () => {
        if (this.client === client) this.client = null;
      };
      client.on('error', dropped);
      client.on('end', dropped);
      try {
        await client.connect();
        await client.query('SELECT pg_advisory_lock_shared($1, $2)', [
          LOCK_CLASS,
          ownerKey(this.owner),
        ]);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw new Error(`Cannot reach PostgreSQL at ${this.where}: ${errorText(err)}`, {
          cause: err,
        });
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    void client.end().catch(() => undefined);
  }

  /** A read: on a dropped connection it reconnects and asks once more (reads change nothing). */
  private async read<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } catch (err) {
        // A read changes nothing: after a dropped connection, read once more on a new one.
        if (attempt === 0 && connectionLost(err)) {
          this.drop(client);
          continue;
        }
        throw this.failure(err);
      }
    }
  }

  private failure(err: unknown): Error {
    if (err instanceof CorruptDatabaseError) return err;
    if (err instanceof Error && 'code' in err && typeof err.code === 'string') {
      return new Error(`PostgreSQL at ${this.where}: ${err.message} (${err.code})`, { cause: err });
    }
    return new Error(`PostgreSQL at ${this.where}: ${errorText(err)}`, { cause: err });
  }

  async commit(ops: StoreOp[]): Promise<CommitResult> {
    let client = await this.connect();
    try {
      await client.query('BEGIN');
    } catch {
      // Nothing was sent but BEGIN: the connection had dropped (a server restart), so begin
      // again on a new one. A second failure is the answer.
      this.drop(client);
      client = await this.connect();
      try {
        await client.query('BEGIN');
      } catch (again) {
        throw this.failure(again);
      }
    }
    try {
      const result = await this.apply(client, ops);
      if (!result.ok) {
        await client.query('ROLLBACK');
        return result;
      }
      const runs = [...new Set(ops.flatMap(runsOf))].join(',').slice(0, 4000);
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, runs]);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A drop while COMMIT was on its way leaves its outcome unknown: the claims it carried, if
      // it did commit, make a second try end `already claimed`, never run a decision twice.
      throw this.failure(err);
    }
  }

  /** Claims first (all of them, as the file store reports them), then versions, then the rest. */
  private async apply(client: Queryable, ops: StoreOp[]): Promise<CommitResult> {
    const taken: string[] = [];
    for (const op of ops) {
      if (op.op !== 'claim') continue;
      for (const id of op.ids) {
        const inserted = await client.query(
          `INSERT INTO airlock_claims (run_id, id, owner, claimed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id, id) DO NOTHING`,
          [op.run_id, id, op.owner, op.at],
        );
        if (!inserted.rowCount) taken.push(id);
      }
    }
    if (taken.length) return { ok: false, claimed: taken };
    fault('pg-claimed'); // the crash tests: killed holding claims not yet committed
    for (const op of ops) {
      if (op.op === 'claim') continue;
      if (op.op === 'putRun') {
        if (!(await this.putRun(client, op))) {
          return { ok: false, conflict: 'version', run_id: op.row.run_id };
        }
        continue;
      }
      await this.applyOp(client, op);
    }
    return { ok: true };
  }

  /** False when the run is not at the version its writer read (the row stays locked till the end). */
  private async putRun(
    client: Queryable,
    op: Extract<StoreOp, { op: 'putRun' }>,
  ): Promise<boolean> {
    const r = op.row;
    if (!op.delta && op.state === undefined) {
      throw new Error(`A putRun of ${r.run_id} carries neither a state nor a state change.`);
    }
    const stored = (
      await client.query<{ version: number; state: Buffer }>(
        'SELECT version, state FROM airlock_runs WHERE run_id = $1 FOR UPDATE',
        [r.run_id],
      )
    ).rows[0];
    if ((stored ? Number(stored.version) : null) !== op.expect_version) return false;
    let state: string;
    if (op.delta) {
      try {
        state = json(applyStateDelta(JSON.parse(stored!.state.toString('utf8')), op.delta));
      } catch (err) {
        if (!(err instanceof StateDeltaError)) throw err;
        throw new CorruptDatabaseError(
          `The Airlock database ${this.where} holds run ${r.run_id}'s state, which its change to version ${r.version} does not fit (${err.message}). Nothing was changed.`,
        );
      }
    } else {
      state = json(op.state);
    }
    const bytes = Buffer.from(state, 'utf8');
    if (!stored) {
      // Two writers creating one run: the second finds the key taken and loses, as on a version.
      const inserted = await client.query(
        `INSERT INTO airlock_runs (run_id, agent, workspace, prompt, status, reason, message,
           created_at, updated_at, owner, version, state, nested_in)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (run_id) DO NOTHING`,
        runValues(r, bytes),
      );
      return inserted.rowCount === 1;
    }
    // The fixed fields (agent, workspace, prompt, created_at, nested_in) stay as created.
    await client.query(
      `UPDATE airlock_runs SET status = $2, reason = $3, message = $4, updated_at = $5,
         owner = $6, version = $7, state = $8 WHERE run_id = $1`,
      [r.run_id, r.status, r.reason, r.message, r.updated_at, r.owner, r.version, bytes],
    );
    return true;
  }

  private async applyOp(client: Queryable, op: Exclude<StoreOp, { op: 'putRun' | 'claim' }>) {
    switch (op.op) {
      case 'addSegment': {
        const s = op.row;
        await client.query(
          `INSERT INTO airlock_segments (segment_id, run_id, parent_segment_id, kind, resume, started_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          segmentValues(s),
        );
        return;
      }
      case 'appendEvents':
        if (!op.events.length) return;
        // One statement for the batch, in order (the sequence follows the array).
        await client.query(
          `INSERT INTO airlock_events (run_id, segment_id, type, body)
           SELECT $1, $2, t.type, t.body FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(type, body, n)
           ORDER BY t.n`,
          [
            op.run_id,
            op.segment_id,
            op.events.map((e) => String(e.type)),
            op.events.map((e) => json(e)),
          ],
        );
        return;
      case 'setPending':
        await client.query('DELETE FROM airlock_pending WHERE run_id = $1', [op.run_id]);
        for (const p of op.rows) await putPending(client, p);
        return;
      case 'updatePending':
        if (op.drop.length) {
          await client.query('DELETE FROM airlock_pending WHERE run_id = $1 AND id = ANY($2)', [
            op.run_id,
            op.drop,
          ]);
        }
        for (const p of op.put) await putPending(client, p);
        return;
      case 'decide':
        await client.query(
          `INSERT INTO airlock_decisions (run_id, id, resolution, decided_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id, id) DO UPDATE SET resolution = excluded.resolution, decided_at = excluded.decided_at`,
          [op.run_id, op.id, json(op.resolution), op.at],
        );
        return;
      case 'addRule': {
        const r = upgradeRule(op.rule as StandingRule | LegacyRule, op as { at?: string });
        await client.query(
          `INSERT INTO airlock_rules (rule_id, workspace, run_id, tool, paths, action, cover,
             created_by, created_at, approval_id, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (rule_id) DO NOTHING`,
          ruleValues(r),
        );
        return;
      }
      case 'revokeRule':
        await client.query(
          `UPDATE airlock_rules SET revoked_at = $1, revoked_by = $2
           WHERE rule_id = $3 AND revoked_at IS NULL`,
          [op.at, op.by, op.rule_id],
        );
        return;
      case 'deleteRuns':
        for (const table of RUN_TABLES) {
          await client.query(`DELETE FROM airlock_${table} WHERE run_id = ANY($1)`, [op.run_ids]);
        }
        // Undo data goes with its run: contents no remaining change names are freed.
        await client.query(
          `DELETE FROM airlock_contents c WHERE NOT EXISTS (
             SELECT 1 FROM airlock_changes x WHERE x.before = c.hash OR x.after = c.hash)`,
        );
        return;
      case 'putContent': {
        const bytes = contentBytes(op);
        if (!bytes) throw new Error(`A content ${op.hash} with no bytes.`);
        await client.query(
          'INSERT INTO airlock_contents (hash, body) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING',
          [op.hash, bytes],
        );
        return;
      }
      case 'addChange': {
        const c = op.row;
        await client.query(
          `INSERT INTO airlock_changes (change_id, run_id, call_id, path, kind, before, after,
             reverts, reverted_by, by, mode, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          changeValues(c),
        );
        return;
      }
      case 'markReverted':
        await client.query('UPDATE airlock_changes SET reverted_by = $1 WHERE change_id = $2', [
          op.by,
          op.change_id,
        ]);
        return;
      case 'deferDecision':
        await client.query(
          'INSERT INTO airlock_deferred (run_id, id, resolution, at) VALUES ($1, $2, $3, $4)',
          [op.run_id, op.id, Buffer.from(json(op.resolution), 'utf8'), op.at],
        );
        return;
      case 'dropDeferred':
        await client.query('DELETE FROM airlock_deferred WHERE run_id = $1 AND id = ANY($2)', [
          op.run_id,
          op.ids,
        ]);
        await client.query('DELETE FROM airlock_claims WHERE run_id = $1 AND id = ANY($2)', [
          op.run_id,
          op.ids.map((id) => `decide:${id}`),
        ]);
        return;
    }
  }

  async getRun(runId: string): Promise<{ row: RunRow; state: unknown } | undefined> {
    const r = (await this.read('SELECT * FROM airlock_runs WHERE run_id = $1', [runId]))[0];
    if (!r) return undefined;
    return { row: toRunRow(r), state: JSON.parse((r.state as Buffer).toString('utf8')) };
  }

  private listed(r: ListedRow): RunSummary {
    const row = toRunRow(r);
    const status = row.status === 'running' && r.owner_alive === false ? 'interrupted' : row.status;
    return { ...row, status, pending: Number(r.pending ?? 0) };
  }

  async listRuns(): Promise<RunSummary[]> {
    const rows = await this.read<ListedRow>(
      `SELECT r.run_id, r.agent, r.workspace, r.prompt, r.status, r.reason, r.message,
              r.created_at, r.updated_at, r.owner, r.version, r.nested_in,
              (SELECT count(*) FROM airlock_pending p WHERE p.run_id = r.run_id) AS pending,
              CASE WHEN r.status = 'running' AND r.owner IS NOT NULL THEN ${OWNER_ALIVE('r.owner')} END AS owner_alive
       FROM airlock_runs r WHERE r.nested_in IS NULL ORDER BY r.created_at DESC, r.run_id`,
    );
    return rows.map((r) => this.listed(r));
  }

  async interruptedRuns(): Promise<string[]> {
    const rows = await this.read<{ run_id: string }>(
      `SELECT r.run_id FROM airlock_runs r
       WHERE r.status = 'running' AND r.nested_in IS NULL AND r.owner IS NOT NULL
         AND NOT ${OWNER_ALIVE('r.owner')}
       ORDER BY r.created_at DESC, r.run_id`,
    );
    return rows.map((r) => r.run_id);
  }

  async retryableRuns(): Promise<{ run_id: string; message: string }[]> {
    return (
      await this.read<{ run_id: string; message: string }>(
        `SELECT run_id, message FROM airlock_runs WHERE status = 'error' AND reason = 'model_error'
         AND nested_in IS NULL ORDER BY created_at DESC, run_id`,
      )
    ).map((r) => ({ run_id: r.run_id, message: r.message }));
  }

  /** Whether the process `owner` names still has a session (on any machine). */
  async ownerAlive(owner: string): Promise<boolean> {
    const r = await this.read<{ alive: boolean }>(`SELECT ${OWNER_ALIVE('$1::text')} AS alive`, [
      owner,
    ]);
    return r[0]!.alive;
  }

  async pending(runId?: string): Promise<PendingRow[]> {
    const rows = runId
      ? await this.read('SELECT * FROM airlock_pending WHERE run_id = $1 ORDER BY created_at, id', [
          runId,
        ])
      : await this.read('SELECT * FROM airlock_pending ORDER BY created_at, id');
    return rows.map((r) => toPendingRow(r, JSON.parse(String(r.body)) as Record<string, unknown>));
  }

  async events(runId: string): Promise<EventRow[]> {
    return (
      await this.read('SELECT * FROM airlock_events WHERE run_id = $1 ORDER BY seq', [runId])
    ).map((r) => ({
      seq: Number(r.seq),
      run_id: String(r.run_id),
      segment_id: String(r.segment_id),
      event: JSON.parse(String(r.body)) as Record<string, unknown>,
    }));
  }

  async segments(runId: string): Promise<SegmentRow[]> {
    return (
      await this.read('SELECT * FROM airlock_segments WHERE run_id = $1 ORDER BY started_at, ord', [
        runId,
      ])
    ).map(toSegmentRow);
  }

  async claims(runId: string): Promise<{ id: string; owner: string; claimed_at: string }[]> {
    return (
      await this.read<{ id: string; owner: string; claimed_at: string }>(
        'SELECT id, owner, claimed_at FROM airlock_claims WHERE run_id = $1 ORDER BY ord',
        [runId],
      )
    ).map((r) => ({ id: r.id, owner: r.owner, claimed_at: r.claimed_at }));
  }

  async decisions(
    runId: string,
  ): Promise<{ id: string; resolution: unknown; decided_at: string }[]> {
    return (
      await this.read(
        'SELECT * FROM airlock_decisions WHERE run_id = $1 ORDER BY decided_at, ord',
        [runId],
      )
    ).map(toDecision);
  }

  async rules(workspace: string): Promise<StandingRule[]> {
    // A run's own rules end with it: rules of finished (or dropped) runs are not listed.
    return (
      await this.read(
        `SELECT r.* FROM airlock_rules r LEFT JOIN airlock_runs runs ON runs.run_id = r.run_id
         WHERE r.workspace = $1 AND r.revoked_at IS NULL
           AND (r.run_id IS NULL OR runs.status IN ('running', 'paused'))
         ORDER BY r.created_at, r.rule_id`,
        [workspace],
      )
    ).map(toStandingRule);
  }

  async deferred(runId: string): Promise<{ id: string; resolution: unknown; at: string }[]> {
    return (
      await this.read<{ id: string; resolution: Buffer; at: string }>(
        'SELECT * FROM airlock_deferred WHERE run_id = $1 ORDER BY at, id',
        [runId],
      )
    ).map((r) => ({
      id: r.id,
      resolution: JSON.parse(r.resolution.toString('utf8')) as unknown,
      at: r.at,
    }));
  }

  async changes(runId: string): Promise<ChangeRow[]> {
    return (
      await this.read('SELECT * FROM airlock_changes WHERE run_id = $1 ORDER BY at, ord', [runId])
    ).map(toChangeRow);
  }

  async change(changeId: string): Promise<ChangeRow | undefined> {
    const r = (
      await this.read('SELECT * FROM airlock_changes WHERE change_id = $1', [changeId])
    )[0];
    return r ? toChangeRow(r) : undefined;
  }

  async content(hash: string): Promise<Uint8Array | undefined> {
    const r = (
      await this.read<{ body: Buffer }>('SELECT body FROM airlock_contents WHERE hash = $1', [hash])
    )[0];
    return r?.body;
  }

  async compact(retention: Retention): Promise<number> {
    const drop = retentionDrops(
      await this.read<{ run_id: string; updated_at: string }>(
        `SELECT run_id, updated_at FROM airlock_runs WHERE status = ANY($1) AND nested_in IS NULL
         ORDER BY updated_at DESC, run_id`,
        [FINISHED_STATUSES],
      ),
      retention,
    );
    // Nested runs go with the run that drove them.
    const nested = drop.length
      ? (
          await this.read<{ run_id: string }>(
            'SELECT run_id FROM airlock_runs WHERE nested_in = ANY($1)',
            [drop],
          )
        ).map((r) => r.run_id)
      : [];
    const all = [...drop, ...nested];
    // Small batches, each its own commit: writers wait for one batch at most, never the sweep.
    for (let i = 0; i < all.length; i += 100) {
      await this.commit([{ op: 'deleteRuns', run_ids: all.slice(i, i + 100) }]);
    }
    return drop.length;
  }

  /**
   * Rewrites Airlock's tables without their dead rows (VACUUM FULL: new files, the old ones
   * unlinked). What the server's write-ahead log and backups hold is the server's to manage.
   */
  async scrub(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query(
        `VACUUM FULL airlock_runs, airlock_segments, airlock_events, airlock_pending,
           airlock_decisions, airlock_claims, airlock_rules, airlock_changes, airlock_contents,
           airlock_deferred`,
      );
    } catch (err) {
      throw this.failure(err);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

async function putPending(client: Queryable, p: PendingRow): Promise<void> {
  await client.query(
    `INSERT INTO airlock_pending (id, run_id, kind, body, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, kind = excluded.kind,
       body = excluded.body, created_at = excluded.created_at`,
    [p.id, p.run_id, p.kind, json(p.event), p.created_at],
  );
}

function runsOf(op: StoreOp): string[] {
  switch (op.op) {
    case 'putRun':
      return [op.row.run_id];
    case 'addSegment':
    case 'addChange':
      return [op.row.run_id];
    case 'deleteRuns':
      return op.run_ids;
    case 'dropDeferred':
    case 'deferDecision':
      return [op.run_id];
    case 'addRule':
    case 'revokeRule':
    case 'putContent':
    case 'markReverted':
      return [];
    default:
      return [op.run_id];
  }
}

/**
 * The connection, not the statement, failed: no SQLSTATE (a socket closed), or one of classes
 * 08 (connection exception) and 57 (operator intervention: the server shutting down).
 */
function connectionLost(err: unknown): boolean {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57)/.test(code);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
