// What the snapshot worker does, in order: load the newest good snapshot on disk, replay the
// journal up to the requested commit into its own copy, export that copy to a temp file
// (fsync'd), and copy the journal records the new snapshot does not make unnecessary to another
// temp file (fsync'd). Nothing the store or another process reads is touched.
import * as fs from 'node:fs';
import { hold } from './faults.js';
import { frame, readFrom, type ReadResult } from './journal.js';
import { peekSnapshot, prepareSnapshot, removeDeadTempFiles, writeInSteps } from './snapshot.js';
import type { SnapshotOutcome, TrimmedJournal, WorkerRequest } from './snapshot-job.js';
import { loadSqlJs, SqlJsStore } from './sqljs-store.js';

/**
 * `held.bytes` is raised to the largest database this job held in memory: sql.js never gives its
 * heap back, so the thread that ran it knows whether it is worth keeping.
 */
export async function buildSnapshot(
  request: WorkerRequest,
  held: { bytes: number },
): Promise<SnapshotOutcome> {
  const { file, seq } = request;
  const SQL = await loadSqlJs();
  // Temp files of snapshots that crashed or exiting processes left: up to a database's size each.
  removeDeadTempFiles(file);
  const found = peekSnapshot(file);
  if (!found) return { tag: 'superseded', reason: 'no snapshot matches the manifest right now' };
  if (found.seq >= seq) return { tag: 'superseded', reason: `a snapshot at ${found.seq} exists` };
  const journal = `${file}.journal`;
  const { ino, read } = readJournal(journal);
  held.bytes = Math.max(held.bytes, found.bytes.length);
  const replica = SqlJsStore.replica(SQL, found.bytes, found.seq, file);
  const kept: Buffer[] = [];
  try {
    for (const payload of read.records) {
      const applied = replica.replay(payload, journal, seq);
      if (applied === 'gap') {
        return { tag: 'superseded', reason: 'the journal moved on past the snapshot on disk' };
      }
      if (applied !== 'before') kept.push(payload);
    }
    if (replica.at < seq) {
      return { tag: 'failed', message: `the journal ${journal} ends before commit ${seq}` };
    }
    // Finished runs' packed events go to payload files (written durably before the snapshot
    // that names them is put in place): opening loads a short row per finished run.
    replica.movePackedOut();
    const bytes = replica.exportAt();
    held.bytes = Math.max(held.bytes, bytes.length);
    const snapshot = prepareSnapshot(request.snapshotTmp, bytes, seq);
    // Crash tests: killed with the snapshot written but not in place (the fault point
    // 'snapshot-before', counted by the thread that asked).
    if (request.killMidway) process.kill(process.pid, 'SIGKILL');
    hold('snapshot-written', request.hold); // tests: commits go on while a snapshot is half written
    return {
      tag: 'ready',
      snapshot,
      journal: writeTrimmed(request.journalTmp, kept, ino, read.end, found.seq),
    };
  } finally {
    replica.close();
  }
}

/** The journal's records and the file they were read from (which a snapshot may replace). */
function readJournal(journal: string): { ino: number; read: ReadResult } {
  const fd = fs.openSync(journal, 'r');
  try {
    return { ino: fs.fstatSync(fd).ino, read: readFrom(fd, 0) };
  } finally {
    fs.closeSync(fd);
  }
}

function writeTrimmed(
  tmp: string,
  kept: Buffer[],
  ino: number,
  copiedEnd: number,
  keptAfter: number,
): TrimmedJournal {
  writeInSteps(tmp, Buffer.concat(kept.map(frame)));
  return { tmp, ino, copiedEnd, keptAfter };
}
