// Damaged database files (SPEC §6): a torn or corrupt journal tail is cut at the last good record
// with a warning; damage with acknowledged records after it, or a snapshot with no good previous
// one, is refused with a clear message and the files are left exactly as they were; a corrupt
// snapshot falls back to FILE.prev plus the journal with nothing lost. Every case is a real
// database built by SqlJsStore, copied into its own temp dir and damaged byte by byte.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CorruptDatabaseError, SqlJsStore } from '../../host/store/sqljs-store.js';
import type { StoreOp } from '../../host/store/store.js';
import { tempDir } from '../support/scratch.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const DB = 'airlock.db';

/** One commit creating run `id`: a finished run with one segment and two events. */
function runCommit(id: string): StoreOp[] {
  const at = '2026-01-01T00:00:00.000Z';
  const segment = `seg_${id}`;
  return [
    {
      op: 'putRun',
      row: {
        run_id: id,
        agent: 'probe',
        workspace: null,
        prompt: `probe ${id}`,
        status: 'success',
        reason: 'completed',
        message: 'The tool ran.',
        created_at: at,
        updated_at: at,
        owner: null,
        version: 1,
        nested_in: null,
      },
      expect_version: null,
      state: { id },
    },
    {
      op: 'addSegment',
      row: {
        segment_id: segment,
        run_id: id,
        parent_segment_id: null,
        kind: 'start',
        resume: null,
        started_at: at,
      },
    },
    {
      op: 'appendEvents',
      run_id: id,
      segment_id: segment,
      events: [
        { type: 'start', run_id: id, segment_id: segment },
        { type: 'output', run_id: id, output: `result of ${id}` },
      ],
    },
  ];
}

/** A database in `dir` holding runs r1..rN, one commit each. */
async function build(dir: string, runs: number, snapshotEvery = 10_000): Promise<string> {
  const file = path.join(dir, DB);
  const store = await SqlJsStore.open(file, { snapshotEvery });
  for (let i = 1; i <= runs; i++) assert.deepEqual(store.commit(runCommit(`r${i}`)), { ok: true });
  store.close();
  return file;
}

/**
 * Copies every file of `src` (not sub-folders: these databases have no blobs; not this process's
 * lock owner file) into a fresh dir; `journal`, when given, is written as the journal instead.
 */
function copyCase(src: string, root: string, name: string, journal?: Buffer): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith(`${DB}.lock`)) continue;
    const to = path.join(dir, entry.name);
    if (journal && entry.name === `${DB}.journal`) fs.writeFileSync(to, journal);
    else fs.copyFileSync(path.join(src, entry.name), to);
  }
  return dir;
}

function flipped(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0xff;
  return copy;
}

/** Every file in `dir` and the SHA-256 of its bytes. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile()) out[name] = sha256(fs.readFileSync(file));
  }
  return out;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sameBytes(file: string, expected: Buffer, what: string): void {
  assert.ok(fs.readFileSync(file).equals(expected), what);
}

/**
 * Each journal record's byte range: [u32 length][u32 crc][payload]. The records end at the end
 * of the file or at an all-zero header (space the writer grew the file by ahead of time).
 */
function records(journal: Buffer): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let pos = 0;
  while (pos + 8 <= journal.length && journal.readBigUInt64LE(pos) !== 0n) {
    const end = pos + 8 + journal.readUInt32LE(pos);
    assert.ok(end <= journal.length, 'the intact journal has only whole records');
    out.push({ start: pos, end });
    pos = end;
  }
  assert.ok(
    journal.subarray(pos).every((b) => b === 0),
    'nothing but zeros after the records',
  );
  return out;
}

function flip(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  fs.writeFileSync(file, bytes);
}

/** The runs a fresh store sees, each with its events' outputs, and the store's warnings. */
async function openAndRead(file: string): Promise<{ runs: string[]; warnings: string[] }> {
  const store = await SqlJsStore.open(file);
  try {
    const runs = store
      .listRuns()
      .map((r) => r.run_id)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    for (const id of runs) {
      assert.deepEqual(
        store.events(id).map((e) => e.event.type),
        ['start', 'output'],
        `run ${id} has both its events`,
      );
      assert.equal(store.segments(id).length, 1);
    }
    return { runs, warnings: [...store.warnings] };
  } finally {
    store.close();
  }
}

function runIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `r${i + 1}`);
}

/** Lets the event loop turn once: a store keeps its lock file until the end of the tick. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Opening must refuse with CorruptDatabaseError, say nothing changed, and change nothing. */
async function assertRefused(file: string, pattern: RegExp): Promise<void> {
  const dir = path.dirname(file);
  const before = contents(dir);
  let message = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    // Twice: a refused database stays refused the same way, it never half-opens the second time.
    await assert.rejects(SqlJsStore.open(file), (err: unknown) => {
      assert.ok(err instanceof CorruptDatabaseError, `a CorruptDatabaseError, got ${String(err)}`);
      assert.match(err.message, pattern);
      assert.match(err.message, /Nothing was changed/);
      if (attempt === 1) assert.equal(err.message, message, 'the same error the second time');
      message = err.message;
      return true;
    });
    await settled();
    assert.deepEqual(contents(dir), before, 'the files are byte for byte as they were');
  }
}

// ---------------------------------------------------------------------------------------------

void describe('a damaged journal tail', () => {
  void it('cut at every byte offset inside its last record: the earlier records survive, the last is dropped with a warning', async () => {
    const root = tempDir('trunc');
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    const file = await build(src, 5);
    const journal = fs.readFileSync(`${file}.journal`);
    const last = records(journal).at(-1)!;
    assert.equal(records(journal).length, 5);
    let cases = 0;
    for (let cut = last.start + 1; cut < last.end; cut++) {
      // A shorter file, and a torn write into space grown ahead (the rest of the record zeros).
      // Every offset cut short; every third also as a torn write into zero-filled space.
      for (const how of cut % 3 ? (['truncated'] as const) : (['truncated', 'zeroed'] as const)) {
        const damaged =
          how === 'truncated'
            ? journal.subarray(0, cut)
            : Buffer.concat([journal.subarray(0, cut), Buffer.alloc(last.end - cut + 64)]);
        const dir = copyCase(src, root, `${how}-${cut}`, damaged);
        const target = path.join(dir, `${DB}.journal`);
        const what = `${how} at ${cut}`;
        const first = await openAndRead(path.join(dir, DB));
        assert.deepEqual(first.runs, runIds(4), `${what}: r1..r4 kept, r5 dropped`);
        assert.equal(first.warnings.length, 1, `${what}: one warning`);
        assert.match(first.warnings[0]!, /cut off by a crash, never acknowledged/);
        assert.match(first.warnings[0]!, new RegExp(`at byte ${last.start}\\b`));
        assert.equal(records(fs.readFileSync(target)).length, 4, `${what}: the tail is gone`);
        if (cut % 8 === 0) {
          // Opening again: the same database, nothing left to repair, no crash loop.
          assert.deepEqual(await openAndRead(path.join(dir, DB)), {
            runs: runIds(4),
            warnings: [],
          });
        }
        fs.rmSync(dir, { recursive: true });
        cases++;
      }
    }
    assert.ok(cases > last.end - last.start - 1, `${cases} cases`);
    // Cut exactly at a record boundary: a clean journal of four records, nothing to warn about.
    const dir = copyCase(src, root, 'boundary', journal.subarray(0, last.start));
    assert.deepEqual(await openAndRead(path.join(dir, DB)), { runs: runIds(4), warnings: [] });
  });

  void it('a flipped byte in the last record: the record is cut with a warning, the rest survive', async () => {
    const root = tempDir('flip-last');
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    const file = await build(src, 5);
    const journal = fs.readFileSync(`${file}.journal`);
    const last = records(journal).at(-1)!;
    // Every byte of the header (length, checksum) and every third byte of the payload.
    for (let at = last.start; at < last.end; at += at < last.start + 8 ? 1 : 3) {
      const dir = copyCase(src, root, `flip-${at}`, flipped(journal, at));
      const first = await openAndRead(path.join(dir, DB));
      assert.deepEqual(first.runs, runIds(4), `flip at ${at}: r1..r4 kept`);
      assert.equal(first.warnings.length, 1, `flip at ${at}: one warning`);
      assert.match(first.warnings[0]!, /it was cut there/);
      if (at % 8 === 0) {
        assert.deepEqual(await openAndRead(path.join(dir, DB)), { runs: runIds(4), warnings: [] });
      }
      fs.rmSync(dir, { recursive: true });
    }
  });

  void it('a flipped byte in a middle record with intact records after it: refused, files untouched', async () => {
    const root = tempDir('flip-mid');
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    const file = await build(src, 5);
    const journal = fs.readFileSync(`${file}.journal`);
    const third = records(journal)[2]!;
    const payload = third.start + 8;
    // The length, the checksum, the first payload byte, the middle and the last byte.
    const spots = [
      third.start,
      third.start + 5,
      payload,
      (payload + third.end) >> 1,
      third.end - 1,
    ];
    for (const at of spots) {
      const dir = copyCase(src, root, `mid-${at}`, flipped(journal, at));
      await assertRefused(path.join(dir, DB), /intact records after it/);
    }
  });
});

void describe('a damaged snapshot', () => {
  /** r1..r8 with snapshotEvery 3: snapshots at commits 3 and 6, so FILE.prev exists. */
  async function withPrev(root: string): Promise<string> {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    const file = await build(src, 8, 3);
    assert.ok(fs.existsSync(`${file}.prev`), 'a previous snapshot is kept');
    return src;
  }

  void it('a corrupt FILE with a good FILE.prev: opens from FILE.prev plus the journal, nothing lost, the bad file moved aside, FILE.prev never overwritten', async () => {
    const root = tempDir('snap');
    const src = await withPrev(root);
    for (const where of ['header', 'middle', 'end'] as const) {
      const dir = copyCase(src, root, where);
      const file = path.join(dir, DB);
      const size = fs.statSync(file).size;
      flip(file, where === 'header' ? 20 : where === 'middle' ? size >> 1 : size - 1);
      const corrupt = fs.readFileSync(file);
      const prev = fs.readFileSync(`${file}.prev`);

      const first = await openAndRead(file);
      assert.deepEqual(first.runs, runIds(8), `${where}: every acknowledged run is there`);
      assert.equal(first.warnings.length, 1);
      assert.match(first.warnings[0]!, /is corrupt \(its checksum does not match\)/);
      const aside = fs.readdirSync(dir).filter((n) => n.startsWith(`${DB}.corrupt-`));
      assert.equal(aside.length, 1, 'the corrupt snapshot was moved aside, not deleted');
      sameBytes(path.join(dir, aside[0]!), corrupt, 'the corrupt file is kept as it was');
      sameBytes(`${file}.prev`, prev, 'FILE.prev untouched');

      // Opening again is no crash loop: the same runs, from the same good FILE.prev.
      const second = await openAndRead(file);
      assert.deepEqual(second.runs, runIds(8));
      sameBytes(`${file}.prev`, prev, 'FILE.prev still untouched');

      // New commits go on; the snapshot they write replaces the missing FILE, not FILE.prev.
      const store = await SqlJsStore.open(file, { snapshotEvery: 3 });
      for (let i = 9; i <= 11; i++)
        assert.deepEqual(store.commit(runCommit(`r${i}`)), { ok: true });
      store.close();
      assert.ok(fs.existsSync(file), 'a new snapshot was written');
      sameBytes(`${file}.prev`, prev, 'FILE.prev was never overwritten');
      assert.deepEqual(await openAndRead(file), { runs: runIds(11), warnings: [] });
    }
  });

  void it('FILE and FILE.prev both corrupt: refused with a clear message, nothing starts empty, files untouched', async () => {
    const root = tempDir('both');
    const src = await withPrev(root);
    const dir = copyCase(src, root, 'both');
    const file = path.join(dir, DB);
    flip(file, fs.statSync(file).size >> 1);
    flip(`${file}.prev`, fs.statSync(`${file}.prev`).size >> 1);
    await assertRefused(file, /cannot be recovered/);

    // FILE missing and FILE.prev corrupt: refused the same way, never a new empty database.
    const gone = copyCase(src, root, 'gone');
    fs.rmSync(path.join(gone, DB));
    flip(path.join(gone, `${DB}.prev`), 100);
    await assertRefused(path.join(gone, DB), /cannot be recovered/);
  });

  void it('the snapshot is a real SQLite file that sqlite3 opens', async (t) => {
    const sqlite3 = '/usr/bin/sqlite3';
    if (!fs.existsSync(sqlite3)) {
      t.skip(`${sqlite3} is not installed`);
      return;
    }
    const root = tempDir('sqlite3');
    const src = await withPrev(root);
    const file = path.join(src, DB);
    const tables = spawnSync(sqlite3, [file, '.tables'], { encoding: 'utf8' });
    assert.equal(tables.status, 0, tables.stderr);
    for (const table of ['runs', 'events', 'segments', 'pending', 'decisions', 'claims', 'meta']) {
      assert.match(tables.stdout, new RegExp(`\\b${table}\\b`));
    }
    const count = spawnSync(sqlite3, [file, 'SELECT count(*) FROM runs'], { encoding: 'utf8' });
    assert.equal(count.status, 0, count.stderr);
    assert.equal(count.stdout.trim(), '6', 'the snapshot holds the runs up to its commit (6)');
  });
});
