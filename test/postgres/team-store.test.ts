// Team mode's store on a real PostgreSQL server (issue 17): its schema and the errors for one it
// cannot read, live changes through LISTEN/NOTIFY (also after the connection drops), and faults:
// a client killed while it holds uncommitted claims, the server crashing in the middle of a run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import '../support/use-postgres.js';
import { Agent, runTool, Tool } from '../../host/runtime/index.js';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import { ScriptedModelServer } from '../../host/model/scripted-server.js';
import { PgBackend } from '../../host/store/pg-backend.js';
import { PgStore } from '../../host/store/pg-store.js';
import { selfOwner } from '../../host/store/file-lock.js';
import { CLI, cleanEnv, runProcess } from '../support/cli-process.js';
import { postgresLocation } from '../support/postgres.js';
import { onCleanup, tempDir } from '../support/scratch.js';
import { until } from '../support/until.js';
// @ts-expect-error: a plain .mjs script, typed by its use here
import { startPostgres } from '../../scripts/postgres.mjs';

interface Server {
  url: string;
  stop(): Promise<void>;
  restart(o?: { crash?: boolean }): Promise<void>;
}

/** A raw connection to the schema a location names (search_path in its options). */
async function raw(location: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  onCleanup(() => client.end().catch(() => undefined));
  return client;
}

async function freshLocation(tag: string): Promise<string> {
  return postgresLocation(path.join(tempDir(tag), 'airlock.db'));
}

async function open(location: string): Promise<PgStore> {
  const store = await PgStore.open({ url: location });
  onCleanup(() => store.close());
  return store;
}

/** A gated tool whose handler appends a line per run to `log`, as the race tests' workers do. */
function shipTool(log: string) {
  return Tool({
    name: 'ship',
    description: 'Ship an order.',
    params: z.object({ item: z.string() }),
    requiresApproval: true,
    handler: ({ item }) => {
      fs.appendFileSync(log, `${item} ${process.pid}\n`);
      return `shipped ${item}`;
    },
  });
}

void describe('team mode: the schema on PostgreSQL', () => {
  void it('creates its tables once however many processes open an empty database at once', async () => {
    const location = await freshLocation('schema');
    const backends = Array.from({ length: 8 }, () => new PgBackend({ url: location }, selfOwner));
    onCleanup(() => Promise.all(backends.map((b) => b.close())));
    const found = await Promise.all(backends.map((b) => b.open()));
    assert.equal(found.filter((v) => v === 0).length, 1, 'one of them created the tables');
    const client = await raw(location);
    const version = await client.query(
      "SELECT value FROM airlock_meta WHERE key = 'schema_version'",
    );
    assert.deepEqual(version.rows, [{ value: '1' }]);
  });

  void it('refuses a newer schema and tables that are not Airlock’s, changing nothing', async () => {
    const location = await freshLocation('newer');
    const store = await open(location);
    const row = {
      run_id: 'run_kept',
      agent: 'a',
      workspace: null,
      prompt: null,
      status: 'paused' as const,
      reason: 'approval_required',
      message: '',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      owner: null,
      version: 1,
      nested_in: null,
    };
    assert.deepEqual(
      store.commit([{ op: 'putRun', row, expect_version: null, state: { messages: [] } }]),
      { ok: true },
    );
    store.close();
    const client = await raw(location);
    await client.query("UPDATE airlock_meta SET value = '99' WHERE key = 'schema_version'");
    await assert.rejects(
      PgStore.open({ url: location }),
      /written by a newer Airlock \(schema 99; this one reads up to 1\)\. Update Airlock; nothing was changed\./,
    );
    const kept = await client.query('SELECT run_id FROM airlock_runs');
    assert.deepEqual(kept.rows, [{ run_id: 'run_kept' }]);

    const foreign = await freshLocation('foreign');
    const other = await raw(foreign);
    await other.query('CREATE TABLE airlock_runs (id int)');
    await assert.rejects(
      PgStore.open({ url: foreign }),
      /has an airlock_runs table but no airlock_meta: it is not an Airlock database/,
    );
  });

  void it('a server that is not there is an error naming it, without the password', async () => {
    const url = 'postgres://dana:s3cret@127.0.0.1:1/team';
    await assert.rejects(PgStore.open({ url }), (err: Error) => {
      assert.match(
        err.message,
        /Cannot reach PostgreSQL at postgres:\/\/dana@127\.0\.0\.1:1\/team/,
      );
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });
});

void describe('team mode: live changes', () => {
  void it('a window learns of a gate another process opened, and again after its connection dropped', async () => {
    const location = await freshLocation('live');
    const store = await open(location);
    let seen = 0;
    const watch = store.watch(() => seen++);
    onCleanup(() => watch.close());
    await until('the watch listens', () => seen >= 1);

    // Another process (the CLI, on the offline demo model) runs until its first gate.
    const ws = path.join(tempDir('ws'), 'sample');
    fs.cpSync(path.resolve(__dirname, '../../sample-workspace'), ws, { recursive: true });
    const before = seen;
    const run = await runProcess(
      process.execPath,
      [CLI, 'run', 'fix the greeting', '--model', 'demo', '--workspace', ws, '--db', location],
      { cwd: ws, env: cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') }) },
    );
    assert.equal(run.code, 3, run.stderr);
    await until('a notification of the gate', () => seen > before);
    const [gate] = store.pending();
    assert.equal(gate?.kind, 'approval');

    // The server ends the listening session (as a restart or a network cut would).
    const admin = await raw(location);
    const ended = await admin.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert.deepEqual(
      ended.rows.map((r: { ok: boolean }) => r.ok),
      [true],
    );
    const dropped = seen;
    await until('the watch is back (it reads what it missed)', () => seen > dropped);
    const back = seen;
    const resumed = await runProcess(
      process.execPath,
      [CLI, 'resume', gate!.run_id, '--deny', gate!.id, '--reason', 'not now', '--db', location],
      { cwd: ws, env: cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') }) },
    );
    // The demo goes on to its next stop (exit 3) after the denial.
    assert.equal(resumed.code, 3, resumed.stdout + resumed.stderr);
    await until('a notification after the reconnection', () => seen > back);
    assert.equal(
      store.pending().some((p) => p.id === gate!.id),
      false,
      'the decided gate is gone from pending',
    );
  });
});

void describe('team mode: faults', () => {
  void it('a client killed -9 while its claim is uncommitted holds nothing: another resumes the gate, the handler runs once', async () => {
    const location = await freshLocation('kill');
    const log = path.join(tempDir('log'), 'handler.log');
    const store = await open(location);
    const paused = await runTool(shipTool(log), { store, input: { item: 'order-1' } }).collect();
    assert.equal(paused.status.reason, 'approval_required');
    const [approvalId] = paused.pending;

    // A process resuming the gate is killed between inserting its claim and committing it.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
        const { z } = require('zod');
        const { openStore, runTool, Tool } = require('./host/runtime/index.ts');
        (async () => {
          const store = await openStore(process.env.DB);
          const ship = Tool({ name: 'ship', description: 'Ship an order.', params: z.object({ item: z.string() }), requiresApproval: true,
            handler: () => { require('node:fs').appendFileSync(process.env.LOG, 'killed one ran\\n'); return 'no'; } });
          await runTool(ship, { store, runId: process.env.RUN, resume: { [process.env.GATE]: true } }).collect();
        })();
        `,
      ],
      {
        cwd: path.resolve(__dirname, '../..'),
        env: {
          ...process.env,
          DB: location,
          LOG: log,
          RUN: paused.run_id,
          GATE: approvalId,
          AIRLOCK_FAULT: 'pg-claimed:1',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `killed at the fault point (exit ${code}): ${stderr}`);
    assert.deepEqual(store.claims(paused.run_id), [], 'its claim went with its transaction');
    assert.equal(store.pending(paused.run_id).length, 1, 'the gate is still pending');

    const done = await runTool(shipTool(log), {
      store,
      runId: paused.run_id,
      resume: { [approvalId!]: true },
    }).collect();
    assert.equal(done.status.reason, 'completed', done.status.message);
    assert.deepEqual(
      fs.readFileSync(log, 'utf8').trim().split('\n'),
      [`order-1 ${process.pid}`],
      'one handler run, by the second resume',
    );
    assert.equal(store.claims(paused.run_id).length, 1);
  });

  void it('the server crashes mid-run: nothing acknowledged is lost, the run goes on after the restart and a paused one resumes', async () => {
    const server = (await startPostgres()) as Server;
    onCleanup(() => server.stop());
    const location = server.url;
    const log = path.join(tempDir('log'), 'handler.log');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const model = await ScriptedModelServer.start(async (request) => {
      asked++;
      const results = request.messages.filter((m) => m.role === 'tool').length;
      if (request.messages.some((m) => m.role === 'user' && m.content === 'paused one')) {
        return results
          ? { text: 'shipped' }
          : { toolCalls: [{ id: 'p1', name: 'ship', arguments: { item: 'p' } }] };
      }
      if (results === 0) return { toolCalls: [{ id: 'c1', name: 'note', arguments: { n: 1 } }] };
      if (results === 1) {
        await released; // the server crashes and comes back while the model "thinks"
        return { toolCalls: [{ id: 'c2', name: 'note', arguments: { n: 2 } }] };
      }
      return { text: 'Done.' };
    });
    onCleanup(() => model.close());
    const store = await open(location);
    const note = Tool({
      name: 'note',
      description: 'Note a number.',
      params: z.object({ n: z.number() }),
      handler: ({ n }) => `noted ${n}`,
    });
    const agent = new Agent({
      name: 'team',
      model: new OpenAIChatModel({
        model: 'scripted',
        baseURL: model.baseURL,
        apiKey: 'k',
        maxRetries: 0,
      }),
      tools: [note, shipTool(log)],
      store,
      workspace: tempDir('ws'),
    });
    const pausedRun = await agent.run({ prompt: 'paused one' }).collect();
    assert.equal(pausedRun.status.reason, 'approval_required');

    const acked: string[] = [];
    const running = agent.run({ prompt: 'count' }).collect((e) => acked.push(JSON.stringify(e)));
    await until('the model is asked its second question', () => asked >= 3);
    await server.restart({ crash: true });
    release();
    const out = await running;
    assert.equal(out.status.reason, 'completed', out.status.message);
    const stored = store.events(out.run_id).map((e) => JSON.stringify(e.event));
    assert.deepEqual(stored, acked, 'every event the run yielded is stored, in order');
    assert.ok(
      stored.some((e) => e.includes('noted 1')) && stored.some((e) => e.includes('noted 2')),
    );

    const resumed = await agent
      .run({ runId: pausedRun.run_id, resume: { [pausedRun.pending[0]!]: true } })
      .collect();
    assert.equal(resumed.status.reason, 'completed', resumed.status.message);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), [`p ${process.pid}`]);
  });
});
