// Live changes (issue 17): a window's host and `airlock pending --watch` learn of a gate another
// process opens, and of its decision, told by the store (the database folder watched; on
// PostgreSQL, its notifications: test/postgres/pending-watch.test.ts runs this file there).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, cleanEnv, runProcess, SAMPLE } from '../support/cli-process.js';
import { GetPending, Pending } from '../../host/protocol/rpc.js';
import { hostProcess, initialize, scriptedOptions } from '../support/host-client.js';
import { onCleanup, storeLocation, tempDir } from '../support/scratch.js';
import { until } from '../support/until.js';

type Line = Record<string, unknown>;

void describe('a window learns of a gate another process opened', () => {
  void it('the host tells its client (airlock/changed) and lists the gate, with no request of its own', async () => {
    const ws = path.join(tempDir('ws'), 'sample');
    fs.cpSync(SAMPLE, ws, { recursive: true });
    const db = await storeLocation(path.join(tempDir('db'), 'airlock.db'));
    const env = cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') });
    const window = hostProcess();
    await initialize(window.client, scriptedOptions(ws, db, 'http://127.0.0.1:9/v1'));
    const empty = Pending.parse(await window.client.connection.sendRequest(GetPending.type, {}));
    assert.deepEqual(empty.approvals, []);
    const before = window.client.changed;
    const run = await runProcess(
      process.execPath,
      [CLI, 'run', 'fix the greeting', '--model', 'demo', '--db', db],
      { cwd: ws, env },
    );
    assert.equal(run.code, 3, run.stderr);
    await until('airlock/changed from the host', () => window.client.changed > before);
    const pending = Pending.parse(await window.client.connection.sendRequest(GetPending.type, {}));
    assert.equal(pending.approvals.length, 1);
    assert.equal(pending.approvals[0]?.tool, 'edit_file');
  });
});

void describe('airlock pending --watch', () => {
  void it('prints a gate another process opens, then its decision, and ends on Ctrl+C', async () => {
    const ws = path.join(tempDir('ws'), 'sample');
    fs.cpSync(SAMPLE, ws, { recursive: true });
    const db = await storeLocation(path.join(tempDir('db'), 'airlock.db'));
    const env = cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') });
    // The database exists before the watcher opens it (an empty list).
    const first = await runProcess(process.execPath, [CLI, 'pending', '--db', db], {
      cwd: ws,
      env,
    });
    assert.equal(first.code, 0, first.stderr);

    const watcher = spawn(process.execPath, [CLI, 'pending', '--watch', '--json', '--db', db], {
      cwd: ws,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(watcher, 'exit');
    onCleanup(() => watcher.kill('SIGKILL'));
    const lines: Line[] = [];
    let stderr = '';
    let partial = '';
    watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
    });
    watcher.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await until('the list as it stands', () => lines.length >= 1);
    assert.deepEqual(lines[0], {
      approvals: [],
      interactions: [],
      interrupted: [],
      model_error: [],
    });

    const run = await runProcess(
      process.execPath,
      [CLI, 'run', 'fix the greeting', '--model', 'demo', '--db', db],
      { cwd: ws, env },
    );
    assert.equal(run.code, 3, run.stderr);
    const opened = await until(`the gate, as it opened (${stderr})`, () =>
      lines.find((l) => l.type === 'pending'),
    );
    assert.equal(opened.kind, 'approval');
    assert.equal((opened.event as Line).tool, 'edit_file');

    const decided = await runProcess(
      process.execPath,
      [
        CLI,
        'resume',
        String(opened.run_id),
        '--deny',
        String(opened.id),
        '--reason',
        'no',
        '--db',
        db,
      ],
      { cwd: ws, env },
    );
    assert.equal(decided.code, 3, decided.stdout + decided.stderr); // the demo asks a question next
    await until(`the gate, decided (${stderr})`, () =>
      lines.find((l) => l.type === 'resolved' && l.id === opened.id),
    );
    // The demo's next stop (its question) came in too.
    await until('the question that followed', () =>
      lines.find((l) => l.type === 'pending' && l.kind === 'interaction'),
    );

    watcher.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  });
});
