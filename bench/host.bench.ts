// Rows 5 and 9: the real host process over node IPC. The model's tool call → the approval
// notification at the client, and the approve request → the tool_result notification, beside a
// bare vscode-jsonrpc child doing the least the same step needs; then start-up + `pending` at 0
// and 10k runs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScriptedModelServer } from '../host/model/scripted-server.js';
import type { RunEvent } from '../host/protocol/events.js';
import { GetPending, Resume, StartRun } from '../host/protocol/rpc.js';
import { cycleScript } from './cycle.js';
import { HOST, initialize, peakRssMb, startHost } from './host-process.js';
import { addRow, cycles, fmt, interleave, median, notes, now, ratio, stats } from './lib.js';
import { buildStore } from './store.bench.js';

/** Every event with its arrival time; `next` finds the first matching one not yet taken. */
function arrivals(host: ReturnType<typeof startHost>) {
  const seen: { event: RunEvent; at: number }[] = [];
  let cursor = 0;
  let wake: (() => void) | null = null;
  host.onEvent((event) => {
    seen.push({ event, at: now() });
    wake?.();
  });
  return async (test: (e: RunEvent) => boolean): Promise<{ event: RunEvent; at: number }> => {
    for (;;) {
      const i = seen.findIndex((s, k) => k >= cursor && test(s.event));
      if (i >= 0) {
        cursor = i + 1;
        return seen[i]!;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}

export async function hostRows(root: string): Promise<void> {
  notes.push(
    "Host rows: dist/host.js forked with --node-ipc as vscode-languageclient starts it. Tool call → approval runs from the scripted server handing over its tool-call reply to the approval notification's arrival; its floors are a bare vscode-jsonrpc child that POSTs to a loopback HTTP server and notifies when the reply arrives (timed from the reply), the same with the reply appended and fdatasync'd first, and the same durable pause with the scripted model's streamed reply read through the openai client (timed, like Airlock, from the script handing over its tool call). Approve → tool_result runs from sending airlock/resume to the notification; its floor is a request answered with a reply and a notification. Host ready + pending: fork → initialize → airlock/pending reply, at 10k runs (a database of 10k finished runs) against an empty one; peak RSS is the host's VmHWM.",
  );
  let toolCallAt = 0;
  const server = await ScriptedModelServer.start((request) => {
    const reply = cycleScript(request);
    if (reply && 'toolCalls' in reply) toolCallAt = now();
    return reply;
  });
  // The floor's loopback HTTP server: its reply is the "model's" answer.
  let floorReplyAt = 0;
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      floorReplyAt = now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tool_calls":[]}');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const floorURL = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;

  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-host-ws-'));
  const host = startHost(HOST);
  const floor = startHost(path.resolve('bench/ipc-floor.cjs'), []);
  try {
    await initialize(host, ws, path.join(root, 'host', 'airlock.db'), server.baseURL);
    const next = arrivals(host);
    const toGate: number[] = [];
    const toResult: number[] = [];
    const hostCycle = async (): Promise<number> => {
      const { run_id } = StartRun.result.parse(
        await host.connection.sendRequest(StartRun.type, { prompt: 'Write notes.txt' }),
      );
      const gate = await next((e) => e.type === 'approval');
      toGate.push(gate.at - toolCallAt);
      if (gate.event.type !== 'approval') throw new Error('expected an approval');
      await next((e) => e.type === 'output');
      const t0 = now();
      await host.connection.sendRequest(Resume.type, {
        run_id,
        resume: { [gate.event.approval_id]: true },
      });
      toResult.push((await next((e) => e.type === 'tool_result')).at - t0);
      const out = (await next((e) => e.type === 'output')).event;
      if (out.type !== 'output' || out.status.code !== 'success')
        throw new Error('the host run did not succeed');
      return 0;
    };
    const toFetched: number[] = [];
    const toFetchedDurable: number[] = [];
    const toModelDurable: number[] = [];
    const toPong: number[] = [];
    let fetched: (() => void) | null = null;
    let ponged: (() => void) | null = null;
    const toWritten: number[] = [];
    let written: (() => void) | null = null;
    floor.connection.onNotification('floor/written', () => written?.());
    floor.connection.onNotification('floor/fetched', () => fetched?.());
    floor.connection.onNotification('floor/pong', () => ponged?.());
    const floorCycle = async (): Promise<number> => {
      await new Promise<void>((resolve) => {
        fetched = () => {
          toFetched.push(now() - floorReplyAt);
          resolve();
        };
        void floor.connection.sendNotification('floor/fetch', { url: floorURL });
      });
      await new Promise<void>((resolve) => {
        fetched = () => {
          toFetchedDurable.push(now() - floorReplyAt);
          resolve();
        };
        void floor.connection.sendNotification('floor/fetch-durable', {
          url: floorURL,
          file: path.join(ws, 'floor.records'),
        });
      });
      await new Promise<void>((resolve) => {
        fetched = () => {
          toModelDurable.push(now() - toolCallAt);
          resolve();
        };
        void floor.connection.sendNotification('floor/model-durable', {
          baseURL: server.baseURL,
          file: path.join(ws, 'floor.records'),
        });
      });
      await new Promise<void>((resolve) => {
        const t0 = now();
        ponged = () => {
          toPong.push(now() - t0);
          resolve();
        };
        void floor.connection.sendRequest('floor/ping', {});
      });
      await new Promise<void>((resolve) => {
        const t0 = now();
        written = () => {
          toWritten.push(now() - t0);
          resolve();
        };
        void floor.connection.sendRequest('floor/write', {
          file: path.join(ws, 'floor.txt'),
          content: `floor ${toWritten.length}\n`,
        });
      });
      return 0;
    };
    const n = cycles(200, 20);
    await interleave(n, cycles(10, 3), hostCycle, floorCycle);
    const w = cycles(10, 3); // drop the warm-up samples
    const [a1, b1, c1, a2, b2, c2, d1] = [
      toGate,
      toFetched,
      toFetchedDurable,
      toResult,
      toPong,
      toWritten,
      toModelDurable,
    ].map((xs) => stats(xs.slice(w)));
    addRow({
      measure: "host: model's tool call → approval notification at the client",
      airlock: fmt(a1!),
      peer: `bare vscode-jsonrpc child: loopback HTTP reply → notification ${fmt(b1!)}`,
      ratio: `p50 ${ratio(a1!.p50, b1!.p50)}`,
      target: '≤ 3×',
    });
    // A gate is durable before the client hears of it (it survives a crash): the same floor
    // with one record appended and fdatasync'd, the least any durable host pays.
    addRow({
      measure: "host: model's tool call → approval notification, floor with the durable pause",
      airlock: fmt(a1!),
      peer: `bare vscode-jsonrpc child: loopback HTTP reply → record appended + fdatasync → notification ${fmt(c1!)}`,
      ratio: `p50 ${ratio(a1!.p50, c1!.p50)}`,
      target: '≤ 3×',
    });
    // The model's reply as it really comes: a stream of server-sent events read through the
    // openai client, not one small JSON body. The least any host using that client pays.
    addRow({
      measure:
        "host: model's tool call → approval notification, floor with the streamed reply through the openai client and the durable pause",
      airlock: fmt(a1!),
      peer: `bare vscode-jsonrpc child: the same scripted reply streamed through the openai client, its tool call assembled → record appended + fdatasync → notification ${fmt(d1!)}`,
      ratio: `p50 ${ratio(a1!.p50, d1!.p50)}`,
      target: 'the least the row above can reach',
    });
    addRow({
      measure: 'host: approve request → tool_result notification',
      airlock: fmt(a2!),
      peer: `bare vscode-jsonrpc child: request → reply + notification ${fmt(b2!)}`,
      ratio: `p50 ${ratio(a2!.p50, b2!.p50)}`,
      target: '≤ 5×',
    });
    // The approved effect itself (the file written durably, as write_file does) is in every
    // host's path: the same floor with it.
    addRow({
      measure: 'host: approve request → tool_result notification, floor with the approved write',
      airlock: fmt(a2!),
      peer: `bare vscode-jsonrpc child: request → durable write (temp, fsync, rename, folder fsync) → reply + notification ${fmt(c2!)}`,
      ratio: `p50 ${ratio(a2!.p50, c2!.p50)}`,
      target: '≤ 5×',
    });
  } finally {
    await host.stop();
    await floor.stop();
    await server.close();
    http.close();
    fs.rmSync(ws, { recursive: true, force: true });
  }
  await readyRows(root);
}

/** Row 9: from fork to the `pending` reply, and the host's peak RSS, at 0 and 10k runs. */
async function readyRows(root: string): Promise<void> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-ready-ws-'));
  const empty = path.join(root, 'ready-0', 'airlock.db');
  const full = path.join(root, 'ready-10k', 'airlock.db');
  fs.mkdirSync(path.dirname(empty), { recursive: true });
  fs.mkdirSync(path.dirname(full), { recursive: true });
  await buildStore(full, 10_000);
  const once = async (db: string): Promise<{ ms: number; rss: number }> => {
    const t0 = now();
    const host = startHost(HOST);
    await initialize(host, ws, db, 'http://127.0.0.1:9/v1');
    GetPending.result.parse(await host.connection.sendRequest(GetPending.type, {}));
    const ms = now() - t0;
    const rss = peakRssMb(host.child.pid);
    await host.stop();
    return { ms, rss };
  };
  const rss = { a: [] as number[], b: [] as number[] };
  const n = cycles(20, 4);
  const r = await interleave(
    n,
    1,
    async () => {
      const x = await once(full);
      rss.a.push(x.rss);
      return x.ms;
    },
    async () => {
      const x = await once(empty);
      rss.b.push(x.rss);
      return x.ms;
    },
  );
  const a = stats(r.a);
  const b = stats(r.b);
  addRow({
    measure: 'host ready + `pending` (fork → initialize → pending reply)',
    airlock: `10k runs: ${fmt(a)}, peak RSS ${median(rss.a).toFixed(0)} MB`,
    peer: `0 runs: ${fmt(b)}, peak RSS ${median(rss.b).toFixed(0)} MB`,
    ratio: `p50 ${ratio(a.p50, b.p50)}, RSS ${ratio(median(rss.a), median(rss.b))}`,
    target: '≤ 1.3× of 0 runs',
  });
  fs.rmSync(ws, { recursive: true, force: true });
}
