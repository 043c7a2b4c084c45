// Finished runs' events, packed (issue 14): every process loads the whole file store when it
// opens, so a finished run's events are kept as one deflated row. They read back exactly as
// they were, in this process and in a new one; a run that goes on after it ended appends after
// them; and they take a fraction of the bytes they did.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadManifest } from '../../host/store/snapshot.js';
import { loadSqlJs, type SqlJsStore } from '../../host/store/sqljs-store.js';
import type { RunRow, StoredStatus, StoreOp } from '../../host/store/store.js';
import { onPostgres } from '../support/postgres.js';
import { openFileStore, tempDir } from '../support/scratch.js';

const FILE_ONLY = { skip: onPostgres && 'the file store only' };

function row(id: string, status: StoredStatus, version: number, minute = 0): RunRow {
  return {
    run_id: id,
    agent: 'packed',
    workspace: null,
    prompt: 'Tidy the parser',
    status,
    reason: status,
    message: '',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: `2026-01-01T00:${String(minute).padStart(2, '0')}:0${version}.000Z`,
    owner: null,
    version,
    nested_in: null,
  };
}

/** Events like a real run's: tool results holding source text, which repeats as code does. */
function events(id: string, from: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'tool_result',
    run_id: id,
    call_id: `call_${from + i}`,
    tool: 'read_file',
    ok: true,
    output: Array.from(
      { length: 30 },
      (_, line) =>
        `export function parse${line}(input: string): Node { return parser.read(input, ${from + i}); }`,
    ).join('\n'),
  }));
}

function step(
  store: SqlJsStore,
  id: string,
  status: StoredStatus,
  version: number,
  added: Record<string, unknown>[],
  minute = 0,
): void {
  const ops: StoreOp[] = [
    {
      op: 'putRun',
      row: row(id, status, version, minute),
      expect_version: version === 1 ? null : version - 1,
      state: { v: version },
    },
  ];
  if (version === 1) {
    ops.push({
      op: 'addSegment',
      row: {
        segment_id: `seg_${id}`,
        run_id: id,
        parent_segment_id: null,
        kind: 'start',
        resume: null,
        started_at: row(id, status, 1).created_at,
      },
    });
  }
  // After the status: the commit that ends a run packs its own last events too.
  ops.push({ op: 'appendEvents', run_id: id, segment_id: `seg_${id}`, events: added });
  assert.deepEqual(store.commit(ops), { ok: true });
}

/** Rows of the `events` table and bytes of the packed row for a run, in a copy of the database. */
async function storedAs(store: SqlJsStore, id: string, dir: string) {
  const copy = path.join(dir, `copy-${Date.now()}-${Math.random()}.db`);
  store.writeTo(copy);
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(copy));
  try {
    const count = (sql: string) => Number(db.exec(sql, [id])[0]?.values[0]?.[0] ?? 0);
    return {
      rows: count('SELECT count(*) FROM events WHERE run_id = ?'),
      packed: count('SELECT coalesce(sum(length(body)), 0) FROM packed_events WHERE run_id = ?'),
    };
  } finally {
    db.close();
  }
}

void describe('finished runs, packed', FILE_ONLY, () => {
  void it('a finished run reads back the same events, here and in a new process, from a fraction of the bytes', async () => {
    const dir = tempDir('packed');
    const file = path.join(dir, 'airlock.db');
    const store = await openFileStore(file);
    step(store, 'run_a', 'running', 1, events('run_a', 0, 20));
    step(store, 'run_a', 'running', 2, events('run_a', 20, 20));
    const live = store.events('run_a');
    assert.equal(live.length, 40);
    assert.equal((await storedAs(store, 'run_a', dir)).rows, 40, 'a live run keeps its rows');

    step(store, 'run_a', 'success', 3, events('run_a', 40, 1));
    const done = store.events('run_a');
    assert.deepEqual(done.slice(0, 40), live, 'the same seqs, segments and bodies');
    assert.equal(done.length, 41);
    const stored = await storedAs(store, 'run_a', dir);
    assert.equal(stored.rows, 0, 'no event rows are left for the finished run');
    const plain = done.reduce((n, e) => n + JSON.stringify(e.event).length, 0);
    assert.ok(
      stored.packed * 5 < plain,
      `packed ${stored.packed} B, under a fifth of the ${plain} B of its events`,
    );

    const fresh = await openFileStore(file);
    assert.deepEqual(fresh.warnings, []);
    assert.deepEqual(fresh.events('run_a'), done);
  });

  void it('a run that goes on after it ended appends after its packed events, in order', async () => {
    const dir = tempDir('packed-resumed');
    const file = path.join(dir, 'airlock.db');
    const store = await openFileStore(file);
    step(store, 'run_b', 'running', 1, events('run_b', 0, 3));
    step(store, 'run_b', 'error', 2, events('run_b', 3, 1));
    step(store, 'run_b', 'running', 3, events('run_b', 4, 2));
    const goingOn = store.events('run_b');
    assert.deepEqual(
      goingOn.map((e) => e.event.call_id),
      ['call_0', 'call_1', 'call_2', 'call_3', 'call_4', 'call_5'],
    );
    step(store, 'run_b', 'success', 4, events('run_b', 6, 1));
    const all = store.events('run_b');
    assert.deepEqual(all.slice(0, 6), goingOn, 'packed again, nothing lost or repeated');
    assert.equal(all.length, 7);
    const seqs = all.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);
    assert.deepEqual((await openFileStore(file)).events('run_b'), all);
  });

  void it('the snapshot worker moves packed events to payload files: a new process reads them there; a dropped run takes its file along', async () => {
    const dir = tempDir('packed-out');
    const file = path.join(dir, 'airlock.db');
    const store = await openFileStore(file, { snapshotInlineUnder: 0, snapshotEvery: 4 });
    const ids = ['run_1', 'run_2', 'run_3', 'run_4'];
    ids.forEach((id, i) => {
      step(store, id, 'running', 1, events(id, 0, 10), i);
      step(store, id, 'success', 2, events(id, 10, 1), i);
    });
    const expected = new Map(ids.map((id) => [id, store.events(id)]));
    // Eight commits, made while the worker wrote the snapshot due at 4; then four more (a live
    // run's), so the next one, due at once, holds every finished run.
    const snapshotAt = async (seq: number) => {
      for (let i = 0; (loadManifest(file)?.current?.seq ?? 0) < seq; i++) {
        if (i > 24_000) assert.fail(`no snapshot at commit ${seq} after two minutes`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await snapshotAt(4);
    for (let v = 1; v <= 4; v++) step(store, 'run_live', 'running', v, events('run_live', v, 1));
    await snapshotAt(8);
    const SQL = await loadSqlJs();
    const snapshot = new SQL.Database(fs.readFileSync(file));
    const count = (sql: string) => Number(snapshot.exec(sql)[0]?.values[0]?.[0]);
    assert.equal(count('SELECT count(*) FROM packed_events'), 4);
    assert.equal(count('SELECT count(*) FROM packed_events WHERE body IS NOT NULL'), 0);
    snapshot.close();
    const payloads = () =>
      fs
        .readdirSync(`${file}.blobs`, { recursive: true })
        .filter((f) => /[0-9a-f]{64}$/.test(String(f)));
    assert.equal(payloads().length, 4, 'one payload file per finished run');

    const fresh = await openFileStore(file);
    assert.deepEqual(fresh.warnings, []);
    for (const id of ids) assert.deepEqual(fresh.events(id), expected.get(id), id);

    // Retention drops the two oldest; their files go once they are past the sweep's grace.
    const old = new Date(Date.now() - 10 * 60_000);
    for (const f of payloads()) fs.utimesSync(path.join(`${file}.blobs`, String(f)), old, old);
    assert.equal(fresh.compact({ keepRuns: 2 }), 2);
    assert.equal(payloads().length, 2);
    for (const id of ['run_3', 'run_4']) assert.deepEqual(fresh.events(id), expected.get(id));
    assert.deepEqual(fresh.events('run_1'), []);
  });
});
