// Retention and large payloads (issue 3): compact() drops only finished runs beyond keepRuns /
// keepDays, with everything that belongs to them, and sweeps payload files nothing refers to any
// more; big file contents live in FILE.blobs/ and finished runs drop their conversation state, so
// the snapshot stays small however large the files the runs touched.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runTool, type OutputEvent } from '../../host/runtime/index.js';
import { selfOwner } from '../../host/store/file-lock.js';
import { loadSqlJs } from '../../host/store/sqljs-store.js';
import type { Store, StoredStatus, StoreOp } from '../../host/store/store.js';
import { writeFileTool } from '../../host/tools/files.js';
import { onPostgres } from '../support/postgres.js';
import { openStore, tempDir } from '../support/scratch.js';

/** Payload files and SQLite pages are the file store's: not part of the PostgreSQL pass. */
const FILE_ONLY = { skip: onPostgres && 'the file store only' };

// ---------------------------------------------------------------------------------------------
// Helpers

/** A process that is certainly not running: pid beyond the kernel's maximum. */
const DEAD_OWNER = `${os.hostname()}:4194399:1`;

interface Seed {
  id: string;
  status: StoredStatus;
  /** ISO date of the last update (what keepDays and keepRuns order by). */
  at: string;
  owner?: string;
  nestedIn?: string;
  /** Adds an event of this many characters (16 KiB or more goes to a blob file). */
  bigEvent?: number;
}

/** One run as the runtime writes it: row, segment, events, a claim, a decision, maybe a gate. */
function seed(store: Store, s: Seed): void {
  const segment = `seg_${s.id}`;
  const gate = `apr_${s.id}`;
  const events: Record<string, unknown>[] = [{ type: 'start', run_id: s.id, segment_id: segment }];
  if (s.bigEvent)
    events.push({
      type: 'tool_result',
      run_id: s.id,
      output: s.id.repeat(s.bigEvent / s.id.length),
    });
  const ops: StoreOp[] = [
    {
      op: 'putRun',
      row: {
        run_id: s.id,
        agent: 'seed',
        workspace: null,
        prompt: null,
        status: s.status,
        reason: s.status === 'paused' ? 'approval_required' : s.status,
        message: '',
        created_at: s.at,
        updated_at: s.at,
        owner: s.owner ?? null,
        version: 1,
        nested_in: s.nestedIn ?? null,
      },
      expect_version: null,
      state: { seeded: s.id },
    },
    {
      op: 'addSegment',
      row: {
        segment_id: segment,
        run_id: s.id,
        parent_segment_id: null,
        kind: 'start',
        resume: null,
        started_at: s.at,
      },
    },
    { op: 'appendEvents', run_id: s.id, segment_id: segment, events },
    { op: 'claim', run_id: s.id, ids: [`done_${s.id}`], owner: selfOwner, at: s.at },
    { op: 'decide', run_id: s.id, id: `done_${s.id}`, resolution: { approved: true }, at: s.at },
  ];
  if (s.status === 'paused') {
    ops.push({
      op: 'setPending',
      run_id: s.id,
      rows: [
        {
          id: gate,
          run_id: s.id,
          kind: 'approval',
          event: { type: 'approval', approval_id: gate },
          created_at: s.at,
        },
      ],
    });
  }
  assert.deepEqual(store.commit(ops), { ok: true });
}

/** Everything the store holds about a run, as counts. */
function footprint(store: Store, id: string) {
  return {
    run: store.getRun(id) ? 1 : 0,
    events: store.events(id).length,
    segments: store.segments(id).length,
    claims: store.claims(id).length,
    decisions: store.decisions(id).length,
    pending: store.pending(id).length,
  };
}

const GONE = { run: 0, events: 0, segments: 0, claims: 0, decisions: 0, pending: 0 };

function assertGone(store: Store, id: string): void {
  assert.deepEqual(footprint(store, id), GONE, `${id} was dropped with all it owned`);
}

function assertKept(store: Store, id: string): void {
  const f = footprint(store, id);
  assert.equal(f.run, 1, `${id} was kept`);
  assert.ok(f.events >= 1 && f.segments === 1 && f.claims === 1 && f.decisions === 1, id);
}

/** Every payload file under FILE.blobs/. */
function blobFiles(file: string): string[] {
  const dir = `${file}.blobs`;
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The payload files the file store made (PostgreSQL keeps every body in its row: none to count). */
function assertPayloadFiles(file: string, count: number, message?: string): void {
  if (!onPostgres) assert.equal(blobFiles(file).length, count, message);
}

/**
 * Blobs younger than a minute are never swept (a writer in another process may be about to name
 * one). Dating them back stands in for waiting that minute.
 */
function ageBlobs(file: string): void {
  const old = new Date(Date.now() - 10 * 60_000);
  for (const blob of blobFiles(file)) fs.utimesSync(blob, old, old);
}

/** Bytes of the pages a SQLite file actually uses (its size less its free pages). */
async function liveBytes(file: string): Promise<number> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(file));
  try {
    const pragma = (name: string) => Number(db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0]);
    return (pragma('page_count') - pragma('freelist_count')) * pragma('page_size');
  } finally {
    db.close();
  }
}

const day = (d: number) => new Date(Date.UTC(2026, 0, d)).toISOString();

// ---------------------------------------------------------------------------------------------

void describe('compact', () => {
  /** Finished runs f1 (oldest) .. f5 (newest), plus runs that must never be dropped. */
  async function seeded(): Promise<{ file: string; store: Store }> {
    const file = path.join(tempDir('db'), 'airlock.db');
    const store = await openStore(file);
    for (let i = 1; i <= 5; i++) {
      seed(store, {
        id: `f${i}`,
        status: (['success', 'error', 'cancelled'] as const)[i % 3]!,
        at: day(i * 2),
        bigEvent: i === 1 || i === 5 ? 20_000 : 0,
      });
    }
    // A nested run belongs to its parent: it goes when f2 goes, whatever its own date.
    seed(store, { id: 'n2', status: 'success', at: day(20), nestedIn: 'f2' });
    // Older than everything, but not finished: paused, running (alive), interrupted (owner gone).
    seed(store, { id: 'paused', status: 'paused', at: day(1) });
    seed(store, { id: 'running', status: 'running', at: day(1), owner: selfOwner });
    seed(store, { id: 'interrupted', status: 'running', at: day(1), owner: DEAD_OWNER });
    assert.equal(store.listRuns().find((r) => r.run_id === 'interrupted')?.status, 'interrupted');
    assertPayloadFiles(file, 2, 'the two big events went to payload files');
    return { file, store };
  }

  const NEVER = ['paused', 'running', 'interrupted'];

  void it('keepRuns drops only the oldest finished runs, with their events, segments, claims, decisions and nested runs', async () => {
    const { file, store } = await seeded();
    ageBlobs(file);
    assert.equal(store.compact({ keepRuns: 2 }), 3);
    for (const id of ['f1', 'f2', 'f3', 'n2']) assertGone(store, id);
    for (const id of ['f4', 'f5', ...NEVER]) assertKept(store, id);
    assert.equal(store.pending('paused').length, 1, 'the paused gate is still pending');
    // f1's payload file is swept; f5's is kept and still read back whole.
    assertPayloadFiles(file, 1);
    assert.equal(store.events('f5')[1]?.event.output, 'f5'.repeat(10_000));

    // Another process opening the database sees the same: the deletions are durable.
    const fresh = await openStore(file);
    assert.deepEqual(fresh.warnings, []);
    assert.deepEqual(
      fresh
        .listRuns()
        .map((r) => r.run_id)
        .sort(),
      ['f4', 'f5', ...NEVER].sort(),
    );
    for (const id of ['f1', 'f2', 'f3', 'n2']) assertGone(fresh, id);
    assert.equal(fresh.events('f5')[1]?.event.output, 'f5'.repeat(10_000));

    // Nothing more to drop: compacting again is a no-op.
    assert.equal(fresh.compact({ keepRuns: 2 }), 0);
    assert.equal(fresh.compact({ keepRuns: 0 }), 2, 'keepRuns 0 drops every finished run');
    assert.deepEqual(
      fresh
        .listRuns()
        .map((r) => r.run_id)
        .sort(),
      [...NEVER].sort(),
    );
    assertPayloadFiles(file, 0, 'no payload file is referenced any more');
  });

  void it('keepDays drops only finished runs last updated before the cutoff', async () => {
    const { file, store } = await seeded();
    ageBlobs(file);
    // now = Jan 12, keep 5 days: cutoff Jan 7; f1 (Jan 2), f2 (Jan 4), f3 (Jan 6) go.
    assert.equal(store.compact({ keepDays: 5, now: new Date(day(12)) }), 3);
    for (const id of ['f1', 'f2', 'f3', 'n2']) assertGone(store, id);
    for (const id of ['f4', 'f5', ...NEVER]) assertKept(store, id);
    // Both limits: a run goes when it is beyond either.
    assert.equal(store.compact({ keepDays: 5, keepRuns: 1, now: new Date(day(12)) }), 1);
    assertGone(store, 'f4');
    assertKept(store, 'f5');
    const fresh = await openStore(file);
    assert.deepEqual(
      fresh
        .listRuns()
        .map((r) => r.run_id)
        .sort(),
      ['f5', ...NEVER].sort(),
    );
  });

  void it(
    'young payload files are not swept, even unreferenced (a writer may be about to name one)',
    FILE_ONLY,
    async () => {
      const { file, store } = await seeded();
      assert.equal(store.compact({ keepRuns: 0 }), 5);
      assert.equal(blobFiles(file).length, 2, 'both are younger than a minute');
      ageBlobs(file);
      // The next compaction that drops anything sweeps them.
      seed(store, { id: 'late', status: 'success', at: day(25) });
      assert.equal(store.compact({ keepRuns: 0 }), 1);
      assert.deepEqual(blobFiles(file), []);
    },
  );
});

void describe('large payloads', () => {
  void it(
    '50 runs writing a 200 KB file each: bodies in payload files, the snapshot stays small, compaction sweeps them',
    FILE_ONLY,
    async () => {
      const dir = tempDir('large');
      const ws = path.join(dir, 'ws');
      fs.mkdirSync(ws);
      const file = path.join(dir, 'db', 'airlock.db');
      // Snapshots by count only, written in the commit: the last one falls after a run's end (4
      // commits a run), not on a paused run's 200 KB state, which a snapshot by journal bytes
      // could catch, and is on disk when the test reads it (store-snapshot.test.ts covers the
      // worker's snapshots).
      const store = await openStore(file, {
        snapshotEvery: 20,
        snapshotBytes: 2 ** 40,
        snapshotInlineUnder: 2 ** 40,
      });
      const tool = writeFileTool(ws);
      const RUNS = 50;
      const SIZE = 200 * 1024;
      const runIds: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const line = `run ${i}: ${'x'.repeat(70)}\n`;
        const content = line.repeat(Math.ceil(SIZE / line.length)).slice(0, SIZE);
        const input = { path: `big/file-${i}.txt`, content };
        const paused = await runTool(tool, { store, workspace: ws, input }).collect();
        assert.equal(paused.status.reason, 'approval_required');
        const [id] = paused.pending;
        const done: OutputEvent = await runTool(tool, {
          store,
          workspace: ws,
          runId: paused.run_id,
          resume: { [id!]: true },
        }).collect();
        assert.equal(done.status.code, 'success', done.status.message);
        assert.equal(fs.statSync(path.join(ws, input.path)).size, SIZE);
        runIds.push(paused.run_id);
      }
      const payload = RUNS * SIZE;
      const snapshot = fs.statSync(file).size;
      const live = await liveBytes(file);
      const pct = (n: number) => `${((100 * n) / payload).toFixed(1)}%`;
      console.log(
        `snapshot of ${RUNS} runs writing ${SIZE} B each: ${snapshot} B file (${pct(snapshot)} of the payload), ${live} B in use (${pct(live)})`,
      );
      // Inline bodies, or finished runs keeping their conversation, would each put the whole
      // payload (or more) in the snapshot. The file also carries free pages left by paused runs'
      // big state, which SQLite reuses but export() keeps, hence the looser bound on the file.
      assert.ok(live * 20 < payload, `the rows in use (${live} B) are under 5% of ${payload} B`);
      assert.ok(
        snapshot * 5 < payload,
        `the snapshot (${snapshot} B) is under 20% of ${payload} B`,
      );
      assert.equal(
        blobFiles(file).length,
        2 * RUNS,
        'two payload files per run: its diff preview, and the content written, kept for undo',
      );

      // A fresh process loads it all back, previews included.
      const fresh = await openStore(file);
      assert.deepEqual(fresh.warnings, []);
      const approval = fresh.events(runIds[7]!).find((e) => e.event.type === 'approval');
      const preview = approval?.event.preview as { diff: string; after_bytes: number } | undefined;
      assert.equal(preview?.after_bytes, SIZE);
      assert.ok(
        preview.diff.includes('+run 7: xxx'),
        'the diff is read back from its payload file',
      );
      const state = fresh.getRun(runIds[7]!)?.state as { messages: unknown[]; calls: unknown[] };
      assert.deepEqual(
        [state.messages, state.calls],
        [[], []],
        'a finished run keeps no conversation',
      );

      ageBlobs(file);
      assert.equal(fresh.compact({ keepRuns: 10 }), RUNS - 10);
      assert.equal(blobFiles(file).length, 20, "the dropped runs' payload files are swept");
      for (const id of runIds.slice(0, RUNS - 10)) assertGone(fresh, id);
      for (const id of runIds.slice(RUNS - 10)) {
        assert.equal(fresh.getRun(id)?.row.status, 'success');
        assert.ok(fresh.events(id).some((e) => e.event.type === 'approval'));
      }
    },
  );
});
