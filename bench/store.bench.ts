// `npm run bench`: the store's durable commit latency as the database grows, side by side with
// better-sqlite3 (WAL, synchronous=FULL) on the same disk in the same run, and start-up cost at
// 10,000 runs. Prints ratios; nothing here is a test.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { SqlJsStore } from '../host/store/sqljs-store.js';
import { CURRENT_SCHEMA } from '../host/store/schema.js';
import type { StoreOp } from '../host/store/store.js';

const SIZES = [10, 1_000, 10_000];
const COMMITS = Number(process.env.BENCH_COMMITS ?? 1000);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-'));

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

function event(runId: string, i: number): Record<string, unknown> {
  return {
    type: 'tool_result',
    run_id: runId,
    call_id: `call_${i}`,
    tool: 'read_file',
    ok: true,
    output: `line ${i} `.repeat(25),
  };
}

function runOps(
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
      state: STATE,
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

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function stats(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

async function airlockAt(size: number): Promise<{ file: string; samples: number[] }> {
  const file = path.join(root, `airlock-${size}.db`);
  const memory = await SqlJsStore.open();
  for (let i = 0; i < size; i++) memory.commit(runOps(`run_${i}`, 1, 'success', 8));
  memory.writeTo(file);
  memory.close();
  const store = await SqlJsStore.open(file);
  const samples: number[] = [];
  for (let v = 1; v <= COMMITS; v++) {
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

async function betterAt(size: number): Promise<number[]> {
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
  const state = Buffer.from(JSON.stringify(STATE));
  const commit = db.transaction((runId: string, v: number, status: string, events: number) => {
    const current = version.get(runId) as { version: number } | undefined;
    if ((current?.version ?? null) !== (v === 1 ? null : v - 1)) throw new Error('version race');
    const at = new Date(1_700_000_000_000 + v).toISOString();
    putRun.run(runId, status, status, at, at, v, state);
    for (let i = 0; i < events; i++)
      addEvent.run(runId, 'tool_result', JSON.stringify(event(runId, i)));
    clearPending.run(runId);
  });
  db.pragma('synchronous = OFF'); // populating is not what is measured
  db.transaction(() => {
    for (let i = 0; i < size; i++) commit(`run_${i}`, 1, 'success', 8);
  })();
  db.pragma('synchronous = FULL');
  const samples: number[] = [];
  for (let v = 1; v <= COMMITS; v++) {
    await nextTick();
    const t = process.hrtime.bigint();
    commit('run_active', v, 'running', 2);
    samples.push(ms(process.hrtime.bigint() - t));
  }
  db.close();
  return samples;
}

function startup(file: string): { ms: number; rssMb: number } {
  const t = process.hrtime.bigint();
  const child = spawnSync(
    process.execPath,
    [
      '--require',
      path.resolve('bench/rss-report.cjs'),
      'dist/cli.js',
      'pending',
      '--db',
      file,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const elapsed = ms(process.hrtime.bigint() - t);
  if (child.status !== 0) throw new Error(`airlock pending failed: ${child.stderr}`);
  const kb = Number(/BENCH_MAXRSS_KB=(\d+)/.exec(child.stderr)?.[1] ?? NaN);
  return { ms: elapsed, rssMb: kb / 1024 };
}

async function main(): Promise<void> {
  console.log(
    `Durable commit latency, ${COMMITS} commits per size, each in its own tick (a run's step: its state + 2 events).`,
  );
  console.log(
    'runs     airlock p50   p99      better-sqlite3 p50   p99      airlock p99 / better p99',
  );
  // Warm both engines up (JIT, first journal growth) so the first size is not penalised.
  await airlockAt(0);
  await betterAt(0);
  const ours: Record<number, { p50: number; p99: number; file: string }> = {};
  for (const size of SIZES) {
    const a = await airlockAt(size);
    const b = stats(await betterAt(size));
    const s = stats(a.samples);
    ours[size] = { ...s, file: a.file };
    console.log(
      `${String(size).padEnd(8)} ${s.p50.toFixed(2).padStart(7)} ms ${s.p99.toFixed(2).padStart(6)} ms   ${b.p50.toFixed(2).padStart(10)} ms ${b.p99.toFixed(2).padStart(6)} ms   ${(s.p99 / b.p99).toFixed(2).padStart(8)}`,
    );
  }
  const small = ours[SIZES[0]!]!;
  const large = ours[SIZES[SIZES.length - 1]!]!;
  console.log(
    `\np99 at ${SIZES.at(-1)} runs / p99 at ${SIZES[0]} runs: ${(large.p99 / small.p99).toFixed(2)} (target ≤ 2)`,
  );
  const size = fs.statSync(large.file).size;
  const start = startup(large.file);
  console.log(
    `Start-up + \`airlock pending\` at ${SIZES.at(-1)} runs (snapshot ${(size / 1e6).toFixed(1)} MB, journal ${COMMITS} records): ${start.ms.toFixed(0)} ms, peak RSS ${start.rssMb.toFixed(0)} MB`,
  );
  fs.rmSync(root, { recursive: true, force: true });
}

void main();
