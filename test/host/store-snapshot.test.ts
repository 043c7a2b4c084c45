// Snapshots are written by a worker thread, off the commit path (docs/store.md, "Snapshots"):
// commits made while one is being written are acknowledged at once and survive it, a kill -9 at
// any point of it loses nothing, the journal a store replays on open stays bounded by bytes when
// records are large, and processes sharing the database still agree. Every store here takes the
// worker's path (`snapshotInlineUnder: 0`), whatever the database's size.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readRecords } from '../../host/store/journal.js';
import { loadManifest } from '../../host/store/snapshot.js';
import { loadSqlJs, SqlJsStore, type StoreOptions } from '../../host/store/sqljs-store.js';
import type { StoreOp } from '../../host/store/store.js';
import { openFileStore, tempDir } from '../support/scratch.js';
import { newRunOp } from '../support/store-rows.js';

const ROOT = path.resolve(__dirname, '../..');
const WORKER: StoreOptions = { snapshotInlineUnder: 0 };

function newRun(runId: string, bulk = 0): StoreOp[] {
  const ops: StoreOp[] = [newRunOp(runId)];
  // Event bodies under the blob threshold (16 KiB), so they stay in the journal record.
  for (let i = 0; i < bulk; i++) {
    ops.push({
      op: 'appendEvents',
      run_id: runId,
      segment_id: 's',
      events: [{ type: 'tool_result', output: `${runId} ${i} `.repeat(1000).slice(0, 10_000) }],
    });
  }
  return ops;
}

/** Waits (the event loop running: that is when a finished snapshot is put in place) for `ready`. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; !ready(); i++) {
    if (i > 12_000) assert.fail(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const snapshotSeq = (db: string) => loadManifest(db)?.current?.seq ?? 0;

function seqs(db: string): number[] {
  return readRecords(`${db}.journal`, 0).records.map(
    (p) => (JSON.parse(p.toString('utf8')) as { seq: number }).seq,
  );
}

function runIds(store: SqlJsStore): string[] {
  return store
    .listRuns()
    .map((r) => r.run_id)
    .sort();
}

/** Opens the database afresh, as another process would, and lists its runs. */
async function reopened(db: string): Promise<{ runs: string[]; warnings: string[] }> {
  const store = await SqlJsStore.open(db);
  try {
    return { runs: runIds(store), warnings: store.warnings };
  } finally {
    store.close();
  }
}

/**
 * A separate process committing `count` runs named `prefix_i` (printing `ack <id>` once each
 * commit returned), its snapshots written by worker threads every `every` commits.
 */
function child(db: string, prefix: string, count: number, every: number, env: NodeJS.ProcessEnv) {
  const code = `
    const { SqlJsStore } = require(${JSON.stringify(path.join(ROOT, 'host/store/sqljs-store.ts'))});
    const run = (id) => [{ op: 'putRun', expect_version: null, state: { id }, row: { run_id: id,
      agent: 'a', workspace: null, prompt: null, status: 'success', reason: 'completed',
      message: '', created_at: 'now', updated_at: 'now', owner: null, version: 1, nested_in: null } }];
    (async () => {
      const store = await SqlJsStore.open(${JSON.stringify(db)},
        { snapshotEvery: ${every}, snapshotInlineUnder: 0 });
      for (let i = 0; i < ${count}; i++) {
        await store.ready();
        const id = ${JSON.stringify(prefix)} + '_' + i;
        const result = store.commit(run(id));
        if (!result.ok) throw new Error(JSON.stringify(result));
        process.stdout.write('ack ' + id + '\\n');
        await new Promise((resolve) => setImmediate(resolve));
      }
      store.close();
    })();`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    exited,
    acks: () => out.match(/^ack (\S+)$/gm)?.map((line) => line.slice(4)) ?? [],
    stderr: () => err,
  };
}

void describe('snapshots written off the commit path', () => {
  void it('commits made while a snapshot is half written are acknowledged at once and survive it, the journal trimmed around them', async () => {
    const dir = tempDir('snap-hold');
    const db = path.join(dir, 'airlock.db');
    const gate = path.join(dir, 'gate');
    const store = await openFileStore(db, { ...WORKER, snapshotEvery: 4 });
    const expected: string[] = [];
    const commit = (id: string) => {
      assert.deepEqual(store.commit(newRun(id)), { ok: true });
      expected.push(id);
    };
    for (let i = 1; i <= 4; i++) commit(`r${i}`);
    await until(() => snapshotSeq(db) === 4, 'the first snapshot (commit 4)');

    // The next snapshot's worker stops once its file is written, before anything is in place.
    process.env.AIRLOCK_HOLD = `snapshot-written:${gate}`;
    try {
      for (let i = 5; i <= 8; i++) commit(`r${i}`);
    } finally {
      delete process.env.AIRLOCK_HOLD;
    }
    await until(() => fs.existsSync(`${gate}.reached`), 'the worker to be mid-snapshot');
    // Commits go on, each acknowledged on its return, while the snapshot is held half written.
    for (let i = 9; i <= 14; i++) commit(`r${i}`);
    assert.equal(snapshotSeq(db), 4, 'the snapshot at commit 8 is not in place yet');
    assert.deepEqual(runIds(store), [...expected].sort());
    assert.deepEqual(await reopened(db), { runs: [...expected].sort(), warnings: [] });

    fs.writeFileSync(gate, '');
    await until(() => snapshotSeq(db) === 8, 'the held snapshot to be put in place');
    // The journal keeps what FILE.prev (commit 4) lacks, the commits made meanwhile included.
    assert.deepEqual(seqs(db), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    commit('r15');
    assert.deepEqual(seqs(db).at(-1), 15, 'later commits append to the new journal');
    assert.deepEqual(await reopened(db), { runs: [...expected].sort(), warnings: [] });
  });

  void it('kill -9 mid-snapshot (its file written, not in place) and just after it is in place: nothing acknowledged lost, the dead process’s temp file removed', async () => {
    for (const point of ['snapshot-before', 'snapshot-after']) {
      const dir = tempDir('snap-kill');
      const db = path.join(dir, 'airlock.db');
      const proc = child(db, 'k', 40, 3, { AIRLOCK_FAULT: `${point}:2` });
      const exit = await proc.exited;
      assert.equal(exit.signal, 'SIGKILL', `${point}: killed (${proc.stderr()})`);
      const acked = proc.acks();
      assert.ok(
        acked.length >= 3, // at least the commits up to the one that asked for the snapshot
        `${point}: ${acked.length} commits acknowledged before the kill`,
      );
      const { runs, warnings } = await reopened(db);
      for (const id of acked)
        assert.ok(runs.includes(id), `${point}: ${id} acknowledged, then lost`);
      assert.deepEqual(warnings, [], point);

      // The next snapshot (from any process) removes what the killed one left half done.
      const store = await openFileStore(db, { ...WORKER, snapshotEvery: 2 });
      const before = snapshotSeq(db);
      store.commit(newRun('after_1'));
      store.commit(newRun('after_2'));
      await until(() => snapshotSeq(db) > before, `${point}: a snapshot after the kill`);
      const left = fs.readdirSync(dir).filter((n) => /\.tmp-\d+$/.test(n));
      assert.deepEqual(left, [], `${point}: temp files left`);
      store.close();
      const final = await reopened(db);
      for (const id of [...acked, 'after_1', 'after_2']) assert.ok(final.runs.includes(id), id);
      assert.deepEqual(final.warnings, []);
    }
  });

  void it('a store closed while its worker writes a snapshot writes its own, and the worker’s temp files go once it is done; the next stores’ snapshots still come from a worker', async () => {
    const dir = tempDir('snap-drop');
    const db = path.join(dir, 'airlock.db');
    const gate = path.join(dir, 'gate');
    // Any database takes the worker's path while open; closing, a small one is written in place.
    const options: StoreOptions = { snapshotInlineUnder: 1, snapshotEvery: 3 };
    const expected: string[] = [];
    const first = await openFileStore(db, options);
    process.env.AIRLOCK_HOLD = `snapshot-written:${gate}`;
    try {
      for (let i = 1; i <= 3; i++) {
        assert.deepEqual(first.commit(newRun(`d${i}`)), { ok: true });
        expected.push(`d${i}`);
      }
    } finally {
      delete process.env.AIRLOCK_HOLD;
    }
    await until(() => fs.existsSync(`${gate}.reached`), 'the worker to be mid-snapshot');
    const temp = () => fs.readdirSync(dir).filter((n) => /\.tmp-\d+$/.test(n));
    assert.notDeepEqual(temp(), [], 'the worker has written its temp file');
    first.close();
    assert.equal(snapshotSeq(db), 3, 'closing wrote the snapshot in place');
    fs.writeFileSync(gate, '');
    await until(() => temp().length === 0, 'the dropped snapshot’s temp files to be removed');
    assert.equal(snapshotSeq(db), 3);

    // Stores opened afterwards in this process still get their snapshots written off the commit.
    for (let round = 0; round < 2; round++) {
      const store = await openFileStore(db, options);
      const before = snapshotSeq(db);
      for (let i = 0; i < 3; i++) {
        const id = `e${round}_${i}`;
        assert.deepEqual(store.commit(newRun(id)), { ok: true });
        expected.push(id);
      }
      await until(() => snapshotSeq(db) > before, `round ${round}: the worker's snapshot`);
      store.close();
    }
    assert.deepEqual(temp(), []);
    assert.deepEqual(await reopened(db), { runs: expected.sort(), warnings: [] });
  });

  void it('large records: a snapshot every snapshotBytes of journal, so opening replays a bounded journal however few the commits', async () => {
    const dir = tempDir('snap-bytes');
    const db = path.join(dir, 'airlock.db');
    const LIMIT = 200 * 1024;
    // By count alone, none of these 60 commits (each ~50 KB) would ever be snapshotted.
    const store = await openFileStore(db, { ...WORKER, snapshotEvery: 1000, snapshotBytes: LIMIT });
    const expected: string[] = [];
    let largest = 0;
    for (let i = 0; i < 60; i++) {
      const ops = newRun(`big${i}`, 5);
      largest = Math.max(largest, JSON.stringify(ops).length + 100);
      assert.deepEqual(store.commit(ops), { ok: true });
      expected.push(`big${i}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    store.close(); // finishes a snapshot being written
    const journal = readRecords(`${db}.journal`, 0).records;
    const current = snapshotSeq(db);
    assert.ok(current > 0, 'snapshots were written by bytes');
    const replayed = journal
      .filter((p) => (JSON.parse(p.toString('utf8')) as { seq: number }).seq > current)
      .reduce((sum, p) => sum + p.length, 0);
    // Closed, the newest snapshot is in place: opening replays what came after it, less than the
    // two intervals after which a commit would have waited for it.
    assert.ok(
      replayed <= 2 * LIMIT + largest,
      `opening replays ${replayed} bytes of journal (limit ${LIMIT} per snapshot)`,
    );
    // The journal also keeps what FILE.prev lacks: at most two such stretches, of the 3 MB written.
    const whole = journal.reduce((sum, p) => sum + p.length, 0);
    assert.ok(whole <= 4 * (LIMIT + largest), `the journal holds ${whole} bytes`);
    assert.deepEqual(await reopened(db), { runs: expected.sort(), warnings: [] });
  });

  void it("every snapshot, the worker's or one written in place, keeps free pages for the commits after it, and opens with everything in it", async () => {
    const SQL = await loadSqlJs();
    for (const options of [WORKER, {}]) {
      const dir = tempDir('snap-free');
      const db = path.join(dir, 'airlock.db');
      const store = await SqlJsStore.open(db, { ...options, snapshotEvery: 25 });
      const expected: string[] = [];
      for (let i = 0; i < 60; i++) {
        assert.deepEqual(store.commit(newRun(`r${i}`, 1)), { ok: true });
        expected.push(`r${i}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      store.close();
      assert.ok(snapshotSeq(db) > 0, 'a snapshot was written');
      const file = new SQL.Database(fs.readFileSync(db));
      try {
        const value = (sql: string) => Number(file.exec(sql)[0]?.values[0]?.[0]);
        const free = value('PRAGMA freelist_count') * value('PRAGMA page_size');
        // Without them, the first commit that extends the file of a store opened from it copies
        // the whole database into fresh memory (sqljs-store.ts, `exported`).
        assert.ok(free >= 128 * 1024, `${free} bytes of free pages in the snapshot`);
        assert.equal(file.exec('PRAGMA integrity_check')[0]?.values[0]?.[0], 'ok');
        assert.equal(value("SELECT count(*) FROM meta WHERE key = 'free_pages'"), 0);
      } finally {
        file.close();
      }
      assert.deepEqual(await reopened(db), { runs: expected.sort(), warnings: [] });
    }
  });

  void it('two processes committing at once, each writing snapshots in worker threads: both see every run, nothing lost', async () => {
    const dir = tempDir('snap-two');
    const db = path.join(dir, 'airlock.db');
    const first = await openFileStore(db); // creates the database before the two start
    first.close();
    const a = child(db, 'a', 30, 4, {});
    const b = child(db, 'b', 30, 4, {});
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    assert.deepEqual(ea, { code: 0, signal: null }, a.stderr());
    assert.deepEqual(eb, { code: 0, signal: null }, b.stderr());
    const all = [...a.acks(), ...b.acks()].sort();
    assert.equal(all.length, 60);
    assert.deepEqual(await reopened(db), { runs: all, warnings: [] });
    const inJournal = seqs(db);
    inJournal.forEach((seq, i) => assert.equal(seq, inJournal[0]! + i, 'journal in sequence'));
    assert.ok(snapshotSeq(db) >= 4, 'snapshots were written');
  });
});
