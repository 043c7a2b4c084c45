// `npm run bench`: the store's durable commit latency as the database grows, side by side with
// better-sqlite3 (WAL, synchronous=FULL) on the same disk in the same run, and start-up cost at
// 10,000 runs. Prints ratios; nothing here is a test.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { BlobStore } from '../host/store/blobs.js';
import { SqlJsStore } from '../host/store/sqljs-store.js';
import { CURRENT_SCHEMA } from '../host/store/schema.js';
import type { StoreOp } from '../host/store/store.js';
import { addRow, fmt, QUICK, ratio, stats } from './lib.js';

const SIZES = [10, 10_000];
/** ≥ 5,000 commits at each size, so p99.9 rests on several samples. */
const COMMITS = Number(process.env.BENCH_COMMITS ?? (QUICK ? 1000 : 5000));
let root = '';

const STATE = {
  v: 1,
  kind: 'agent',
  agent: 'agent',
  messages: Array.from({ length: 6 }, (_, i) => ({
    role: 'user',
    content: `message ${i} `.repeat(30),
  })),
  calls: [],
  turns: 3,
  rules: [],
  usage: {},
  segment_id: 'seg_bench',
  output: null,
  labels: {},
  child_usage: {},
  nested_in: null,
};

/**
 * A finished run as the engine leaves it (engine.ts `finish`): its conversation lives on in its
 * events, its raw state keeps only the redacted result.
 */
const FINISHED_STATE = { ...STATE, messages: [], output: 'Done.' };

function stateOf(status: 'running' | 'success'): object {
  return status === 'success' ? FINISHED_STATE : STATE;
}

/**
 * What a read_file result holds: 250 characters of real source (this repository's store), from a
 * place that differs by run and call, so the bodies compress as a real run's do, not as a
 * repeated line would.
 */
const SOURCE = fs
  .readdirSync(path.resolve(__dirname, '..', 'host', 'store'))
  .filter((name) => name.endsWith('.ts'))
  .sort()
  .map((name) => fs.readFileSync(path.resolve(__dirname, '..', 'host', 'store', name), 'utf8'))
  .join('\n');

function sourceSlice(runId: string, i: number): string {
  let h = i * 2654435761;
  for (const c of runId) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  const at = (h >>> 0) % (SOURCE.length - 250);
  return SOURCE.slice(at, at + 250);
}

function event(runId: string, i: number): Record<string, unknown> {
  return {
    type: 'tool_result',
    run_id: runId,
    call_id: `call_${i}`,
    tool: 'read_file',
    ok: true,
    output: sourceSlice(runId, i),
  };
}

/** One step of a run as the engine commits it: its state, `events` events, its pending rows. */
export function runOps(
  runId: string,
  version: number,
  status: 'running' | 'success',
  events: number,
): StoreOp[] {
  const at = new Date(1_700_000_000_000 + version).toISOString();
  return [
    {
      op: 'putRun',
      expect_version: version === 1 ? null : version - 1,
      row: {
        run_id: runId,
        agent: 'agent',
        workspace: '/ws',
        prompt: 'Fix the bug',
        status,
        reason: status,
        message: '',
        created_at: at,
        updated_at: at,
        owner: null,
        version,
        nested_in: null,
      },
      state: stateOf(status),
    },
    {
      op: 'appendEvents',
      run_id: runId,
      segment_id: 'seg_bench',
      events: Array.from({ length: events }, (_, i) => event(runId, i)),
    },
    { op: 'setPending', run_id: runId, rows: [] },
  ];
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

/** A database file of `size` finished runs, built in memory and written out as one snapshot. */
export async function buildStore(file: string, size: number): Promise<void> {
  const memory = await SqlJsStore.open();
  for (let i = 0; i < size; i++) memory.commit(runOps(`run_${i}`, 1, 'success', 8));
  // As the snapshot worker leaves a database: finished runs' packed events in payload files.
  memory.movePackedOut(new BlobStore(`${file}.blobs`));
  memory.writeTo(file);
  memory.close();
}

async function airlockAt(
  size: number,
  commits: number,
): Promise<{ file: string; samples: number[] }> {
  const file = path.join(root, `airlock-${size}.db`);
  await buildStore(file, size);
  const store = await SqlJsStore.open(file);
  const samples: number[] = [];
  for (let v = 1; v <= commits; v++) {
    await nextTick();
    const t = process.hrtime.bigint();
    store.commit(runOps('run_active', v, 'running', 2));
    samples.push(ms(process.hrtime.bigint() - t));
  }
  store.close();
  return { file, samples };
}

/** Commits in a run happen between awaits (model streaming, a consumer reading events). */
function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function betterAt(size: number, commits: number): Promise<number[]> {
  const file = path.join(root, `better-${size}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(CURRENT_SCHEMA);
  const version = db.prepare('SELECT version FROM runs WHERE run_id = ?');
  const putRun = db.prepare(
    `INSERT INTO runs (run_id, agent, workspace, prompt, status, reason, message, created_at, updated_at, owner, version, state, nested_in)
     VALUES (?, 'agent', '/ws', 'Fix the bug', ?, ?, '', ?, ?, NULL, ?, ?, NULL)
     ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
       updated_at = excluded.updated_at, version = excluded.version, state = excluded.state`,
  );
  const addEvent = db.prepare(
    "INSERT INTO events (run_id, segment_id, type, body) VALUES (?, 'seg_bench', ?, ?)",
  );
  const clearPending = db.prepare('DELETE FROM pending WHERE run_id = ?');
  // Serialized once, as before: the peer's commit is timed without it.
  const states = {
    running: Buffer.from(JSON.stringify(stateOf('running'))),
    success: Buffer.from(JSON.stringify(stateOf('success'))),
  };
  const commit = db.transaction(
    (runId: string, v: number, status: 'running' | 'success', events: number) => {
      const current = version.get(runId) as { version: number } | undefined;
      if ((current?.version ?? null) !== (v === 1 ? null : v - 1)) throw new Error('version race');
      const at = new Date(1_700_000_000_000 + v).toISOString();
      putRun.run(runId, status, status, at, at, v, states[status]);
      for (let i = 0; i < events; i++)
        addEvent.run(runId, 'tool_result', JSON.stringify(event(runId, i)));
      clearPending.run(runId);
    },
  );
  db.pragma('synchronous = OFF'); // populating is not what is measured
  db.transaction(() => {
    for (let i = 0; i < size; i++) commit(`run_${i}`, 1, 'success', 8);
  })();
  db.pragma('synchronous = FULL');
  const samples: number[] = [];
  for (let v = 1; v <= commits; v++) {
    await nextTick();
    const t = process.hrtime.bigint();
    commit('run_active', v, 'running', 2);
    samples.push(ms(process.hrtime.bigint() - t));
  }
  db.close();
  return samples;
}

/** Row 6: commit latency (and stalls when a snapshot is written) beside better-sqlite3. */
export async function storeRows(): Promise<void> {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-store-bench-'));
  try {
    // Warm both engines up (JIT, first journal growth) so the first size is not penalised.
    await airlockAt(0, 200);
    await betterAt(0, 200);
    const p99: number[] = [];
    for (const size of SIZES) {
      const a = stats((await airlockAt(size, COMMITS)).samples);
      const b = stats(await betterAt(size, COMMITS));
      p99.push(a.p99);
      addRow({
        measure: `durable commit (a run's step: state + 2 events), ${size} runs, ${COMMITS} commits each in its own tick`,
        airlock: `${fmt(a)}, p99.9 ${a.p999.toFixed(2)} ms, max ${a.max.toFixed(1)} ms`,
        peer: `better-sqlite3 (WAL, synchronous=FULL) ${fmt(b)}, p99.9 ${b.p999.toFixed(2)} ms`,
        ratio: `p50 ${ratio(a.p50, b.p50)}, p99.9 ${ratio(a.p999, b.p999)}`,
        target: size >= 10_000 ? 'no commit waits on a snapshot: p99.9 ≤ 5 ms' : '—',
      });
    }
    addRow({
      measure: `commit p99 at ${SIZES.at(-1)} runs / at ${SIZES[0]} runs`,
      airlock: `${p99[1]!.toFixed(2)} / ${p99[0]!.toFixed(2)} ms`,
      peer: '—',
      ratio: ratio(p99[1]!, p99[0]!),
      target: 'flat (≤ 2×)',
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
