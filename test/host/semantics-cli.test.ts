// Issue 13 through the `airlock` CLI (real `node dist/cli.js` processes, built by
// `node esbuild.mjs`): a typo'd --override is refused before anything runs, and a run whose
// process died reads `interrupted` in `show --json` (its row and its output event) and in `runs`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ScriptedModelServer, type ScriptFn } from '../../host/model/scripted-server.js';
import {
  CLI,
  outputOf,
  runProcess,
  SAMPLE,
  sandboxEnv,
  type Json,
  type Result,
} from '../support/cli-process.js';
import { onCleanup, tempDir } from '../support/scratch.js';

interface Box {
  ws: string;
  db: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[]): Promise<Result>;
}

async function sandbox(script: ScriptFn): Promise<Box> {
  const server = await ScriptedModelServer.start(script);
  onCleanup(() => server.close());
  const dir = tempDir('cli');
  const ws = path.join(dir, 'ws');
  fs.cpSync(SAMPLE, ws, { recursive: true });
  const db = path.join(dir, 'airlock.db');
  const env = sandboxEnv(dir, {
    OPENAI_BASE_URL: server.baseURL,
    OPENAI_API_KEY: 'x',
  });
  return {
    ws,
    db,
    env,
    cli: (args) => runProcess(process.execPath, [CLI, ...args, '--db', db], { cwd: ws, env }),
  };
}

function json(r: Result): Json {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Json;
}

void describe('airlock resume --override with a key write_file does not take (issue 13.1)', () => {
  void it('exits 2 naming the key and the keys it takes; nothing written or recorded; still pending', async () => {
    const box = await sandbox((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: 'All done.' }
        : {
            toolCalls: [
              {
                id: 'call_1',
                name: 'write_file',
                arguments: { path: 'notes/new.md', content: 'model version\n' },
              },
            ],
          },
    );
    const started = await box.cli(['run', 'create a note', '--model', 'scripted', '--json']);
    assert.equal(started.code, 3, started.stderr);
    const out = outputOf(started);
    const runId = out.run_id as string;
    const id = out.pending[0]!;

    const bad = await box.cli([
      'resume',
      runId,
      '--approve',
      id,
      '--override',
      '{"contnt":"human version\\n"}',
      '--json',
    ]);
    assert.equal(bad.code, 2, `${bad.stdout}\n${bad.stderr}`);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /"contnt"/);
    assert.match(bad.stderr, /write_file takes "path", "content"/);
    assert.match(bad.stderr, /still pending/);
    assert.ok(!fs.existsSync(path.join(box.ws, 'notes/new.md')), 'nothing written');
    const trace = json(await box.cli(['show', runId, '--json'])) as {
      segments: Json[];
      decisions: Json[];
    };
    assert.equal(trace.segments.length, 1, 'no resume segment recorded');
    assert.deepEqual(trace.decisions, [], 'no decision recorded');
    const pending = json(await box.cli(['pending', '--json'])) as { approvals: Json[] };
    assert.deepEqual(
      pending.approvals.map((a) => a.approval_id),
      [id],
    );

    const good = await box.cli([
      'resume',
      runId,
      '--approve',
      id,
      '--override',
      '{"content":"human version\\n"}',
      '--json',
    ]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(fs.readFileSync(path.join(box.ws, 'notes/new.md'), 'utf8'), 'human version\n');
  });
});

void describe('a run whose process died (issue 13.4)', () => {
  void it('reads interrupted in show --json (row and output event), in show and in runs; resume continues it', async () => {
    // The first model call never answers: the CLI is killed while it waits.
    let release: (() => void) | undefined;
    let asked = 0;
    const box = await sandbox(async (request) => {
      asked++;
      if (asked === 1) {
        await new Promise<void>((resolve) => (release = resolve));
        return { text: 'too late' };
      }
      return request.messages.at(-1)?.role === 'user' ? { text: 'Finished after all.' } : {};
    });
    onCleanup(() => release?.());
    const child = spawn(
      process.execPath,
      [CLI, 'run', 'say hi', '--model', 'scripted', '--json', '--db', box.db],
      { cwd: box.ws, env: box.env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = once(child, 'exit');
    // A generous guard against a hung child, not a timing assertion.
    const guard = Date.now() + 60_000;
    while (asked < 1) {
      assert.ok(child.exitCode === null, `the CLI exited early: ${stderr}`);
      assert.ok(Date.now() < guard, `the CLI never called the model: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;

    const runs = JSON.parse((await box.cli(['runs', '--json'])).stdout) as Json[];
    assert.equal(runs.length, 1);
    const runId = runs[0]!.run_id as string;
    assert.equal(runs[0]!.status, 'interrupted');
    assert.equal(runs[0]!.reason, 'interrupted');

    const trace = json(await box.cli(['show', runId, '--json'])) as {
      run: Json;
      output: Json & { status: Json };
    };
    assert.equal(trace.run.status, 'interrupted');
    assert.equal(trace.run.reason, 'interrupted');
    assert.match(String(trace.run.message), new RegExp(`airlock resume ${runId}`));
    assert.equal(trace.output.type, 'output');
    assert.equal(trace.output.run_id, runId);
    assert.equal(trace.output.status.reason, 'interrupted');
    assert.equal(trace.output.status.code, 'error');

    const text = await box.cli(['show', runId]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.split('\n')[0] ?? '', /interrupted \(interrupted\)/);

    const resumed = await box.cli(['resume', runId, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(outputOf(resumed).output, 'Finished after all.');
    const after = json(await box.cli(['show', runId, '--json'])) as {
      run: Json;
      output: Json & { status: Json };
    };
    assert.equal(after.run.status, 'success');
    assert.equal(after.output.status.reason, 'completed');
  });
});
