// Rows 1–3: one pause→resume cycle through the library against the same loopback model, Airlock
// (Agent + SqlJsStore on a file + the gated write_file tool) beside @openai/agents (a tool with
// `needsApproval: true`, RunState.toString written and fsynced, then fromString + approve + run).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { SqlJsStatic } from 'sql.js';
import { z } from 'zod';
import {
  Agent as PeerAgent,
  OpenAIChatCompletionsModel,
  run as peerRun,
  RunState,
  setTracingDisabled,
  tool as peerTool,
} from '@openai/agents';
import { OpenAIChatModel } from '../host/model/openai-model.js';
import {
  ScriptedModelServer,
  type Reply,
  type ScriptRequest,
} from '../host/model/scripted-server.js';
import { Agent } from '../host/runtime/agent.js';
import { loadSqlJs, SqlJsStore } from '../host/store/sqljs-store.js';
import { replaceDurably } from '../host/store/durable-file.js';
import { writeFileTool } from '../host/tools/files.js';
import {
  addRow,
  countSyncs,
  cycles,
  fmt,
  interleave,
  median,
  notes,
  now,
  ratio,
  stats,
  syncCounts,
} from './lib.js';
import { buildStore } from './store.bench.js';

let counter = 0;

/** Turn 1: write a file with new content (so the gate always asks); turn 2, after the result: done. */
export function cycleScript(request: ScriptRequest): Reply {
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return { text: 'Done.' };
  counter++;
  return {
    toolCalls: [
      { name: 'write_file', arguments: { path: 'notes.txt', content: `cycle ${counter}\n` } },
    ],
  };
}

interface Side {
  /** One whole cycle; returns its wall time in ms. */
  cycle(): Promise<number>;
  close(): void;
}

interface CycleMeasure {
  syncsPause: number;
  syncsResume: number;
  handleSyncs: number;
  bytesPause: number;
  bytesResume: number;
}

function medianMeasure(samples: readonly CycleMeasure[]): CycleMeasure {
  const of = (key: keyof CycleMeasure): number => median(samples.map((m) => m[key]));
  return {
    syncsPause: of('syncsPause'),
    syncsResume: of('syncsResume'),
    handleSyncs: of('handleSyncs'),
    bytesPause: of('bytesPause'),
    bytesResume: of('bytesResume'),
  };
}

/**
 * Where the journal's records end: a walk over the frames' headers (length, then the next) read
 * in 64 KiB pieces, no checksums, not the whole grown-ahead file — the benchmark's own work stays
 * small beside the cycle it measures.
 */
function journalEnd(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(`${file}.journal`, 'r');
  } catch {
    return NaN;
  }
  try {
    const piece = Buffer.alloc(64 * 1024);
    let start = 0; // file offset of piece[0]
    let got = fs.readSync(fd, piece, 0, piece.length, 0);
    let pos = 0;
    for (;;) {
      if (pos + 8 > start + got) {
        start = pos;
        got = fs.readSync(fd, piece, 0, piece.length, start);
        if (got < 8) return pos;
      }
      const length = piece.readUInt32LE(pos - start);
      if (length === 0) return pos;
      pos += 8 + length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Airlock; `reopen`: a store opened and closed around each phase (a CLI, a second window). */
export async function airlockSide(
  baseURL: string,
  dbFile: string,
  reopen: boolean,
): Promise<Side & { last: CycleMeasure }> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-ws-'));
  const model = new OpenAIChatModel({ model: 'scripted', baseURL, apiKey: 'bench', maxRetries: 0 });
  const tools = [writeFileTool(ws)];
  let shared = reopen ? null : await SqlJsStore.open(dbFile);
  const agentOn = (store: SqlJsStore): Agent =>
    new Agent({ name: 'bench', model, tools, store, workspace: ws });
  const withStore = async <T>(fn: (store: SqlJsStore) => Promise<T>): Promise<T> => {
    if (shared) return fn(shared);
    const store = await SqlJsStore.open(dbFile);
    try {
      return await fn(store);
    } finally {
      store.close();
    }
  };
  const samples: CycleMeasure[] = [];
  return {
    // The median cycle: a cycle that happens to take a snapshot (the journal is cut, more syncs)
    // must not stand for all of them.
    get last(): CycleMeasure {
      return medianMeasure(samples);
    },
    async cycle() {
      const s0 = syncCounts();
      const j0 = journalEnd(dbFile);
      const t0 = now();
      const paused = await withStore((store) =>
        agentOn(store).run({ prompt: 'Write notes.txt' }).collect(),
      );
      const s1 = syncCounts();
      // Reading the journal is the benchmark's own work: not counted in the cycle's time.
      const m0 = now();
      const j1 = journalEnd(dbFile);
      const measuring = now() - m0;
      const id = paused.pending[0];
      if (paused.status.reason !== 'approval_required' || !id)
        throw new Error(`Airlock did not pause: ${paused.status.message}`);
      const done = await withStore((store) =>
        agentOn(store)
          .run({ runId: paused.run_id, resume: { [id]: true } })
          .collect(),
      );
      const t1 = now();
      if (done.status.code !== 'success') throw new Error(`Airlock resume: ${done.status.message}`);
      const s2 = syncCounts();
      const j2 = journalEnd(dbFile);
      samples.push({
        syncsPause: s1.fs - s0.fs,
        syncsResume: s2.fs - s1.fs,
        handleSyncs: s2.handle - s0.handle,
        bytesPause: j1 - j0,
        bytesResume: j2 - j1,
      });
      return t1 - t0 - measuring;
    },
    close() {
      shared?.close();
      shared = null;
      fs.rmSync(ws, { recursive: true, force: true });
    },
  };
}

/** @openai/agents: its Agent, a `needsApproval` tool doing the same durable write, state on a file. */
export function peerSide(baseURL: string, dir: string): Side & { last: CycleMeasure } {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-bench-ws-'));
  const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  const writeFile = peerTool({
    name: 'write_file',
    description: "Create a file, or replace a file's whole content, in the workspace.",
    parameters: z.object({ path: z.string(), content: z.string() }),
    needsApproval: true,
    execute: async ({ path: rel, content }) => {
      await replaceDurably(path.join(ws, rel), content);
      return `Wrote ${rel}`;
    },
  });
  const agent = new PeerAgent({
    name: 'bench',
    instructions: '',
    model: new OpenAIChatCompletionsModel(client, 'scripted'),
    tools: [writeFile],
  });
  const stateFile = path.join(dir, 'run-state.json');
  const last: CycleMeasure = {
    syncsPause: 0,
    syncsResume: 0,
    handleSyncs: 0,
    bytesPause: 0,
    bytesResume: 0,
  };
  const persist = (text: string): void => {
    const fd = fs.openSync(stateFile, 'w', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  };
  return {
    last,
    async cycle() {
      const s0 = syncCounts();
      const t0 = now();
      const first = await peerRun(agent, 'Write notes.txt');
      if (first.interruptions.length !== 1) throw new Error('the peer did not pause');
      const text = first.state.toString();
      persist(text);
      const s1 = syncCounts();
      const state = await RunState.fromString(agent, fs.readFileSync(stateFile, 'utf8'));
      for (const item of state.getInterruptions()) state.approve(item);
      const done = await peerRun(agent, state);
      const t1 = now();
      if (done.interruptions.length !== 0 || done.finalOutput !== 'Done.')
        throw new Error(`the peer did not finish: ${String(done.finalOutput)}`);
      const s2 = syncCounts();
      Object.assign(last, {
        syncsPause: s1.fs - s0.fs,
        syncsResume: s2.fs - s1.fs,
        handleSyncs: s2.handle - s0.handle,
        bytesPause: Buffer.byteLength(text),
        bytesResume: 0,
      });
      return t1 - t0;
    },
    close() {
      fs.rmSync(ws, { recursive: true, force: true });
    },
  };
}

/**
 * What any durable, streamed pause→resume cycle must do, and nothing else: the same two model
 * requests streamed through the `openai` client, the same durable write, and a record appended and
 * fdatasync'd at the pause and at the end (the durability Airlock promises: a pause survives a
 * crash, and so does a decision's outcome). With `reopen`, also the least opening a store per
 * phase can: the database's snapshot read and loaded into sql.js, one statement run on it.
 */
export function floorSide(
  baseURL: string,
  dir: string,
  reopen?: { SQL: SqlJsStatic; file: string },
): Side {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-bench-ws-'));
  const load = (): void => {
    if (!reopen) return;
    const db = new reopen.SQL.Database(fs.readFileSync(reopen.file));
    db.exec('SELECT count(*) FROM runs');
    db.close();
  };
  const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  const fd = fs.openSync(path.join(dir, 'floor.journal'), 'w', 0o600);
  const record = Buffer.alloc(3700, 0x61);
  let pos = 0;
  const request = async (messages: OpenAI.ChatCompletionMessageParam[]): Promise<void> => {
    const stream = await client.chat.completions.create({
      model: 'scripted',
      messages,
      stream: true,
    });
    for await (const chunk of stream) void chunk;
  };
  const durable = (): Promise<void> => {
    fs.writeSync(fd, record, 0, record.length, pos);
    pos += record.length;
    return new Promise((resolve, reject) =>
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())),
    );
  };
  return {
    async cycle() {
      const t0 = now();
      load();
      await request([{ role: 'user', content: 'Write notes.txt' }]);
      await durable();
      load();
      await replaceDurably(path.join(ws, 'notes.txt'), `cycle ${counter}\n`);
      await request([
        { role: 'user', content: 'Write notes.txt' },
        { role: 'tool', tool_call_id: 'call_1', content: 'Wrote notes.txt' },
      ]);
      await durable();
      return now() - t0;
    },
    close() {
      fs.closeSync(fd);
      fs.rmSync(ws, { recursive: true, force: true });
    },
  };
}

export async function cycleRows(root: string): Promise<void> {
  setTracingDisabled(true);
  await countSyncs();
  notes.push(
    "Library cycle: the peer's tool makes the same durable write as Airlock's write_file (replaceDurably: temp file, fsync, rename, folder fsync), so the two cycles differ only in the run machinery; its RunState is written with writeSync + fsyncSync and read back with readFileSync before fromString.",
  );
  // Built before the model server starts: an idle pause longer than the server's keep-alive
  // timeout would leave the client a closed socket (a failed request, not a figure).
  const sizes = [0, 10_000];
  const files = new Map<number, string>();
  for (const size of sizes) {
    const file = path.join(root, `reopen-${size}`, 'airlock.db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (size > 0) await buildStore(file, size);
    files.set(size, file);
  }
  const server = await ScriptedModelServer.start(cycleScript);
  try {
    // Row 1 and 2: the store stays open.
    const db = path.join(root, 'cycle', 'airlock.db');
    fs.mkdirSync(path.dirname(db), { recursive: true });
    const a = await airlockSide(server.baseURL, db, false);
    const b = peerSide(server.baseURL, path.dirname(db));
    const n = cycles(200, 30);
    const r = await interleave(
      n,
      cycles(20, 5),
      () => a.cycle(),
      () => b.cycle(),
    );
    const sa = stats(r.a);
    const sb = stats(r.b);
    addRow({
      measure: 'pause→resume cycle, library, store open, same loopback model',
      airlock: fmt(sa),
      peer: `@openai/agents ${fmt(sb)}`,
      ratio: `p50 ${ratio(sa.p50, sb.p50)}, p99 ${ratio(sa.p99, sb.p99)}`,
      target: '≤ 0.8',
    });
    // What the target leaves room for: the floor (floorSide) against the same peer, interleaved.
    const f = floorSide(server.baseURL, path.dirname(db));
    const rf = await interleave(
      n,
      cycles(20, 5),
      () => f.cycle(),
      () => b.cycle(),
    );
    f.close();
    const sf = stats(rf.a);
    const sp = stats(rf.b);
    addRow({
      measure:
        "the cycle's floor: two streamed requests through the openai client, the same durable write, a record fdatasync'd at the pause and at the end",
      airlock: `floor ${fmt(sf)}; Airlock in the row above ${ratio(sa.p50, sf.p50)} of it`,
      peer: `@openai/agents ${fmt(sp)}`,
      ratio: `p50 ${ratio(sf.p50, sp.p50)}`,
      target: 'the least the first row can reach',
    });
    const ours = a.last;
    const theirs = b.last;
    addRow({
      measure: 'durable syncs per cycle (node:fs fsync/fdatasync, in-process, median cycle)',
      airlock: `${ours.syncsPause} to pause + ${ours.syncsResume} to resume = ${ours.syncsPause + ours.syncsResume} (plus ${ours.handleSyncs} FileHandle syncs: the tool's durable write)`,
      peer: `${theirs.syncsPause} to pause + ${theirs.syncsResume} to resume = ${theirs.syncsPause + theirs.syncsResume} (plus ${theirs.handleSyncs} FileHandle syncs: the same durable write)`,
      ratio: ratio(ours.syncsPause + ours.syncsResume, theirs.syncsPause + theirs.syncsResume),
      target: '≤ 2 per cycle',
    });
    addRow({
      measure: 'bytes persisted per pause (journal records, median cycle; peer: RunState file)',
      airlock: `${(ours.bytesPause / 1024).toFixed(1)} KB (+${(ours.bytesResume / 1024).toFixed(1)} KB on resume)`,
      peer: `${(theirs.bytesPause / 1024).toFixed(1)} KB`,
      ratio: ratio(ours.bytesPause, theirs.bytesPause),
      target: '≤ 1.0×',
    });
    a.close();

    // Row 3: the store reopened for each phase, on an empty database and on one of 10k runs.
    const SQL = await loadSqlJs();
    for (const size of sizes) {
      const file = files.get(size)!;
      const ra = await airlockSide(server.baseURL, file, true);
      const m = cycles(200, size > 0 ? 10 : 20);
      const res = await interleave(
        m,
        cycles(5, 2),
        () => ra.cycle(),
        () => b.cycle(),
      );
      const x = stats(res.a);
      const y = stats(res.b);
      addRow({
        measure: `same cycle, store reopened per phase, ${size} runs in the database`,
        airlock: fmt(x),
        peer: `@openai/agents fromString path ${fmt(y)}`,
        ratio: `p50 ${ratio(x.p50, y.p50)}`,
        target: '≤ 2×',
      });
      // What loading the database per phase costs by itself: the floor with the snapshot
      // loaded into sql.js at each phase, against the same peer.
      const rf = floorSide(server.baseURL, path.dirname(file), { SQL, file });
      const fres = await interleave(
        m,
        cycles(5, 2),
        () => rf.cycle(),
        () => b.cycle(),
      );
      rf.close();
      const fx = stats(fres.a);
      const fy = stats(fres.b);
      addRow({
        measure: `the reopened cycle's floor at ${size} runs: the cycle's floor with the database's snapshot loaded into sql.js at each phase (one statement run)`,
        airlock: `floor ${fmt(fx)}; Airlock in the row above ${ratio(x.p50, fx.p50)} of it`,
        peer: `@openai/agents fromString path ${fmt(fy)}`,
        ratio: `p50 ${ratio(fx.p50, fy.p50)}`,
        target: 'the least the row above can reach',
      });
      ra.close();
    }
    b.close();
  } finally {
    await server.close();
  }
}
