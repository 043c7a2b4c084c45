// The real host (dist/host.js) started as the extension starts it: forked, JSON-RPC over node IPC.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { RunEvent } from '../host/protocol/events.js';
import { EventNotification } from '../host/protocol/rpc.js';
import { Settings } from '../host/settings-schema.js';

export interface HostProcess {
  child: ChildProcess;
  connection: MessageConnection;
  /** Called with each airlock/event as it arrives. */
  onEvent: (listener: (event: RunEvent) => void) => void;
  stop(): Promise<void>;
}

export function startHost(script: string, args: string[] = ['--node-ipc']): HostProcess {
  // BENCH_HOST_PROFILE=DIR: each host writes a CPU profile there (node --cpu-prof) when it exits.
  const profile = process.env.BENCH_HOST_PROFILE;
  const child = fork(script, args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [],
  });
  const connection = createMessageConnection(
    new IPCMessageReader(child),
    new IPCMessageWriter(child),
  );
  const listeners: ((event: RunEvent) => void)[] = [];
  connection.onNotification(EventNotification.type, (params: unknown) => {
    const { event } = EventNotification.params.parse(params);
    for (const l of listeners) l(event);
  });
  connection.onError(() => undefined);
  connection.onClose(() => undefined);
  connection.listen();
  return {
    child,
    connection,
    onEvent: (l) => listeners.push(l),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([
        connection.sendRequest('shutdown').then(() => connection.sendNotification('exit')),
        new Promise((resolve) => setTimeout(resolve, 2000)),
      ]).catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      connection.dispose();
    },
  };
}

/** LSP's initialize handshake as vscode-languageclient performs it, with a scripted model. */
export async function initialize(
  host: HostProcess,
  workspace: string,
  db: string,
  baseURL: string,
): Promise<void> {
  await host.connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions: {
      workspace,
      db,
      settings: Settings.parse({ model: 'scripted', baseURL }),
      apiKey: 'bench',
    },
  });
  await host.connection.sendNotification('initialized', {});
}

/** Peak resident set of a live process, from /proc (Linux), in MB. */
export function peakRssMb(pid: number | undefined): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

export const HOST = path.resolve('dist/host.js');
export const CLI = path.resolve('dist/cli.js');
