// Several processes on one database (SPEC §6): a claim is exclusive across processes, so of 8
// real processes resuming the same gate at the same moment exactly one runs the handler and the
// other 7 end `approval_already_claimed`; and processes committing at once lose no write.
// Workers are test/host/workers/store-worker.ts, each its own `node` process on the same file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runTool, Tool, type RunEvent } from '../../host/runtime/index.js';
import { Worker } from './workers/harness.js';
import type { WorkerLine } from './workers/store-worker.js';
import { onCleanup, openStore, storeLocation, tempDir } from '../support/scratch.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function spawnWorker(...args: ConstructorParameters<typeof Worker>): Worker {
  const worker = new Worker(...args);
  onCleanup(async () => {
    worker.kill();
    await worker.exited;
  });
  return worker;
}

/** The worker's `ship` tool as this process declares it: the same name, schema and gate. */
const ship = Tool({
  name: 'ship',
  description: 'Ship an order.',
  params: z.object({ item: z.string() }),
  requiresApproval: true,
  handler: () => {
    throw new Error('the gate is decided by the workers, never here');
  },
});

async function allReady(workers: Worker[]): Promise<void> {
  const ready = await Promise.all(workers.map((w) => w.waitFor((l) => 'ready' in l)));
  ready.forEach((line, i) =>
    assert.ok(line, `worker ${i} died before it was ready: ${workers[i]!.stderr}`),
  );
}

async function allExitCleanly(workers: Worker[]): Promise<void> {
  const exits = await Promise.all(workers.map((w) => w.exited));
  exits.forEach((exit, i) =>
    assert.deepEqual(exit, { code: 0, signal: null }, `worker ${i}: ${workers[i]!.stderr}`),
  );
}

/** `<approval_id> <pid>` lines the handlers appended, one per handler start. */
function handlerStarts(log: string): { id: string; pid: number }[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, pid] = line.split(' ');
      return { id: id!, pid: Number(pid) };
    });
}

function acked(lines: WorkerLine[]): RunEvent[] {
  return lines.flatMap((l) => ('ack' in l ? [l.ack] : []));
}

// ---------------------------------------------------------------------------------------------

void describe('processes racing on one database', () => {
  void it('8 processes resume the same gate at once, 5 rounds: exactly one runs the handler, 7 end approval_already_claimed', async () => {
    const dir = tempDir('gate');
    const db = path.join(dir, 'airlock.db');
    const log = path.join(dir, 'handler.log');
    const goDir = path.join(dir, 'go');
    fs.mkdirSync(goDir);
    // One paused run per round, each on its own gate.
    const setup = await openStore(db);
    const rounds: { runId: string; approvalId: string }[] = [];
    for (let r = 0; r < 5; r++) {
      const out = await runTool(ship, { store: setup, input: { item: `order-${r}` } }).collect();
      assert.equal(out.status.reason, 'approval_required');
      rounds.push({ runId: out.run_id, approvalId: out.pending[0]! });
    }
    setup.close();

    const location = await storeLocation(db);
    const workers = Array.from({ length: 8 }, () =>
      spawnWorker({ mode: 'race', db: location, log, goDir, rounds }),
    );
    await allReady(workers);
    for (const [r, { runId, approvalId }] of rounds.entries()) {
      // Every worker polls for this file: they all start resuming within a few milliseconds.
      fs.writeFileSync(path.join(goDir, `go-${r}`), '');
      const results = await Promise.all(
        workers.map((w) => w.waitFor((l) => 'round' in l && l.round === r)),
      );
      const reasons = results.map((line, i) => {
        assert.ok(line && 'round' in line, `worker ${i} died in round ${r}: ${workers[i]!.stderr}`);
        return line.reason;
      });
      const winners = workers.filter((_, i) => reasons[i] === 'completed');
      assert.equal(winners.length, 1, `round ${r}: one winner, got ${reasons.join(', ')}`);
      assert.equal(
        reasons.filter((reason) => reason === 'approval_already_claimed').length,
        7,
        `round ${r}: ${reasons.join(', ')}`,
      );
      const starts = handlerStarts(log).filter((s) => s.id === approvalId);
      assert.deepEqual(starts, [{ id: approvalId, pid: winners[0]!.pid }], 'one handler run');

      // What the database says, read by a fresh process-side store.
      const fresh = await openStore(db);
      assert.deepEqual(fresh.warnings, []);
      assert.equal(fresh.getRun(runId)?.row.status, 'success');
      const claims = fresh.claims(runId);
      assert.equal(claims.length, 1);
      assert.equal(claims[0]!.owner.split(':')[1], String(winners[0]!.pid));
      assert.deepEqual(
        fresh.decisions(runId).map((d) => d.id),
        [approvalId],
      );
      const results_ = fresh.events(runId).filter((e) => e.event.type === 'tool_result');
      assert.equal(results_.length, 1, 'one tool result');
      assert.equal(fresh.segments(runId).length, 2, 'the start and the one resume that ran');
      fresh.close();
    }
    await allExitCleanly(workers);
    assert.equal(handlerStarts(log).length, rounds.length, 'one handler run per gate in total');
  });

  void it('4 processes committing at once, 10 runs each, snapshots in between: no write lost', async () => {
    const dir = tempDir('commit');
    const db = path.join(dir, 'airlock.db');
    const go = path.join(dir, 'go');
    (await openStore(db)).close(); // the database exists before they race
    const location = await storeLocation(db);
    const workers = Array.from({ length: 4 }, (_, i) =>
      spawnWorker({
        mode: 'commit',
        db: location,
        snapshotEvery: 7,
        go,
        prefix: `w${i}`,
        count: 10,
      }),
    );
    await allReady(workers);
    fs.writeFileSync(go, '');
    await allExitCleanly(workers);

    const fresh = await openStore(db);
    assert.deepEqual(fresh.warnings, []);
    const runs = fresh.listRuns();
    assert.equal(runs.length, 40, 'all 40 runs are there');
    for (const [i, worker] of workers.entries()) {
      const events = acked(worker.lines);
      for (let n = 0; n < 10; n++) {
        const runId = `w${i}_${n}`;
        const run = runs.find((r) => r.run_id === runId);
        assert.equal(run?.status, 'success', runId);
        const mine = events.filter((e) => e.run_id === runId).map((e) => JSON.stringify(e));
        assert.equal(mine.length, 3, `${runId}: start, tool_result and output were acknowledged`);
        assert.deepEqual(
          fresh.events(runId).map((e) => JSON.stringify(e.event)),
          mine,
          `${runId}: every acknowledged event is stored, in order`,
        );
      }
    }
  });
});
