// A JSON-RPC client of the host for host tests: the connection, every event and log line it
// received, and the host served in this process over an in-memory duplex (two real
// MessageConnections, as vscode-languageserver-node's own connection tests do).
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import type { RunEvent } from '../../host/protocol/events.js';
import { ChangedNotification, EventNotification } from '../../host/protocol/rpc.js';
import { serve } from '../../host/server/server.js';
import { Settings } from '../../host/settings-schema.js';
import { onCleanup } from './scratch.js';

export interface Client {
  connection: MessageConnection;
  events: RunEvent[];
  /** The host's window/logMessage lines. */
  logs: string[];
  changed: number;
  /** Resolves when an event matching `test` has arrived. */
  waitFor(test: (e: RunEvent) => boolean): Promise<RunEvent>;
}

const EVENT_TIMEOUT = Number(process.env.AIRLOCK_EVENT_TIMEOUT ?? 180_000);

/** Records what the host sends on this connection, and starts listening. */
export function attach(connection: MessageConnection): Client {
  const waiters: { test: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  const client: Client = {
    connection,
    events: [],
    logs: [],
    changed: 0,
    waitFor(test) {
      const seen = client.events.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        // A ceiling for a busy laptop, so that an event that never comes fails the test with
        // what did come, instead of leaving the file running until CI gives up.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          const received = client.events.map((e) => `${e.type} ${e.run_id}`).join(', ');
          reject(new Error(`no matching event after ${EVENT_TIMEOUT} ms; received: ${received}`));
        }, EVENT_TIMEOUT);
        const waiter = {
          test,
          resolve: (e: RunEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        waiters.push(waiter);
      });
    },
  };
  connection.onNotification(EventNotification.type, (params: unknown) => {
    const { event } = EventNotification.params.parse(params);
    client.events.push(event);
    for (const w of [...waiters]) {
      if (w.test(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  connection.onNotification(ChangedNotification.type, () => {
    client.changed++;
  });
  connection.onNotification('window/logMessage', (params: { message: string }) => {
    client.logs.push(params.message);
  });
  connection.listen();
  return client;
}

/** A host served in this process over an in-memory duplex, and a client connection to it. */
export function inMemoryHost(): Client {
  const up = new PassThrough();
  const down = new PassThrough();
  const server = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(up),
    new StreamMessageWriter(down),
  );
  serve(server);
  server.listen();
  const connection = createMessageConnection(
    new StreamMessageReader(down),
    new StreamMessageWriter(up),
  );
  onCleanup(async () => {
    await connection.sendRequest('shutdown').catch(() => undefined);
    connection.dispose();
    server.dispose();
  });
  return attach(connection);
}

/** HostOptions for a host whose model is the scripted server at `baseURL`. */
export function scriptedOptions(workspace: string, db: string, baseURL: string) {
  return {
    workspace,
    db,
    settings: Settings.parse({ model: 'scripted', baseURL }),
    apiKey: 'test-key',
  };
}

/** LSP's initialize handshake, as vscode-languageclient performs it. */
export async function initialize(client: Client, opts: unknown): Promise<void> {
  await client.connection.sendRequest('initialize', {
    processId: null,
    rootUri: null,
    capabilities: {},
    initializationOptions: opts,
  });
  await client.connection.sendNotification('initialized', {});
}

/** dist/host.js (built by `node esbuild.mjs`) over stdio, as the extension starts it. */
export function hostProcess(): { child: ChildProcess; client: Client } {
  const child = spawn(process.execPath, [path.resolve('dist/host.js'), '--stdio'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  connection.onError(() => undefined);
  connection.onClose(() => undefined);
  return { child, client: attach(connection) };
}
