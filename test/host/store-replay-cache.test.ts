// The replay cache (docs/store.md, "Opening from the replay cache"): a closing store leaves its
// database as FILE.cache so the next open skips replaying the journal; the cache is used only
// when the journal, read from its start, reaches the very record it holds last, intact. These
// tests mark a cache (a run's prompt changed inside it, its last record kept) to see whether an
// open took its database from the cache or rebuilt it from the snapshot and the journal.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { readRecords } from '../../host/store/journal.js';
import { cachePath, writeReplayCache } from '../../host/store/replay-cache.js';
import { loadManifest } from '../../host/store/snapshot.js';
import { loadSqlJs, SqlJsStore, type StoreOptions } from '../../host/store/sqljs-store.js';
import type { StoreOp } from '../../host/store/store.js';
import { tempDir } from '../support/scratch.js';
import { newRunOp } from '../support/store-rows.js';

/** A run with one 10 KB event: a record big enough for a closing store to leave a cache. */
function newRun(runId: string): StoreOp[] {
  return [
    newRunOp(runId),
    {
      op: 'appendEvents',
      run_id: runId,
      segment_id: 's',
      events: [{ type: 'tool_result', output: `${runId} `.repeat(2000).slice(0, 10_000) }],
    },
  ];
}

async function withStore<T>(
  db: string,
  fn: (store: SqlJsStore) => T,
  options: StoreOptions = {},
): Promise<T> {
  const store = await SqlJsStore.open(db, options);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** A database with runs r1..rN committed and closed, so its cache holds them all. */
async function closedWith(db: string, count: number): Promise<void> {
  await withStore(db, (store) => {
    for (let i = 1; i <= count; i++) assert.deepEqual(store.commit(newRun(`r${i}`)), { ok: true });
  });
}

/** Changes r1's prompt inside the cache, keeping the record it names: the mark of its use. */
async function markCache(db: string): Promise<void> {
  const data = fs.readFileSync(cachePath(db));
  const newline = data.indexOf(0x0a);
  const header = JSON.parse(data.subarray(0, newline).toString('utf8')) as {
    schema: number;
    last: { seq: number; length: number; crc: number };
  };
  const SQL = await loadSqlJs();
  const copy = new SQL.Database(data.subarray(newline + 1));
  copy.run("UPDATE runs SET prompt = 'from the cache' WHERE run_id = 'r1'");
  writeReplayCache(db, header.schema, header.last, copy.export());
  copy.close();
}

/** What an open shows: r1's prompt (the mark) and every run's id. */
async function opened(db: string): Promise<{ prompt: string | null; runs: string[] }> {
  return withStore(db, (store) => ({
    prompt: store.getRun('r1')?.row.prompt ?? null,
    runs: store
      .listRuns()
      .map((r) => r.run_id)
      .sort(),
  }));
}

void describe('the replay cache', () => {
  void it('a closed store leaves FILE.cache, owner-only; the next open takes its database from it, then replays what came after', async () => {
    const db = `${tempDir('replay-cache')}/a.db`;
    const umask = process.umask(0);
    try {
      await closedWith(db, 3);
    } finally {
      process.umask(umask);
    }
    assert.equal(fs.statSync(cachePath(db)).mode & 0o777, 0o600);
    await markCache(db);
    const marked = fs.readFileSync(cachePath(db));
    // Another process commits r4 after the cache (its close may leave a cache of its own: the
    // marked one is put back, so the next open shows which it used).
    await withStore(db, (store) => assert.deepEqual(store.commit(newRun('r4')), { ok: true }));
    fs.writeFileSync(cachePath(db), marked);
    assert.deepEqual(await opened(db), {
      prompt: 'from the cache',
      runs: ['r1', 'r2', 'r3', 'r4'],
    });
  });

  void it('a cache whose last record the journal no longer holds, or holds another record in its place, is not used: the journal decides', async () => {
    const db = `${tempDir('replay-cache')}/a.db`;
    await closedWith(db, 3);
    await markCache(db);
    // The journal lost its last record (r3's commit): zeros where it was, as after a crash that
    // never wrote it. The cache holds r3; opening must not bring back what the journal lacks.
    const { records } = readRecords(`${db}.journal`, 0);
    const lastStart = records.slice(0, -1).reduce((at, p) => at + 8 + p.length, 0);
    const fd = fs.openSync(`${db}.journal`, 'r+');
    fs.writeSync(
      fd,
      Buffer.alloc(8 + records.at(-1)!.length),
      0,
      8 + records.at(-1)!.length,
      lastStart,
    );
    fs.closeSync(fd);
    const marked = fs.readFileSync(cachePath(db));
    assert.deepEqual(await opened(db), { prompt: null, runs: ['r1', 'r2'] });
    // Another commit takes r3's place: the journal's record 3 is now another record.
    await withStore(db, (store) => assert.deepEqual(store.commit(newRun('x')), { ok: true }));
    fs.writeFileSync(cachePath(db), marked);
    assert.deepEqual(await opened(db), { prompt: null, runs: ['r1', 'r2', 'x'] });
  });

  void it('a damaged cache is not used, nor one cut short', async () => {
    const dir = tempDir('replay-cache');
    const flipped = `${dir}/flipped.db`;
    await closedWith(flipped, 3);
    await markCache(flipped);
    const data = fs.readFileSync(cachePath(flipped));
    data[data.length - 100]! ^= 0xff;
    fs.writeFileSync(cachePath(flipped), data);
    assert.deepEqual(await opened(flipped), { prompt: null, runs: ['r1', 'r2', 'r3'] });
    // Cut short, as a crash while it was written leaves it.
    const cut = `${dir}/cut.db`;
    await closedWith(cut, 3);
    await markCache(cut);
    fs.truncateSync(cachePath(cut), fs.statSync(cachePath(cut)).size - 4096);
    assert.deepEqual(await opened(cut), { prompt: null, runs: ['r1', 'r2', 'r3'] });
  });

  void it('a cache older than the snapshot is not used', async () => {
    const db = `${tempDir('replay-cache')}/a.db`;
    await closedWith(db, 3);
    const older = fs.readFileSync(cachePath(db));
    const before = loadManifest(db)!.current!.seq;
    // A snapshot at every commit: the next commit puts one past the cache.
    await withStore(db, (store) => assert.deepEqual(store.commit(newRun('r4')), { ok: true }), {
      snapshotEvery: 1,
    });
    assert.ok(loadManifest(db)!.current!.seq > before);
    fs.writeFileSync(cachePath(db), older);
    await markCache(db);
    assert.deepEqual(await opened(db), { prompt: null, runs: ['r1', 'r2', 'r3', 'r4'] });
  });

  void it('a store left behind by another store’s scrub leaves no cache of its older database when it closes', async () => {
    const db = `${tempDir('replay-cache')}/a.db`;
    await closedWith(db, 3);
    const behind = await SqlJsStore.open(db);
    assert.deepEqual(behind.commit(newRun('r4')), { ok: true });
    const other = await SqlJsStore.open(db);
    assert.deepEqual(other.commit(newRun('r5')), { ok: true });
    other.scrub();
    other.close();
    assert.equal(fs.existsSync(cachePath(db)), false);
    behind.close();
    assert.equal(fs.existsSync(cachePath(db)), false, 'no cache of the database before the scrub');
  });

  void it('scrub removes the cache: no copy of the database it did not rewrite stays', async () => {
    const db = `${tempDir('replay-cache')}/a.db`;
    await closedWith(db, 3);
    assert.ok(fs.existsSync(cachePath(db)));
    const store = await SqlJsStore.open(db);
    store.scrub();
    assert.equal(fs.existsSync(cachePath(db)), false);
    store.close();
  });
});
