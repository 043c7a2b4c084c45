// The PostgreSQL store's worker thread: it owns the connection and answers the main thread's
// synchronous calls (pg-store.ts) one at a time, waking it through a shared flag.
import { workerData, type MessagePort } from 'node:worker_threads';
import { PgBackend, type PgConnection } from './pg-backend.js';

export interface PgWorkerInput {
  port: MessagePort;
  flag: SharedArrayBuffer;
  connection: PgConnection;
  owner: string;
}

export type PgCall = { method: keyof PgBackend; args: unknown[] };
export type PgReply = { value: unknown } | { error: { name: string; message: string } };

const input = workerData as PgWorkerInput;
const flag = new Int32Array(input.flag);
const backend = new PgBackend(input.connection, input.owner);

input.port.on('message', (call: PgCall) => {
  void (async () => {
    let reply: PgReply;
    try {
      const method = backend[call.method] as (...args: unknown[]) => Promise<unknown>;
      reply = { value: await method.apply(backend, call.args) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { error: { name: e.name, message: e.message } };
    }
    input.port.postMessage(reply);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  })();
});
