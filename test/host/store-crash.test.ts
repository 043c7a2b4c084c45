// Crash safety (SPEC §6): `kill -9` of a process at any instant loses no acknowledged event,
// decision or claim; a decision's handler runs again only when a crash cut the earlier run off;
// every run is left finished, paused or `interrupted`, and resumes to the end.
//
// A worker process (test/host/workers/store-worker.ts) starts agent runs against a scripted
// OpenAI-compatible server in this process — each run calls a gated `ship` tool and a gated
// write_file — and resumes every paused or interrupted run, printing each event it received
// (events are committed before they are yielded). This process kills it with SIGKILL: at the
// store's fault points (AIRLOCK_FAULT: a torn journal write, right after an append, just before
// and just after a snapshot), at a random moment while the model streams, at a random moment
// after a resume's claim was committed (before, during or after the handler), and at a random
// moment. After every kill a fresh store opened here checks the invariants; at the end a worker
// without faults finishes every run and the final state is checked.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ScriptedModelServer, type Reply } from '../../host/model/scripted-server.js';
import { SqlJsStore, type RunEvent } from '../../host/runtime/index.js';
import type { StandingRule } from '../../host/runtime/policy.js';
import { random, Worker } from './workers/harness.js';
import { drain, resumeOpenRuns, shipperAgent } from './workers/shipper.js';
import type { DriveConfig, WorkerLine } from './workers/store-worker.js';
import { onCleanup, tempDir } from '../support/scratch.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** What the run for `tag` writes with write_file. */
function contentOf(tag: string): string {
  return `shipped ${tag}\n`.repeat(3);
}

type Message = { role: string; content?: unknown };

/**
 * The model: for `ship <tag>`, one turn calling both gated tools, streamed slowly enough to be
 * killed mid-stream; once the tool results are in, a streamed final answer.
 */
function reply(messages: Message[], reasked: string[]): Reply {
  const prompt = messages.find((m) => m.role === 'user')?.content;
  const tag = String(prompt).replace(/^ship /, '');
  // A resumed run must go on from its last durable step: once the model's answer is stored,
  // the model is never asked again (it would see its own answer as the last message).
  if (messages.at(-1)?.role === 'assistant') reasked.push(tag);
  if (messages.at(-1)?.role === 'tool') {
    return { text: `done ${tag}`, chunkSize: 2, chunkDelayMs: 3 };
  }
  return {
    toolCalls: [
      { id: `ship_${tag}`, name: 'ship', arguments: { item: tag } },
      {
        id: `write_${tag}`,
        name: 'write_file',
        arguments: { path: `out/${tag}.txt`, content: contentOf(tag) },
      },
    ],
    chunkSize: 10,
    chunkDelayMs: 3,
  };
}

type Kind =
  | 'journal-torn'
  | 'after-append'
  | 'snapshot-before'
  | 'snapshot-after'
  | 'stream'
  | 'claim'
  | 'random';

const KINDS: Kind[] = [
  'journal-torn',
  'after-append',
  'snapshot-before',
  'snapshot-after',
  'stream',
  'claim',
  'random',
];

/** How many times a worker reaches a fault point at most, roughly: n is drawn below this. */
const FAULT_HITS: Partial<Record<Kind, number>> = {
  'journal-torn': 10,
  'after-append': 10,
  'snapshot-before': 3,
  'snapshot-after': 3,
};

/** Everything the workers acknowledged, across all of them. */
class Ledger {
  readonly events: RunEvent[] = [];
  readonly claimed: { run_id: string; ids: string[]; pid: number }[] = [];
  /** Workers killed by this test, and the tool results each acknowledged ("run call"). */
  readonly killed = new Set<number>();
  readonly results = new Map<number, Set<string>>();

  add(pid: number, lines: WorkerLine[]): void {
    for (const line of lines) {
      if ('ack' in line) this.event(pid, line.ack);
      if ('claimed' in line) this.claimed.push({ ...line.claimed, pid });
    }
  }

  event(pid: number, e: RunEvent): void {
    // A resume that lost a claim race commits nothing; none are expected here anyway.
    if (e.type === 'output' && e.status.reason === 'approval_already_claimed') return;
    this.events.push(e);
    if (e.type !== 'tool_result') return;
    const results = this.results.get(pid) ?? new Set<string>();
    results.add(`${e.run_id} ${e.call_id}`);
    this.results.set(pid, results);
  }
}

/** `<approval_id> <pid>` per handler start, in order. */
function handlerStarts(log: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!fs.existsSync(log)) return out;
  for (const line of fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [id, pid] = line.split(' ');
    out.set(id!, [...(out.get(id!) ?? []), Number(pid)]);
  }
  return out;
}

interface Paths {
  db: string;
  workspace: string;
  log: string;
  effects: string;
}

/** A run's stored events, one line each, for failure messages. */
function trace(store: SqlJsStore, runId: string): string {
  return store
    .events(runId)
    .map((e) => `  ${e.segment_id} ${JSON.stringify(e.event).slice(0, 200)}`)
    .join('\n');
}

/** What the kills left behind, summed over every check: evidence the paths were exercised. */
const seen = { tornTails: 0, interrupted: 0, paused: 0, reruns: 0 };

/** The invariants, checked by a fresh store in this process (it recovers what the kill left). */
async function check(paths: Paths, ledger: Ledger, final: boolean): Promise<void> {
  const store = await SqlJsStore.open(paths.db);
  try {
    seen.tornTails += store.warnings.length;
    for (const warning of store.warnings) {
      // The only repair a kill may call for: cutting a write it interrupted.
      assert.match(warning, /cut off by a crash, never acknowledged/);
    }
    // 1. Every acknowledged event is in the database.
    const stored = new Map<string, Set<string>>();
    const storedOf = (runId: string) => {
      let set = stored.get(runId);
      if (!set) {
        set = new Set(store.events(runId).map((e) => JSON.stringify(e.event)));
        stored.set(runId, set);
      }
      return set;
    };
    for (const event of ledger.events) {
      assert.ok(
        storedOf(event.run_id).has(JSON.stringify(event)),
        `an acknowledged ${event.type} event of ${event.run_id} is missing: ${JSON.stringify(event)}`,
      );
    }
    // 2. Every acknowledged claim and decision is there.
    for (const c of ledger.claimed) {
      const claims = new Set(store.claims(c.run_id).map((x) => x.id));
      const decisions = new Set(store.decisions(c.run_id).map((x) => x.id));
      for (const id of c.ids) {
        assert.ok(claims.has(id), `the acknowledged claim on ${id} (${c.run_id}) is missing`);
        assert.ok(decisions.has(id), `the acknowledged decision on ${id} (${c.run_id}) is missing`);
      }
    }
    // 3. Every run is finished, paused (on something pending) or interrupted; none is lost.
    const runs = new Map(store.listRuns().map((r) => [r.run_id, r]));
    for (const event of ledger.events) assert.ok(runs.has(event.run_id), `${event.run_id} is lost`);
    for (const run of runs.values()) {
      const allowed = final ? ['success'] : ['success', 'paused', 'interrupted'];
      assert.ok(
        allowed.includes(run.status),
        `${run.run_id} is ${run.status}: ${run.message}\n${trace(store, run.run_id)}`,
      );
      if (run.status === 'paused') assert.ok(run.pending > 0, `${run.run_id} paused on nothing`);
      if (run.status === 'paused') seen.paused++;
      if (run.status === 'interrupted') seen.interrupted++;
    }
    // 4. A decision's handler ran again only after a kill cut the earlier run off, before the
    //    result was acknowledged.
    const approvals = new Map<string, string>();
    for (const e of ledger.events) {
      if (e.type === 'approval') approvals.set(e.approval_id, `${e.run_id} ${e.call_id}`);
    }
    // And no handler ever started on a decision that was not durably claimed first.
    const claimedInDb = new Set<string>();
    for (const runId of runs.keys()) for (const c of store.claims(runId)) claimedInDb.add(c.id);
    if (final)
      seen.reruns = [...handlerStarts(paths.log).values()].filter((p) => p.length > 1).length;
    for (const [id, pids] of handlerStarts(paths.log)) {
      assert.equal(new Set(pids).size, pids.length, `${id}: a process ran its handler twice`);
      assert.ok(claimedInDb.has(id), `${id}: its handler ran without a durable claim`);
      for (const pid of pids.slice(0, -1)) {
        assert.ok(ledger.killed.has(pid), `${id}: handler ran again after process ${pid} lived on`);
        const call = approvals.get(id);
        assert.ok(
          !call || !ledger.results.get(pid)?.has(call),
          `${id}: handler ran again after its result was acknowledged`,
        );
      }
    }
    if (!final) return;
    // 5. At the end: every run completed with its answer, its file written, its effect done.
    for (const run of runs.values()) {
      const tag = run.run_id.replace(/^run_/, '');
      const out = store
        .events(run.run_id)
        .filter((e) => e.event.type === 'output')
        .at(-1);
      assert.equal(out?.event.output, `done ${tag}`, `${run.run_id} finished with its answer`);
      const file = path.join(paths.workspace, 'out', `${tag}.txt`);
      assert.equal(fs.readFileSync(file, 'utf8'), contentOf(tag), `${run.run_id} wrote its file`);
      const shipGate = store
        .events(run.run_id)
        .map((e) => e.event)
        .find((e) => e.type === 'approval' && e.tool === 'ship');
      const id = String(shipGate?.approval_id);
      assert.ok(handlerStarts(paths.log).has(id), `${run.run_id}: the ship handler ran`);
      assert.equal(fs.readFileSync(path.join(paths.effects, id), 'utf8'), tag);
      assert.deepEqual(store.pending(run.run_id), []);
    }
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------

void describe('kill -9 after each commit of a run', () => {
  void it('resumes from the last durable step: finished with its answer, effects once, the model never asked again after answering', async () => {
    let killedAt = 0;
    for (let n = 1; n <= 24; n++) {
      const dir = tempDir(`commit-${n}`);
      const paths: Paths = {
        db: path.join(dir, 'airlock.db'),
        workspace: path.join(dir, 'ws'),
        log: path.join(dir, 'handler.log'),
        effects: path.join(dir, 'effects'),
      };
      fs.mkdirSync(paths.workspace);
      fs.mkdirSync(paths.effects);
      const reasked: string[] = [];
      const server = await ScriptedModelServer.start((request) =>
        reply(request.messages as Message[], reasked),
      );
      onCleanup(() => server.close());
      const shipper = { baseURL: server.baseURL, ...paths };
      const tag = `c${n}`;
      const worker = new Worker(
        { mode: 'drive', snapshotEvery: 4, ...shipper, start: [tag] },
        { AIRLOCK_FAULT: `after-append:${n}` },
      );
      onCleanup(async () => {
        worker.kill();
        await worker.exited;
      });
      const exit = await worker.exited;
      const ledger = new Ledger();
      ledger.add(worker.pid, worker.lines);
      if (exit.signal !== 'SIGKILL') {
        // The run needs fewer than n commits: every commit point has been covered.
        assert.deepEqual(exit, { code: 0, signal: null }, worker.stderr);
        break;
      }
      killedAt = n;
      ledger.killed.add(worker.pid);
      // Killed inside a commit, holding the lock: the next opener breaks it (its owner is dead).
      assert.ok(fs.existsSync(`${paths.db}.lock`), 'the killed worker left its lock file');
      await check(paths, ledger, false);
      // Resumed here, in this process, as `airlock resume` would.
      const store = await SqlJsStore.open(paths.db);
      try {
        await resumeOpenRuns(store, shipperAgent(shipper, store), (stream) =>
          drain(stream, (e) => ledger.event(process.pid, e)),
        );
      } finally {
        store.close();
      }
      await check(paths, ledger, true);
      assert.deepEqual(reasked, [], `killed after commit ${n}: the model was asked again`);
      const starts = [...handlerStarts(paths.log).values()];
      assert.equal(starts.length, 1, 'one ship decision');
      assert.ok(starts[0]!.length <= 2, `killed after commit ${n}: ${starts[0]!.length} runs`);
    }
    console.log(`killed after each of the ${killedAt} commits of a run; each resumed to the end`);
    // One commit per step (opening, a model turn's calls and gates, handler results, the end):
    // this script's run takes 6; fewer would mean the fault never fired where it should.
    assert.ok(killedAt >= 6, `a run makes ${killedAt} commits`);
  });
});

void describe('a lock file left by a killed process', () => {
  async function opensDespite(lock: (file: string) => void): Promise<void> {
    const file = path.join(tempDir('lock'), 'airlock.db');
    const store = await SqlJsStore.open(file);
    const rule: StandingRule = {
      rule_id: 'rule_1',
      workspace: 'w',
      run_id: null,
      tool: 't',
      action: 'allow',
      cover: 'tool',
      created_by: null,
      created_at: 'x',
      approval_id: null,
    };
    store.commit([{ op: 'addRule', rule }]);
    store.close();
    lock(`${file}.lock`);
    // Waiting on the lock would time out and throw; the stale lock is broken instead.
    const again = await SqlJsStore.open(file);
    assert.deepEqual(again.rules('w'), [rule]);
    again.close();
    assert.ok(!fs.existsSync(`${file}.lock`), 'the stale lock is gone');
  }

  void it('a lock naming a process that is gone does not block the database', async () => {
    await opensDespite((lock) => fs.writeFileSync(lock, `${os.hostname()}:4194399:1`));
  });

  void it('an empty lock (killed between creating it and writing its pid) does not block it forever', async () => {
    await opensDespite((lock) => {
      fs.writeFileSync(lock, '');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
    });
  });
});

void describe('kill -9 at any instant', () => {
  void it('loses no acknowledged record, never runs a decision twice, and every run resumes to the end', async () => {
    const seed = Number(process.env.AIRLOCK_CRASH_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    console.log(`crash test seed ${seed} (AIRLOCK_CRASH_SEED replays it)`);
    Object.assign(seen, { tornTails: 0, interrupted: 0, paused: 0, reruns: 0 });
    const dir = tempDir('run');
    const paths: Paths = {
      db: path.join(dir, 'db', 'airlock.db'),
      workspace: path.join(dir, 'ws'),
      log: path.join(dir, 'handler.log'),
      effects: path.join(dir, 'effects'),
    };
    fs.mkdirSync(paths.workspace);
    fs.mkdirSync(paths.effects);

    let onRequest: (() => void) | null = null;
    const reasked: string[] = [];
    const server = await ScriptedModelServer.start((request) => {
      onRequest?.();
      return reply(request.messages as Message[], reasked);
    });
    onCleanup(() => server.close());

    const config = (start: string[]): DriveConfig => ({
      mode: 'drive',
      db: paths.db,
      snapshotEvery: 3,
      baseURL: server.baseURL,
      workspace: paths.workspace,
      log: paths.log,
      effects: paths.effects,
      start,
    });

    const ledger = new Ledger();
    const TARGET = Number(process.env.AIRLOCK_CRASH_KILLS ?? 35);
    const MAX_WORKERS = 90;
    const byKind = new Map<Kind, number>();
    let kills = 0;
    let workers = 0;
    for (let i = 0; kills < TARGET && i < MAX_WORKERS; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const hits = FAULT_HITS[kind];
      const env: Record<string, string> = hits
        ? { AIRLOCK_FAULT: `${kind}:${1 + Math.floor(rand() * hits)}` }
        : {};
      const worker = new Worker(config([`t${i}`]), env);
      onCleanup(async () => {
        worker.kill();
        await worker.exited;
      });
      workers++;
      const timers: NodeJS.Timeout[] = [];
      const killAfter = (ms: number) => timers.push(setTimeout(() => worker.kill(), ms));
      if (kind === 'stream') {
        // During the first or second model response this worker asks for.
        let requests = 0;
        const at = 1 + Math.floor(rand() * 2);
        const delay = rand() * 60;
        onRequest = () => {
          if (++requests === at) killAfter(delay);
        };
      } else if (kind === 'claim') {
        // After a resume's claim is durable: before, during or after its handlers.
        const delay = rand() * 20;
        worker.onLine((line) => {
          if ('claimed' in line && !timers.length) killAfter(delay);
        });
      } else if (kind === 'random') {
        const delay = rand() * 500;
        void worker.waitFor((line) => 'ready' in line).then(() => killAfter(delay));
      }
      const exit = await worker.exited;
      onRequest = null;
      for (const t of timers) clearTimeout(t);
      ledger.add(worker.pid, worker.lines);
      if (exit.signal === 'SIGKILL') {
        kills++;
        ledger.killed.add(worker.pid);
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      } else {
        assert.equal(exit.code, 0, `worker ${i} (${kind}) failed: ${worker.stderr}`);
        assert.ok(worker.lines.some((l) => 'done' in l));
      }
      await check(paths, ledger, false);
    }

    // No faults: every paused or interrupted run is resumed to the end.
    const last = new Worker(config([]));
    onCleanup(async () => {
      last.kill();
      await last.exited;
    });
    const exit = await last.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, last.stderr);
    ledger.add(last.pid, last.lines);
    await check(paths, ledger, true);

    const store = await SqlJsStore.open(paths.db);
    const finished = store.listRuns().length;
    store.close();
    const kinds = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(
      `survived ${kills} kills (${kinds}) in ${workers} workers, seed ${seed}; ${finished} runs resumed to the end`,
    );
    console.log(
      `after the kills: ${seen.tornTails} torn journal tails cut, ${seen.interrupted} interrupted and ${seen.paused} paused run states seen by the checks; ${seen.reruns} ship handlers re-run after a kill cut them off; ${ledger.events.length} acknowledged events checked`,
    );
    assert.deepEqual(reasked, [], 'no run asked the model again after its answer was stored');
    assert.ok(kills >= TARGET, `only ${kills} of ${workers} workers were killed`);
    assert.ok(finished >= TARGET / 2, `${finished} runs`);
  });
});
