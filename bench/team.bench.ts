// `npm run bench`, team mode (issue 17): the run store on PostgreSQL side by side with the sql.js
// file in the same run: a commit's latency, 8 claimants racing for one gate, and the library's
// pause→resume cycle through each. The server is a throwaway one (scripts/postgres.mjs) on a Unix
// socket of this machine: what is measured is Airlock's path to PostgreSQL, not a network.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { runTool, Tool } from '../host/runtime/index.js';
import { selfOwner } from '../host/store/file-lock.js';
import { PgBackend } from '../host/store/pg-backend.js';
import { PgStore } from '../host/store/pg-store.js';
import { SqlJsStore } from '../host/store/sqljs-store.js';
import type { Store, StoreOp } from '../host/store/store.js';
import { runOps } from './store.bench.js';
// @ts-expect-error: a plain .mjs script
import { postgresMissing, startPostgres } from '../scripts/postgres.mjs';
import { addRow, cycles, fmt, interleave, notes, now, ratio, stats } from './lib.js';

const ship = Tool({
  name: 'ship',
  description: 'Ship an order.',
  params: z.object({ item: z.string() }),
  requiresApproval: true,
  handler: ({ item }) => `shipped ${item}`,
});

/** One pause→resume of a gated tool through `store`: the library's cycle, no model. */
async function cycle(store: Store): Promise<number> {
  const t = now();
  const paused = await runTool(ship, { store, input: { item: 'x' } }).collect();
  const done = await runTool(ship, {
    store,
    runId: paused.run_id,
    resume: { [paused.pending[0]!]: true },
  }).collect();
  if (done.status.reason !== 'completed') throw new Error(done.status.message);
  return now() - t;
}

export async function teamRows(): Promise<void> {
  const missing = (postgresMissing as () => string | null)();
  if (missing) {
    notes.push(`Team mode (PostgreSQL): not measured, missing ${missing}`);
    return;
  }
  const server = (await startPostgres()) as { url: string; stop(): Promise<void> };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-team-bench-'));
  const stores: Store[] = [];
  try {
    const pg = await PgStore.open({ url: server.url });
    const file = await SqlJsStore.open(path.join(dir, 'airlock.db'));
    stores.push(pg, file);

    // 1. A commit: one step of a run (its state and two events), each in its own tick.
    const n = cycles(1000, 100);
    let vp = 0;
    let vf = 0;
    const timed = (store: Store, runId: string, v: () => number) => async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const t = now();
      const result = store.commit(runOps(runId, v(), 'running', 2));
      if (!result.ok) throw new Error(JSON.stringify(result));
      return now() - t;
    };
    const commits = await interleave(
      n,
      50,
      timed(pg, 'run_pg', () => ++vp),
      timed(file, 'run_file', () => ++vf),
    );
    const cp = stats(commits.a);
    const cf = stats(commits.b);
    addRow({
      measure: "team mode: durable commit (a run's step: state + 2 events), PostgreSQL vs the file",
      airlock: `PostgreSQL (Unix socket, synchronous_commit) ${fmt(cp)}, p99.9 ${cp.p999.toFixed(2)} ms`,
      peer: `sql.js file (journal + fdatasync) ${fmt(cf)}, p99.9 ${cf.p999.toFixed(2)} ms`,
      ratio: `p50 ${ratio(cp.p50, cf.p50)}, p99 ${ratio(cp.p99, cf.p99)}`,
      target: '— (side by side)',
    });

    // 2. The claim race: 8 claimants of one gate at once, until all are answered (1 winner).
    const racers = Array.from({ length: 8 }, () => new PgBackend({ url: server.url }, selfOwner));
    await Promise.all(racers.map((b) => b.open()));
    const fileRacers = await Promise.all(
      Array.from({ length: 8 }, () => SqlJsStore.open(path.join(dir, 'airlock.db'))),
    );
    stores.push(...fileRacers);
    let round = 0;
    const claim = (id: string): StoreOp[] => [
      {
        op: 'claim',
        run_id: 'run_race',
        ids: [id],
        owner: selfOwner,
        at: new Date().toISOString(),
      },
    ];
    const winners = (results: { ok: boolean }[]) => {
      if (results.filter((r) => r.ok).length !== 1) throw new Error('not exactly one winner');
    };
    const races = await interleave(
      cycles(200, 30),
      10,
      async () => {
        const id = `pg_${round++}`;
        const t = now();
        winners(await Promise.all(racers.map((b) => b.commit(claim(id)))));
        return now() - t;
      },
      async () => {
        const id = `file_${round++}`;
        const t = now();
        // One process's 8 stores: the file lock takes them in turn, as it would 8 processes.
        winners(fileRacers.map((s) => s.commit(claim(id))));
        return now() - t;
      },
    );
    await Promise.all(racers.map((b) => b.close()));
    const rp = stats(races.a);
    const rf = stats(races.b);
    addRow({
      measure:
        'team mode: 8 claimants of one gate at once, until all are answered (exactly 1 wins)',
      airlock: `PostgreSQL, 8 connections ${fmt(rp)}`,
      peer: `sql.js file, 8 stores taking the lock in turn ${fmt(rf)}`,
      ratio: `p50 ${ratio(rp.p50, rf.p50)}`,
      target: '— (side by side)',
    });

    // 3. Live: a commit by one store until another store's watch is told (PostgreSQL's
    //    NOTIFY on a listening connection; the file's folder watched).
    const watcherPg = await PgStore.open({ url: server.url });
    const watcherFile = await SqlJsStore.open(path.join(dir, 'airlock.db'));
    stores.push(watcherPg, watcherFile);
    let told: () => void = () => undefined;
    const listen = (store: Store) => {
      let ready: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (ready = resolve));
      let first = true;
      const watch = store.watch(() => {
        if (first) {
          first = false;
          ready();
        } else told();
      });
      return { watch, started };
    };
    const pgWatch = listen(watcherPg);
    await pgWatch.started; // PostgreSQL's watch calls once when it listens
    const fileWatch = watcherFile.watch(() => told());
    let vl = 0;
    let vm = 0;
    const notified = (store: Store, runId: string, v: () => number) => async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const heard = new Promise<void>((resolve) => (told = resolve));
      const t = now();
      store.commit(runOps(runId, v(), 'running', 2));
      await heard;
      return now() - t;
    };
    const live = await interleave(
      cycles(200, 30),
      10,
      notified(pg, 'run_live_pg', () => ++vl),
      notified(file, 'run_live_file', () => ++vm),
    );
    pgWatch.watch.close();
    fileWatch.close();
    const lp = stats(live.a);
    const lf = stats(live.b);
    addRow({
      measure:
        "team mode: a commit until another store's watch is told (a window, `pending --watch`)",
      airlock: `PostgreSQL LISTEN/NOTIFY ${fmt(lp)}`,
      peer: `sql.js file, its folder watched ${fmt(lf)}`,
      ratio: `p50 ${ratio(lp.p50, lf.p50)}`,
      target: 'a fraction of a second',
    });

    // 4. The library's pause→resume cycle (a gated tool, no model) through each store.
    const cyc = await interleave(
      cycles(200, 30),
      20,
      () => cycle(pg),
      () => cycle(file),
    );
    const yp = stats(cyc.a);
    const yf = stats(cyc.b);
    addRow({
      measure:
        'team mode: pause→resume cycle of a gated tool (runTool, no model) through each store',
      airlock: `PostgreSQL ${fmt(yp)}`,
      peer: `sql.js file ${fmt(yf)}`,
      ratio: `p50 ${ratio(yp.p50, yf.p50)}`,
      target: '— (side by side)',
    });
  } finally {
    for (const s of stores) s.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
