// A store that has read the journal and sleeps while others write snapshots must still tell the
// journal it read from the new journals renamed over it. It once kept just the inode number: once
// nobody held the old file, ext4 gave that number to a later journal, the sleeper took that journal
// for its own, read it from its old offset (past the end of the records) and appended its next
// commit beyond a zero gap no reader ever crosses: an acknowledged write lost (the "4 processes"
// case of store-race.test.ts failed so under load). Here two stores in one process stand in for
// two processes, and the writer commits until the number comes round again, so on ext4 every
// round met the old bug; the store now holds the file open, so the number cannot come round.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readRecords } from '../../host/store/journal.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import { openStore, tempDir } from '../support/scratch.js';
import { newRunOp } from '../support/store-rows.js';

const newRun = newRunOp;

void describe('the journal a store tails', () => {
  void it('a reader that slept through several journal rewrites appends where every reader finds it', async () => {
    const dir = tempDir('tail');
    const db = path.join(dir, 'airlock.db');
    const writer = await openStore(db, { snapshotEvery: 3 });
    const expected: string[] = [];
    const journal = `${db}.journal`;
    const firstSeq = () => {
      const first = readRecords(journal, 0).records[0];
      return first ? (JSON.parse(first.toString('utf8')) as { seq: number }).seq : 0;
    };
    for (let round = 0; round < 8; round++) {
      // A process that has read the journal but not written to it yet (no writer holds the file).
      const sleeper = await SqlJsStore.open(db, { snapshotEvery: 1000 });
      sleeper.listRuns(); // reads the journal as it is now, then sleeps
      const slept = fs.existsSync(journal)
        ? { ino: fs.statSync(journal).ino, first: firstSeq() }
        : null;
      // The writer commits (a snapshot and a journal rewrite every 3 commits) until the journal
      // at the path is a rewritten one that has the number of the file the sleeper read, as ext4
      // soon gives it when nobody holds that file, or for 60 commits when the number cannot be
      // reused (the store holds the file; another file system).
      for (let k = 0; k < 60; k++) {
        const runId = `w_${round}_${k}`;
        assert.deepEqual(writer.commit([newRun(runId)]), { ok: true });
        expected.push(runId);
        if (slept && fs.statSync(journal).ino === slept.ino && firstSeq() !== slept.first) break;
      }
      const runId = `s_${round}`;
      assert.deepEqual(sleeper.commit([newRun(runId)]), { ok: true });
      expected.push(runId);
      sleeper.close();

      // Every record in the journal is reachable from its start, in sequence.
      const seqs = readRecords(journal, 0).records.map(
        (p) => (JSON.parse(p.toString('utf8')) as { seq: number }).seq,
      );
      seqs.forEach((seq, i) => assert.equal(seq, seqs[0]! + i, `journal in sequence: ${seqs}`));

      const fresh = await openStore(db);
      assert.deepEqual(fresh.warnings, []);
      assert.deepEqual(
        fresh
          .listRuns()
          .map((r) => r.run_id)
          .sort(),
        [...expected].sort(),
        `round ${round}`,
      );
      assert.deepEqual(writer.listRuns().length, expected.length, 'the writer sees the sleeper');
      fresh.close();
    }
  });
});
