// The thread that writes snapshots (see snapshot-job.ts), one job per message: everything slow
// about a snapshot (loading, replaying, exporting the database, writing and fsyncing it) happens
// here, never on the thread that commits. It changes no file the store reads: it only writes two
// temp files per job.
import * as os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { buildSnapshot } from './snapshot-build.js';
import type { SnapshotOutcome, WorkerDone, WorkerInput } from './snapshot-job.js';

// A lower CPU priority, for this thread only (Linux sets nice values per thread): on a busy
// machine the thread that commits gets the CPU first. Not the lowest: a worker starved by other
// programs would leave the journal growing until a commit has to wait for it.
try {
  os.setPriority(10);
} catch {
  // not permitted here: the snapshot just competes as an equal
}
/** The largest database any job of this thread held: sql.js's heap is at least that. */
const held = { bytes: 0 };

function finish(input: WorkerInput, outcome: SnapshotOutcome): void {
  input.port.postMessage(outcome);
  input.port.close();
  const flag = new Int32Array(input.done);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  // Wakes the store's event loop to put the snapshot in place, and says what keeping this thread
  // costs.
  const done: WorkerDone = { heldBytes: held.bytes };
  parentPort?.postMessage(done);
}

// One job at a time: the store gives this thread another only once it said it is done.
parentPort?.on('message', (input: WorkerInput) => {
  buildSnapshot(input.request, held).then(
    (outcome) => finish(input, outcome),
    (err: unknown) =>
      finish(input, { tag: 'failed', message: err instanceof Error ? err.message : String(err) }),
  );
});
