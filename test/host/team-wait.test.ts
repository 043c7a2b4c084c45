// Team mode's CI flow (issue 17): `airlock run` exits 3 at a gate, `airlock wait RUN` blocks, and
// decisions made elsewhere (other folders' CLIs standing in for other machines; two of them
// racing for one gate) are recorded for the waiter, which continues the run in its own
// workspace, exactly once per decision, and exits with the run's code. On PostgreSQL too
// (test/postgres/team-wait.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Resume } from '../../host/protocol/rpc.js';
import { CLI, cleanEnv, runProcess, SAMPLE, type Json } from '../support/cli-process.js';
import { hostProcess, initialize, scriptedOptions } from '../support/host-client.js';
import { onCleanup, openStore, storeLocation, tempDir } from '../support/scratch.js';
import { until } from '../support/until.js';

/**
 * The CI job's side: a checkout of the sample, a database, and `airlock run` (the demo model)
 * stopped at its first gate (exit 3). `airlock(cwd, ...args)` runs the CLI on that database.
 */
async function ciJobAtGate() {
  const ci = path.join(tempDir('ci'), 'repo');
  fs.cpSync(SAMPLE, ci, { recursive: true });
  const dbFile = path.join(tempDir('db'), 'airlock.db');
  const db = await storeLocation(dbFile);
  const env = cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') });
  const airlock = (cwd: string, ...args: string[]) =>
    runProcess(process.execPath, [CLI, ...args, '--db', db], { cwd, env });
  const started = await airlock(ci, 'run', 'fix the greeting', '--model', 'demo', '--json');
  assert.equal(started.code, 3, started.stderr);
  const runId = String((JSON.parse(started.stdout.trim().split('\n').at(-1)!) as Json).run_id);
  return { ci, dbFile, db, env, airlock, runId };
}

void describe('airlock wait: a CI job and two developers', () => {
  void it('the run goes on where it waits, once per decision, and wait exits with its code', async () => {
    // The CI job: the agent stops at its first gate.
    const { ci, dbFile, db, env, airlock, runId } = await ciJobAtGate();

    const waiter = spawn(process.execPath, [CLI, 'wait', runId, '--db', db], {
      cwd: ci,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => waiter.kill('SIGKILL'));
    const exited = once(waiter, 'exit');
    let out = '';
    waiter.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    waiter.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const store = await openStore(dbFile);
    await until(`the waiter is registered (${out})`, () =>
      store.claims(runId).some((c) => c.id.startsWith('wait:')),
    );
    const gate = store.pending(runId)[0]!;
    assert.equal(gate.kind, 'approval');

    // Two developers, elsewhere (their own folders), approve the same gate at once.
    const dana = tempDir('dana');
    const lee = tempDir('lee');
    const [a, b] = await Promise.all([
      airlock(dana, 'resume', runId, '--approve', gate.id, '--approver', 'Dana'),
      airlock(lee, 'resume', runId, '--approve', gate.id, '--approver', 'Lee'),
    ]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(
      codes,
      [0, 4],
      `one recorded, one told it was decided: ${a.stdout}${a.stderr}${b.stdout}${b.stderr}`,
    );
    const winner = a.code === 0 ? 'Dana' : 'Lee';
    assert.match((a.code === 0 ? a : b).stdout, /goes on where `airlock wait` waits on it/);
    assert.match((a.code === 0 ? b : a).stderr, /already decided/);
    // Nothing ran in the deciders' folders: the edit lands in the CI job's workspace.
    await until(`the waiter applied the edit (${out})`, () =>
      fs.readFileSync(path.join(ci, 'src/greet.js'), 'utf8').includes("'Hello, '"),
    );
    assert.deepEqual(fs.readdirSync(dana), []);
    assert.deepEqual(fs.readdirSync(lee), []);

    // The agent's question, answered by the other developer; then its delete, approved.
    const question = await until('the question', () =>
      store.pending(runId).find((p) => p.kind === 'interaction'),
    );
    const answered = await airlock(lee, 'resume', runId, '--answer', question.id, '"Friendly"');
    assert.equal(answered.code, 0, answered.stdout + answered.stderr);
    const del = await until('the delete gate', () =>
      store.pending(runId).find((p) => p.kind === 'approval' && p.id !== gate.id),
    );
    const approved = await airlock(
      dana,
      'resume',
      runId,
      '--approve',
      del.id,
      '--approver',
      'Dana',
    );
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);

    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, out);
    assert.match(out, /Waiting for a decision on run/);
    assert.match(out, /ended: completed/);
    assert.equal(fs.existsSync(path.join(ci, 'notes/old-todo.md')), false, 'the delete ran in CI');
    // The audit trail says who decided each gate; the edit ran once.
    const decisions = store
      .events(runId)
      .map((e) => e.event)
      .filter((e) => e.type === 'tool_result' || e.type === 'approval_decision');
    const results = decisions.filter((e) => e.type === 'tool_result' && e.tool === 'edit_file');
    assert.equal(results.length, 1, 'the edit ran once');
    const who = new Map(
      store.decisions(runId).map((d) => [d.id, (d.resolution as Json).approver_id]),
    );
    assert.equal(who.get(gate.id), winner, 'the first decision, with its approver');
    assert.equal(who.get(del.id), 'Dana');
    assert.deepEqual(store.deferred(runId), [], 'applied decisions are not kept');
  });

  void it('a window of another folder never continues the run itself; with a waiter its approval is recorded for it', async () => {
    const { ci, dbFile, db, env, runId } = await ciJobAtGate();
    const store = await openStore(dbFile);
    const gate = store.pending(runId)[0]!;

    // Dana's window, on her own checkout, sees the CI run's card (one database).
    const dana = path.join(tempDir('dana'), 'repo');
    fs.cpSync(SAMPLE, dana, { recursive: true });
    const window = hostProcess();
    await initialize(window.client, scriptedOptions(dana, db, 'http://127.0.0.1:9/v1'));
    const approve = (value: unknown = { approved: true, approver_id: 'Dana' }) =>
      window.client.connection.sendRequest(Resume.type, {
        run_id: runId,
        resume: { [gate.id]: value },
      });
    await assert.rejects(approve(), /works in .*, not in this folder: continue it there/);
    assert.equal(store.pending(runId).length, 1, 'nothing was decided');

    const waiter = spawn(process.execPath, [CLI, 'wait', runId, '--db', db], {
      cwd: ci,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => waiter.kill('SIGKILL'));
    let out = '';
    waiter.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    waiter.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await until(`the waiter is registered (${out})`, () =>
      store.claims(runId).some((c) => c.id.startsWith('wait:')),
    );
    await assert.rejects(approve({ type: 'approve' }), /The resolution for .* is invalid/);
    await approve();
    await until(`the waiter applied Dana's approval in CI's checkout (${out})`, () =>
      fs.readFileSync(path.join(ci, 'src/greet.js'), 'utf8').includes("'Hello, '"),
    );
    assert.match(fs.readFileSync(path.join(dana, 'src/greet.js'), 'utf8'), /'Helo, '/);
    assert.equal(
      (store.decisions(runId).find((d) => d.id === gate.id)?.resolution as Json).approver_id,
      'Dana',
    );
  });

  void it('a run started on another machine goes on only there, even in a folder of the same path', async () => {
    const { ci, dbFile, db, env, runId } = await ciJobAtGate();
    const store = await openStore(dbFile);
    const { row, state } = store.getRun(runId)!;
    assert.equal((state as { labels: Json }).labels.started_on, os.hostname(), 'recorded at start');
    // As if the CI job that started it ran on another machine (with the same checkout path).
    const moved = {
      ...(state as Json),
      labels: { ...(state as { labels: Json }).labels, started_on: 'ci-runner-7' },
    };
    assert.deepEqual(
      store.commit([
        {
          op: 'putRun',
          row: { ...row, version: row.version + 1 },
          expect_version: row.version,
          state: moved,
        },
      ]),
      { ok: true },
    );
    const gate = store.pending(runId)[0]!;

    const cli = await runProcess(
      process.execPath,
      [CLI, 'resume', runId, '--approve', gate.id, '--db', db],
      { cwd: ci, env },
    );
    assert.equal(cli.code, 2, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /runs on ci-runner-7: continue it there/);
    const window = hostProcess();
    await initialize(window.client, scriptedOptions(ci, db, 'http://127.0.0.1:9/v1'));
    await assert.rejects(
      window.client.connection.sendRequest(Resume.type, {
        run_id: runId,
        resume: { [gate.id]: true },
      }),
      /on ci-runner-7, not in this folder/,
    );
    assert.match(
      fs.readFileSync(path.join(ci, 'src/greet.js'), 'utf8'),
      /'Helo, '/,
      'nothing ran here',
    );
    assert.equal(store.pending(runId).length, 1);
  });

  void it('--timeout ends the wait with 3 while the run still waits; an unknown run is a usage error', async () => {
    const { ci, dbFile, airlock: cli, runId } = await ciJobAtGate();
    const airlock = (...args: string[]) => cli(ci, ...args);
    const timedOut = await airlock('wait', runId, '--timeout', '1');
    assert.equal(timedOut.code, 3, timedOut.stderr);
    assert.match(timedOut.stdout, /Gave up waiting \(--timeout\); the run is still paused\./);
    // A run whose process died mid-step is not continued behind the developer's back.
    const store = await openStore(dbFile);
    const row = store.getRun(runId)!;
    const version = row.row.version;
    assert.deepEqual(
      store.commit([
        {
          op: 'putRun',
          row: {
            ...row.row,
            status: 'running',
            owner: `${os.hostname()}:999999999`,
            version: version + 1,
          },
          expect_version: version,
          state: row.state,
        },
      ]),
      { ok: true },
    );
    const interrupted = await airlock('wait', runId);
    assert.equal(interrupted.code, 1);
    assert.match(interrupted.stderr, /was interrupted .* continue it with `airlock resume/);
    const tooLong = await airlock('wait', runId, '--timeout', String(8 * 86_400));
    assert.equal(tooLong.code, 2);
    assert.match(tooLong.stderr, /--timeout takes a number of seconds above 0 and up to 604800/);
    const unknown = await airlock('wait', 'run_nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No run run_nope/);
  });
});
