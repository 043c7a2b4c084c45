// The run store on PostgreSQL behind the same synchronous Store interface as the sql.js file
// (team mode, issue 17). The connection lives on a worker thread (pg-worker.ts) and each call
// blocks this thread until the worker answers, as a commit to the file store blocks on its
// fsync: the runtime, the host and the CLI stay as they are, and a commit is acknowledged only
// once PostgreSQL has committed it. Written by hand rather than with synckit: these few lines
// (a message port, a shared flag, Atomics.wait) are all of it, and the worker script must be
// found the way the snapshot worker's is (beside the bundle, or the source under tsx).
import * as os from 'node:os';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import pg from 'pg';
import { processAlive, selfOwner } from './file-lock.js';
import { shownLocation } from './location.js';
import { CHANGES_CHANNEL, pgConfig, type PgBackend, type PgConnection } from './pg-backend.js';
import type { PgCall, PgReply, PgWorkerInput } from './pg-worker.js';
import { CorruptDatabaseError } from './snapshot.js';
import type {
  ChangeRow,
  CommitResult,
  EventRow,
  PendingRow,
  Retention,
  RunRow,
  RunState,
  RunSummary,
  SegmentRow,
  Store,
  StoreOp,
  StoreWatch,
} from './store.js';
import type { StandingRule } from '../runtime/policy.js';
import { workerScript } from './worker-script.js';

/** How long a call waits for the worker: longer than any timeout the worker's client has. */
const CALL_CEILING_MS = 120_000;

type Async<T> = T extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;

export class PgStore implements Store {
  readonly warnings: string[] = [];
  /** Set to 1 by the worker when its answer is on the port. */
  private readonly flag: Int32Array;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly connection: PgConnection,
    flag: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(flag);
  }

  /** Connects (creating or migrating Airlock's tables); throws naming what to fix. */
  static async open(connection: PgConnection): Promise<PgStore> {
    const script = workerScript('pg-worker');
    if (!script)
      throw new Error('This build of Airlock has no pg-worker.js: it cannot use PostgreSQL.');
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const input: PgWorkerInput = { port: port2, flag, connection, owner: selfOwner };
    const worker = new Worker(script.code, {
      eval: script.eval,
      workerData: input,
      transferList: [port2],
    });
    // The worker never keeps the process alive: close() ends it, and an exiting CLI just goes.
    worker.unref();
    port1.unref();
    const store = new PgStore(worker, port1, connection, flag);
    try {
      store.call('open');
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  private call<M extends keyof PgBackend>(
    method: M,
    ...args: Parameters<Async<PgBackend[M]>>
  ): ReturnType<Async<PgBackend[M]>> {
    if (this.closed) throw new Error('The PostgreSQL store is closed.');
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ method, args } satisfies PgCall);
    // Woken is not answered: the worker sets the flag, then notifies, and the notify of the
    // previous call can come late, into this call's wait (seen in CI under load, as "woke
    // without an answer"). Only the flag says the reply is on the port.
    const deadline = Date.now() + CALL_CEILING_MS;
    while (Atomics.load(this.flag, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `PostgreSQL at ${shownLocation(this.connection.url)} did not answer within ${CALL_CEILING_MS / 1000} s. Check the server and the network; nothing was acknowledged.`,
        );
      }
      Atomics.wait(this.flag, 0, 0, left);
    }
    const reply = receiveMessageOnPort(this.port)?.message as PgReply | undefined;
    if (!reply) throw new Error('The PostgreSQL worker woke without an answer.');
    if ('error' in reply) {
      throw reply.error.name === 'CorruptDatabaseError'
        ? new CorruptDatabaseError(reply.error.message)
        : new Error(reply.error.message);
    }
    return reply.value as ReturnType<Async<PgBackend[M]>>;
  }

  commit(ops: StoreOp[]): CommitResult {
    return this.call('commit', ops);
  }

  /** No lock to wait for: PostgreSQL orders commits itself. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /** Every commit is on the server's disk when it returns (synchronous_commit): nothing to flush. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  getRun(runId: string): { row: RunRow; state: unknown } | undefined {
    return this.call('getRun', runId);
  }
  listRuns(): RunSummary[] {
    return this.call('listRuns');
  }
  interruptedRuns(): string[] {
    return this.call('interruptedRuns');
  }
  retryableRuns(): { run_id: string; message: string }[] {
    return this.call('retryableRuns');
  }
  pending(runId?: string): PendingRow[] {
    return this.call('pending', runId);
  }
  events(runId: string): EventRow[] {
    return this.call('events', runId);
  }
  segments(runId: string): SegmentRow[] {
    return this.call('segments', runId);
  }
  claims(runId: string): { id: string; owner: string; claimed_at: string }[] {
    return this.call('claims', runId);
  }
  decisions(runId: string): { id: string; resolution: unknown; decided_at: string }[] {
    return this.call('decisions', runId);
  }
  rules(workspace: string): StandingRule[] {
    return this.call('rules', workspace);
  }
  changes(runId: string): ChangeRow[] {
    return this.call('changes', runId);
  }
  change(changeId: string): ChangeRow | undefined {
    return this.call('change', changeId);
  }
  content(hash: string): Buffer | undefined {
    const bytes = this.call('content', hash);
    return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  }

  deferred(runId: string): { id: string; resolution: unknown; at: string }[] {
    return this.call('deferred', runId);
  }

  /** A process on this machine is asked directly; one elsewhere, by its session's lock. */
  ownerAlive(owner: string): boolean {
    return owner.split(':')[0] === os.hostname()
      ? processAlive(owner)
      : this.call('ownerAlive', owner);
  }

  statusOf(row: RunRow): RunState {
    if (row.status !== 'running' || !row.owner) return row.status;
    return this.ownerAlive(row.owner) ? 'running' : 'interrupted';
  }

  compact(retention: Retention): number {
    return this.call('compact', retention);
  }
  scrub(): void {
    this.call('scrub');
  }

  /**
   * Other processes' commits, as PostgreSQL notifies them (LISTEN on a connection of its own).
   * `listener` runs once listening starts (a commit made before it would be missed otherwise),
   * and again each time a dropped connection is back (opened again with growing pauses): what
   * was committed meanwhile is read then.
   */
  watch(listener: () => void): StoreWatch {
    let client: pg.Client | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let delay = 250;
    const connect = async (): Promise<void> => {
      const c = new pg.Client(pgConfig(this.connection));
      client = c;
      const lost = () => {
        if (client !== c || stopped) return;
        client = null;
        void c.end().catch(() => undefined);
        retry = setTimeout(() => void connect(), delay);
        retry.unref();
        delay = Math.min(delay * 2, 10_000);
      };
      c.on('error', lost);
      c.on('end', lost);
      c.on('notification', () => listener());
      try {
        await c.connect();
        await c.query(`LISTEN ${CHANGES_CHANNEL}`);
        delay = 250;
        listener();
      } catch {
        lost();
      }
    };
    void connect();
    return {
      close: () => {
        stopped = true;
        clearTimeout(retry);
        void client?.end().catch(() => undefined);
        client = null;
      },
    };
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call('close');
    } catch {
      // Closing a store whose server is gone: nothing to end but the thread.
    }
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}
