// A snapshot written off the commit path: a worker thread (snapshot-worker.ts) loads the newest
// snapshot on disk, replays the journal up to the commit the job names, exports the database and
// writes it to a temp file, fsync'd, with a trimmed copy of the journal beside it. The store puts
// both in place later, holding the lock (installSnapshot, then the journal's newest records).
// See docs/store.md, "Snapshots".
import * as fs from 'node:fs';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import type { PreparedSnapshot } from './snapshot.js';
import { workerScript } from './worker-script.js';

export interface SnapshotRequest {
  /** The database file. */
  file: string;
  /** The commit the snapshot is taken at: this process has it, so the journal holds it. */
  seq: number;
  /** Crash tests: the process is killed once the snapshot's temp file is written. */
  killMidway: boolean;
}

/** A job's request as the worker gets it, with the temp files it writes. */
export interface WorkerRequest extends SnapshotRequest {
  snapshotTmp: string;
  journalTmp: string;
}

/** The journal without the records a snapshot made unnecessary, written beside it, fsync'd. */
export interface TrimmedJournal {
  tmp: string;
  /** The journal file it was copied from; records after `copiedEnd` in it are still to copy. */
  ino: number;
  copiedEnd: number;
  /** It holds every record after this commit. */
  keptAfter: number;
}

export type SnapshotOutcome =
  | { tag: 'ready'; snapshot: PreparedSnapshot; journal: TrimmedJournal | null }
  /** Another process wrote a snapshot at or past this commit, or is writing one right now. */
  | { tag: 'superseded'; reason: string }
  | { tag: 'failed'; message: string };

/** What the main thread hands the worker (`workerData`). */
export interface WorkerInput {
  request: WorkerRequest;
  port: MessagePort;
  /** Set to 1 (and notified) once the outcome is on `port`. */
  done: SharedArrayBuffer;
}

/** Jobs started by this process: each writes temp files of its own (two stores may share a file). */
let jobs = 0;

/** One snapshot being written by a worker thread. */
export class SnapshotJob {
  private outcome: SnapshotOutcome | null = null;
  private readonly flag: Int32Array;
  /** The worker exited (seen on this thread's event loop): with no outcome, it failed. */
  private gone = false;

  private constructor(
    readonly request: WorkerRequest,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    done: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(done);
  }

  /**
   * Starts a worker for `request`; `onDone` runs (on this thread's event loop) once it has an
   * outcome. The worker never keeps the process alive: a process that exits abandons the
   * snapshot, and its temp files are removed by the next snapshot written.
   */
  static start(asked: SnapshotRequest, onDone: () => void): SnapshotJob | null {
    const script = workerScript('snapshot-worker');
    if (!script) return null;
    // Named like every temp file of the store (`FILE.….tmp-<pid>`): removed once its process is gone.
    const n = ++jobs;
    const request: WorkerRequest = {
      ...asked,
      snapshotTmp: `${asked.file}.snapshot-${n}.tmp-${process.pid}`,
      journalTmp: `${asked.file}.journal-${n}.tmp-${process.pid}`,
    };
    const channel = new MessageChannel();
    const done = new SharedArrayBuffer(4);
    const input: WorkerInput = { request, port: channel.port2, done };
    let worker: Worker;
    try {
      worker = new Worker(script.code, {
        eval: script.eval,
        workerData: input,
        transferList: [channel.port2],
        // Under tsx the parent's --import does not load in a worker; the eval'd script does it.
        execArgv: [],
      });
    } catch {
      channel.port1.close();
      return null; // no thread to be had: the store writes the snapshot in place
    }
    worker.unref();
    channel.port1.unref();
    const job = new SnapshotJob(request, worker, channel.port1, done);
    // The worker says it is done on its default port as well: its exit can come much later
    // (tearing down a heap the size of the database).
    worker.once('message', onDone);
    worker.once('exit', () => {
      job.gone = true;
      onDone();
    });
    worker.once('error', () => undefined); // its exit follows; the outcome is then 'failed'
    return job;
  }

  get seq(): number {
    return this.request.seq;
  }

  /** The outcome if the worker has one, without waiting. */
  poll(): SnapshotOutcome | null {
    if (this.outcome) return this.outcome;
    const received = receiveMessageOnPort(this.port) as { message: SnapshotOutcome } | undefined;
    if (received) {
      this.outcome = received.message;
      this.port.close();
    } else if (this.gone) {
      this.outcome = { tag: 'failed', message: 'the snapshot worker stopped without a result' };
    }
    return this.outcome;
  }

  /**
   * Waits for the outcome, blocking this thread: only when a commit finds two further intervals
   * of journal since the snapshot being written (backpressure), and at `close` and `scrub`.
   */
  wait(timeoutMs = 120_000): SnapshotOutcome {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = this.poll();
      if (outcome) return outcome;
      if (Atomics.load(this.flag, 0) === 1) {
        // Flagged but nothing on the port: the worker failed before it could say why.
        this.outcome = { tag: 'failed', message: 'the snapshot worker stopped without a result' };
        return this.outcome;
      }
      if (Date.now() > deadline) {
        this.abandon();
        this.outcome = { tag: 'failed', message: `no snapshot after ${timeoutMs} ms` };
        return this.outcome;
      }
      Atomics.wait(this.flag, 0, 0, 100);
    }
  }

  /** Stops the worker; whatever it wrote is removed. */
  abandon(): void {
    void this.worker.terminate();
    this.port.close();
    fs.rmSync(this.request.snapshotTmp, { force: true });
    fs.rmSync(this.request.journalTmp, { force: true });
  }

  /** Removes the temp files of an outcome that will not be put in place. */
  discard(): void {
    const outcome = this.outcome;
    if (outcome?.tag !== 'ready') return;
    fs.rmSync(outcome.snapshot.tmp, { force: true });
    if (outcome.journal) fs.rmSync(outcome.journal.tmp, { force: true });
  }
}
