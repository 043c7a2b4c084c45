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
  /** Tests: `AIRLOCK_HOLD` as the asking thread sees it (faults.ts). */
  hold: string | undefined;
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

/** What the main thread hands the worker, one message per job. */
export interface WorkerInput {
  request: WorkerRequest;
  port: MessagePort;
  /** Set to 1 (and notified) once the outcome is on `port`. */
  done: SharedArrayBuffer;
}

/** What the worker says on its default port once a job's outcome is on the job's port. */
export interface WorkerDone {
  /** The largest database it has held: its sql.js heap, never given back, is at least that. */
  heldBytes: number;
}

/** Jobs started by this process: each writes temp files of its own (two stores may share a file). */
let jobs = 0;

/**
 * A thread that never held a database over this (bytes) is kept for the next snapshot. Starting a
 * thread costs about 200 ms of CPU here (an isolate, the bundle, sql.js's WebAssembly compiled
 * anew): more than writing a small snapshot, so a store snapshotting every few commits spent most
 * of its CPU starting threads (the bench's library cycle: 39 → 23 ms of CPU a cycle). One that
 * held a larger database goes: its sql.js heap, at least that large, is never given back.
 */
const KEEP_THREAD_UNDER = 8 * 1024 * 1024;
/** An idle thread is stopped after this long without a job (ms). */
const KEEP_THREAD_FOR = 30_000;

/** The thread kept for the next snapshot of any store of this process, with its idle timer. */
let idle: { worker: Worker; timer: NodeJS.Timeout; onExit: () => void } | null = null;

function startThread(): Worker | null {
  if (idle) {
    const { worker, timer, onExit } = idle;
    idle = null;
    clearTimeout(timer);
    worker.off('exit', onExit);
    return worker;
  }
  const script = workerScript('snapshot-worker');
  if (!script) return null;
  try {
    const worker = new Worker(script.code, {
      eval: script.eval,
      // Under tsx the parent's --import does not load in a worker; the eval'd script does it.
      execArgv: [],
    });
    // A thread never keeps the process alive: a process that exits abandons the snapshot, and its
    // temp files are removed by the next snapshot written.
    worker.unref();
    worker.on('error', () => undefined); // its exit follows; a job it had then 'failed'
    return worker;
  } catch {
    return null; // no thread to be had: the store writes the snapshot in place
  }
}

/** A thread done with its job: kept for the next one if it is light, else stopped. */
function releaseThread(worker: Worker, heldBytes: number): void {
  if (heldBytes >= KEEP_THREAD_UNDER || idle) {
    void worker.terminate();
    return;
  }
  const timer = setTimeout(() => {
    if (idle?.worker !== worker) return;
    idle = null;
    void worker.terminate();
  }, KEEP_THREAD_FOR);
  timer.unref();
  // A kept thread that dies while idle (a late error of its last job) is forgotten: given a job,
  // it would never answer, and the store would wait for it until its ceiling.
  const onExit = (): void => {
    if (idle?.worker !== worker) return;
    clearTimeout(idle.timer);
    idle = null;
  };
  worker.once('exit', onExit);
  idle = { worker, timer, onExit };
}

/** One snapshot being written by a worker thread. */
export class SnapshotJob {
  private outcome: SnapshotOutcome | null = null;
  private readonly flag: Int32Array;
  readonly startedAt = Date.now();
  /** The worker exited (seen on this thread's event loop): with no outcome, it failed. */
  private gone = false;
  /** The thread has no more to do for this job: kept for another, or stopped. */
  private released = false;
  /** Nobody will put the outcome in place: its temp files go once it is in. */
  private dropped = false;

  private constructor(
    readonly request: WorkerRequest,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    done: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(done);
  }

  /**
   * Gives `request` to a worker thread (the one kept idle, or a new one); `onDone` runs (on this
   * thread's event loop) once it has an outcome.
   */
  static start(asked: SnapshotRequest, onDone: () => void): SnapshotJob | null {
    const worker = startThread();
    if (!worker) return null;
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
    channel.port1.unref();
    const job = new SnapshotJob(request, worker, channel.port1, done);
    // The worker says it is done on its default port as well, which wakes this event loop.
    const onMessage = (said: unknown): void => {
      worker.off('exit', onExit);
      job.poll();
      if (job.dropped) job.discard();
      const heldBytes = (said as Partial<WorkerDone> | null)?.heldBytes;
      job.release(typeof heldBytes === 'number' ? heldBytes : Infinity);
      onDone();
    };
    const onExit = (): void => {
      worker.off('message', onMessage);
      job.gone = true;
      job.released = true;
      onDone();
    };
    worker.once('message', onMessage);
    worker.once('exit', onExit);
    worker.postMessage(input, [channel.port2]);
    return job;
  }

  /** Hands the thread back once the outcome is in (kept for the next job, or stopped). */
  private release(heldBytes: number): void {
    if (this.released) return;
    this.released = true;
    releaseThread(this.worker, heldBytes);
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

  /** Stops the worker (unless it is done and kept for another job); whatever it wrote is removed. */
  abandon(): void {
    if (!this.released) {
      this.released = true;
      void this.worker.terminate();
    }
    this.port.close();
    fs.rmSync(this.request.snapshotTmp, { force: true });
    fs.rmSync(this.request.journalTmp, { force: true });
  }

  /**
   * Nobody will put this snapshot in place (its store wrote one itself, closing): its temp files
   * are removed once the worker is done, and the thread, which has its sql.js ready, is kept for
   * the next job. Stopping it instead cost the next snapshot a new thread: a store opened and
   * closed per command (a second window, the bench's reopened cycle) started one per snapshot.
   */
  drop(): void {
    this.dropped = true;
    if (this.poll()) this.discard();
  }

  /** Removes the temp files of an outcome that will not be put in place. */
  discard(): void {
    const outcome = this.outcome;
    if (outcome?.tag !== 'ready') return;
    fs.rmSync(outcome.snapshot.tmp, { force: true });
    if (outcome.journal) fs.rmSync(outcome.journal.tmp, { force: true });
  }
}
