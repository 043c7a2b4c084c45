// When a snapshot is due bounds what every later open replays (docs/store.md, "Snapshots").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotTrigger } from '../../host/store/snapshot-trigger.js';

const MiB = 1024 * 1024;

/** A trigger as the file store makes it by default, fed `count` records of `size` bytes. */
function fed(count: number, size: number): SnapshotTrigger {
  const trigger = new SnapshotTrigger(2000, 8 * MiB, true);
  for (let seq = 1; seq <= count; seq++) trigger.record(seq, size);
  return trigger;
}

void describe('snapshot trigger: the journal an open replays follows the database', () => {
  void it('a 64 MiB database snapshots once its journal reaches 1 MiB, not 4 MiB', () => {
    const database = () => 64 * MiB;
    assert.equal(fed(127, 8192).due(0, 127, 1, database), false, 'under a sixty-fourth');
    assert.equal(fed(128, 8192).due(0, 128, 1, database), true, 'a sixty-fourth of it');
  });

  void it('a small database still waits for 64 KiB of journal', () => {
    const database = () => 256 * 1024;
    assert.equal(fed(7, 8192).due(0, 7, 1, database), false);
    assert.equal(fed(8, 8192).due(0, 8, 1, database), true);
  });

  void it('records a snapshot holds no longer count', () => {
    const trigger = fed(200, 8192);
    trigger.forget(150);
    assert.equal(
      trigger.due(150, 200, 1, () => 64 * MiB),
      false,
      '50 records since: 400 KiB',
    );
  });
});
