// The `airlock` CLI end to end: every test spawns real `node dist/cli.js` processes (built by
// `node esbuild.mjs`) in a fresh copy of sample-workspace with its own database. The model is
// either the offline demo or a ScriptedModelServer on loopback running in this test process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CLI,
  jsonLines,
  outputOf,
  runProcess,
  SAMPLE,
  sandboxEnv,
  type Json,
  type Result,
} from '../support/cli-process.js';
import {
  ScriptedModelServer,
  type Script,
  type ScriptedToolCall,
  type ScriptFn,
} from '../../host/model/scripted-server.js';

const SECRET = `sk-${'A1b2C3d4E5'.repeat(3)}`; // sk- followed by 30 alphanumerics

// ---------------------------------------------------------------------------------------------
// Helpers: a sandbox (workspace copy + database + optional scripted model), the CLI as a child
// process, and JSON-lines parsing.

const sandboxes: string[] = [];
after(() => {
  for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
});

class Sandbox {
  readonly dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-cli-')));
  readonly ws = path.join(this.dir, 'ws');
  readonly db = path.join(this.dir, 'airlock.db');
  server: ScriptedModelServer | null = null;

  constructor() {
    sandboxes.push(this.dir);
    fs.cpSync(SAMPLE, this.ws, { recursive: true });
  }

  static async withModel(script: Script): Promise<Sandbox> {
    const box = new Sandbox();
    box.server = await ScriptedModelServer.start(script);
    return box;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const model: Record<string, string> = this.server
      ? { OPENAI_BASE_URL: this.server.baseURL, OPENAI_API_KEY: 'x' }
      : {};
    return sandboxEnv(this.dir, { ...model, ...extra });
  }

  /** `airlock ARGS --db DB` in the workspace, stdin not a terminal. */
  cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
    return runProcess(process.execPath, [CLI, ...args, '--db', this.db], {
      cwd: this.ws,
      env: this.env(extraEnv),
    });
  }

  /** `airlock ARGS` exactly as given (no --db added), in the workspace. */
  cliRaw(args: string[]): Promise<Result> {
    return runProcess(process.execPath, [CLI, ...args], { cwd: this.ws, env: this.env() });
  }

  /** `airlock run PROMPT --json` against the scripted model (or the demo without one). */
  run(prompt: string, extraEnv: Record<string, string> = {}): Promise<Result> {
    const model = this.server ? ['--model', 'scripted'] : ['--model', 'demo'];
    return this.cli(['run', prompt, ...model, '--json'], extraEnv);
  }

  file(rel: string): string | null {
    const p = path.join(this.ws, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
  }

  async pending(): Promise<{ approvals: Json[]; interactions: Json[] }> {
    const r = await this.cli(['pending', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { approvals: Json[]; interactions: Json[] };
  }

  async show(runId: string): Promise<Json & { run: Json; segments: Json[]; decisions: Json[] }> {
    const r = await this.cli(['show', runId, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Json & { run: Json; segments: Json[]; decisions: Json[] };
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}

/** A run paused on exactly one approval: its run id and approval id. */
function pausedOn(r: Result): { runId: string; id: string } {
  assert.equal(r.code, 3, `expected a pause (exit 3)\n${r.stdout}\n${r.stderr}`);
  const out = outputOf(r);
  assert.equal(out.pending.length, 1);
  return { runId: out.run_id as string, id: out.pending[0]! };
}

/** A model that proposes one tool call, then finishes with text once the result comes back. */
function proposeThenFinish(call: ScriptedToolCall, finalText = 'All done.'): ScriptFn {
  return (request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: finalText }
      : { text: 'Proposing a change.', toolCalls: [{ id: 'call_1', ...call }] };
}

const createNote = (content = 'hello from the agent\n'): ScriptedToolCall => ({
  name: 'write_file',
  arguments: { path: 'notes/new.md', content },
});

/** The tool-result messages the model was sent (in every request after the first). */
function toolMessages(server: ScriptedModelServer): string[] {
  return server.requests.flatMap((req) =>
    req.messages.flatMap((m) =>
      m.role === 'tool'
        ? [typeof m.content === 'string' ? m.content : JSON.stringify(m.content)]
        : [],
    ),
  );
}

async function inSandbox(
  script: Script | null,
  body: (box: Sandbox) => Promise<void>,
): Promise<void> {
  const box = script ? await Sandbox.withModel(script) : new Sandbox();
  try {
    await body(box);
  } finally {
    await box.close();
  }
}

// ---------------------------------------------------------------------------------------------

void describe('airlock run --json and pending --json', () => {
  void it('prints one JSON event per line, ends with output, exits 3 when paused', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const r = await box.run('create a note');
      const events = jsonLines(r.stdout);
      assert.equal(events[0]?.type, 'start');
      assert.ok(events.some((e) => e.type === 'approval'));
      const out = outputOf(r);
      assert.deepEqual(out.status, {
        code: 'cancelled',
        reason: 'approval_required',
        message: out.status.message,
      });
      const runIds = new Set(events.map((e) => e.run_id));
      assert.equal(runIds.size, 1, 'every event carries the same run_id');
      const { id } = pausedOn(r);
      assert.equal(box.file('notes/new.md'), null, 'nothing written before approval');

      const pending = await box.pending();
      assert.equal(pending.interactions.length, 0);
      assert.equal(pending.approvals.length, 1);
      const gate = pending.approvals[0] as Json & { input: Json; preview: Json };
      assert.equal(gate.approval_id, id);
      assert.equal(gate.tool, 'write_file');
      assert.deepEqual(gate.input, { path: 'notes/new.md', content: 'hello from the agent\n' });
      assert.equal(gate.preview.kind, 'create');
      assert.match(gate.preview.diff as string, /\+hello from the agent/);
    });
  });
});

void describe('readable transcript', () => {
  void it('without --json prints a transcript and a resume hint that works as printed', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const r = await box.cli(['run', 'create a note', '--model', 'scripted']);
      assert.equal(r.code, 3, r.stderr);
      assert.doesNotMatch(r.stdout, /^\{"type"/m, 'no JSON events without --json');
      assert.match(r.stdout, /Proposing a change\./);
      assert.match(r.stdout, /\+hello from the agent/, 'the diff is shown');
      assert.match(r.stdout, /Paused\. Decide with:/);
      const hint = /airlock (resume \S+ --db \S+ --approve \S+)/.exec(r.stdout);
      assert.ok(hint, `a hint naming the database:\n${r.stdout}`);
      const resumed = await box.cliRaw(hint[1]!.split(' '));
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /■ done/);
      assert.equal(box.file('notes/new.md'), 'hello from the agent\n');
    });
  });
});

void describe('resume from another process', () => {
  void it('approves with comment and approver; one run_id and chained segments', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const r = await box.cli([
        'resume',
        runId,
        '--approve',
        id,
        '--comment',
        'ship it',
        '--approver',
        'alice',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = outputOf(r);
      assert.equal(out.run_id, runId);
      assert.equal(out.status.code, 'success');
      assert.equal(box.file('notes/new.md'), 'hello from the agent\n');

      const trace = await box.show(runId);
      assert.equal(trace.run.status, 'success');
      const decision = trace.decisions.find((d) => d.id === id) as Json & { resolution: Json };
      assert.ok(decision, 'the decision is recorded');
      assert.equal(decision.resolution.approved, true);
      assert.equal(decision.resolution.approver_id, 'alice');
      assert.equal(decision.resolution.comment, 'ship it');
      assert.ok(!Number.isNaN(Date.parse(String(decision.resolution.decided_at))));
      assert.equal(trace.segments.length, 2);
      const [first, second] = trace.segments as [Json, Json];
      assert.equal(first.parent_segment_id, null);
      assert.equal(second.parent_segment_id, first.segment_id);
      assert.ok(trace.segments.every((s) => s.run_id === runId));
    });
  });

  void it('--deny with a reason feeds the reason back to the model', async () => {
    await inSandbox(proposeThenFinish(createNote(), 'Understood.'), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const r = await box.cli([
        'resume',
        runId,
        '--deny',
        id,
        '--reason',
        'notes belong in the wiki',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(box.file('notes/new.md'), null);
      assert.equal(box.server!.requests.length, 2);
      const last = box.server!.requests[1]!.messages.at(-1)!;
      assert.equal(last.role, 'tool');
      assert.match(JSON.stringify(last.content), /notes belong in the wiki/);
    });
  });

  void it('an invalid --override is refused (exit 2), a valid one lands', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const bad = await box.cli(['resume', runId, '--approve', id, '--override', '{"content":42}']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /override_input/);
      assert.match(bad.stderr, /still pending/);
      assert.equal(bad.stdout, '');
      assert.equal(box.file('notes/new.md'), null, 'nothing written');
      assert.equal((await box.show(runId)).segments.length, 1, 'no segment recorded');
      assert.deepEqual(
        (await box.pending()).approvals.map((a) => a.approval_id),
        [id],
      );

      const good = await box.cli([
        'resume',
        runId,
        '--approve',
        id,
        '--override',
        JSON.stringify({ content: 'edited by the developer\n' }),
        '--json',
      ]);
      assert.equal(good.code, 0, good.stderr);
      assert.equal(box.file('notes/new.md'), 'edited by the developer\n');
    });
  });

  void it("--answer settles ask_user with an answer of the developer's own; a non-text answer is refused", async () => {
    const script: ScriptFn = (request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: 'Thanks.' }
        : {
            toolCalls: [
              {
                id: 'call_ask',
                name: 'ask_user',
                arguments: { question: 'Which style?', options: ['Friendly', 'Formal'] },
              },
            ],
          };
    await inSandbox(script, async (box) => {
      const r = await box.run('ask me');
      assert.equal(r.code, 3);
      const out = outputOf(r);
      assert.equal(out.status.reason, 'input_required');
      const pending = await box.pending();
      assert.equal(pending.approvals.length, 0);
      const interaction = pending.interactions[0]!;
      const id = interaction.interaction_id as string;
      assert.match(id, /^int_/);

      const bad = await box.cli(['resume', out.run_id as string, '--answer', id, '42']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /string|text/i, 'a message on stderr about the answer');
      assert.equal(bad.stdout, '');
      assert.equal((await box.pending()).interactions.length, 1, 'still pending');

      const good = await box.cli([
        'resume',
        out.run_id as string,
        '--answer',
        id,
        '"Casual, like the README"',
        '--json',
      ]);
      assert.equal(good.code, 0, good.stderr);
      assert.match(toolMessages(box.server!).join('\n'), /Casual, like the README/);
      assert.equal((await box.pending()).interactions.length, 0);
    });
  });

  void it('--cancel ends the run cancelled (exit 4) and runs no handler', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId } = pausedOn(await box.run('create a note'));
      const r = await box.cli(['resume', runId, '--cancel', 'changed my mind', '--json']);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(outputOf(r).status.reason, 'cancelled');
      assert.equal(box.file('notes/new.md'), null);
      assert.equal(box.server!.requests.length, 1, 'nothing fed back to the model');
      const trace = await box.show(runId);
      assert.equal(trace.run.status, 'cancelled');
      assert.equal(trace.run.reason, 'cancelled');
    });
  });

  void it('unknown ids in --approve are a warning, not a failure', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const r = await box.cli(['resume', runId, '--approve', 'apr_nosuchgate', '--json']);
      assert.equal(r.code, 3, r.stderr);
      const warning = jsonLines(r.stdout).find((e) => e.type === 'warning');
      assert.ok(warning, 'a warning event');
      assert.match(String(warning.message), /apr_nosuchgate/);
      assert.deepEqual(
        (await box.pending()).approvals.map((a) => a.approval_id),
        [id],
      );
    });
  });
});

void describe('exactly once', () => {
  void it('resuming the same approval after it finished exits 4 approval_already_claimed', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      assert.equal((await box.cli(['resume', runId, '--approve', id, '--json'])).code, 0);
      const requests = box.server!.requests.length;
      const again = await box.cli(['resume', runId, '--approve', id, '--json']);
      assert.equal(again.code, 4, again.stderr);
      assert.equal(outputOf(again).status.reason, 'approval_already_claimed');
      assert.equal(box.server!.requests.length, requests, 'nothing ran the second time');
    });
  });

  void it('two resume processes racing on one gate: exactly one applies', async () => {
    await inSandbox(proposeThenFinish(createNote('written once\n')), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const args = ['resume', runId, '--approve', id, '--json'];
      const results = await Promise.all([box.cli(args), box.cli(args)]);
      const winners = results.filter((r) => r.code === 0 || r.code === 3);
      const losers = results.filter((r) => r.code === 4);
      assert.equal(winners.length, 1, results.map((r) => `${r.code} ${r.stderr}`).join('\n'));
      assert.equal(losers.length, 1, results.map((r) => `${r.code} ${r.stderr}`).join('\n'));
      assert.equal(outputOf(losers[0]!).status.reason, 'approval_already_claimed');

      // The handler ran in the winner only, and the model saw its result once.
      const ran = (r: Result) =>
        jsonLines(r.stdout).filter((e) => e.type === 'tool_result' && e.tool === 'write_file');
      assert.equal(ran(winners[0]!).length, 1);
      assert.equal(ran(losers[0]!).length, 0);
      assert.equal(box.file('notes/new.md'), 'written once\n');
      assert.equal(toolMessages(box.server!).length, 1);
      const trace = await box.show(runId);
      assert.equal((trace.claims as Json[]).length, 1);
      const results_ = (trace.events as Json[]).filter((e) => e.type === 'tool_result');
      assert.equal(results_.length, 1, 'one tool_result in the audit trail');
    });
  });
});

void describe('exit codes and errors', () => {
  void it('a 401 from the model exits 1 with a message about the API key, no key leak', async () => {
    const key = `sk-${'Zz9'.repeat(12)}`;
    await inSandbox(
      () => ({ status: 401 }),
      async (box) => {
        const r = await box.run('anything', { OPENAI_API_KEY: key });
        assert.equal(r.code, 1, r.stderr);
        const out = outputOf(r);
        assert.equal(out.status.code, 'error');
        assert.match(String(out.status.message), /API key/);
        assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key), 'the key never printed');

        // The readable transcript says the same.
        const plain = await box.cli(['run', 'anything', '--model', 'scripted'], {
          OPENAI_API_KEY: key,
        });
        assert.equal(plain.code, 1);
        assert.match(plain.stdout + plain.stderr, /API key/);
        assert.ok(!(plain.stdout + plain.stderr).includes(key));
      },
    );
  });

  void it('bad usage exits 2 with the message on stderr', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const cases: [string[], RegExp][] = [
        [['frobnicate'], /Unknown command "frobnicate"/],
        [['resume'], /RUN_ID/],
        [['show'], /RUN_ID/],
        [['resume', 'run_doesnotexist', '--approve', id], /No run run_doesnotexist/],
        [['show', 'run_doesnotexist'], /No run run_doesnotexist/],
        [['resume', runId, '--approve', id, '--override', '{not json'], /--override expects JSON/],
      ];
      for (const [args, message] of cases) {
        const r = await box.cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
        assert.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
      }
      assert.equal(box.file('notes/new.md'), null, 'nothing changed');
      assert.equal((await box.pending()).approvals.length, 1, 'still pending');
    });
  });
});

void describe('redaction', () => {
  void it('a secret in proposed content is *** on every surface but lands in the file', async () => {
    const content = `const key = '${SECRET}';\n`;
    await inSandbox(
      proposeThenFinish({ name: 'write_file', arguments: { path: 'config.js', content } }),
      async (box) => {
        const r = await box.run('add config');
        const { runId, id } = pausedOn(r);
        const lines = r.stdout.split('\n').filter((l) => l.trim());
        for (const line of lines) assert.ok(!line.includes(SECRET), `secret leaked: ${line}`);
        const gate = jsonLines(r.stdout).find((e) => e.type === 'approval') as Json & {
          input: Json;
          preview: Json;
        };
        assert.match(String(gate.input.content), /\*\*\*/);
        assert.match(String(gate.preview.diff), /\*\*\*/);

        const pending = await box.cli(['pending', '--json']);
        assert.ok(!pending.stdout.includes(SECRET), 'pending --json');
        assert.match(pending.stdout, /\*\*\*/);

        const resumed = await box.cli(['resume', runId, '--approve', id, '--json']);
        assert.equal(resumed.code, 0, resumed.stderr);
        for (const line of resumed.stdout.split('\n'))
          assert.ok(!line.includes(SECRET), `secret leaked: ${line}`);

        const show = await box.cli(['show', runId, '--json']);
        assert.ok(!show.stdout.includes(SECRET), 'show --json');
        assert.match(show.stdout, /\*\*\*/);

        assert.equal(box.file('config.js'), content, 'the handler got the real content');
      },
    );
  });
});

void describe('airlock runs', () => {
  void it('--json lists runs with status; without --json a readable table', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const paused = pausedOn(await box.run('create a note'));
      const second = pausedOn(await box.run('another note'));
      assert.equal((await box.cli(['resume', second.runId, '--approve', second.id])).code, 0);

      const r = await box.cli(['runs', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const runs = JSON.parse(r.stdout) as Json[];
      const byId = new Map(runs.map((run) => [run.run_id, run]));
      assert.equal(byId.get(paused.runId)?.status, 'paused');
      assert.equal(byId.get(paused.runId)?.pending, 1);
      assert.equal(byId.get(second.runId)?.status, 'success');

      const table = await box.cli(['runs']);
      assert.equal(table.code, 0, table.stderr);
      const rows = table.stdout.trim().split('\n');
      assert.equal(rows.length, 2);
      const row = (runId: string) => rows.find((l) => l.startsWith(runId)) ?? '';
      assert.match(row(paused.runId), /paused\s+approval_required.*1 pending.*create a note/);
      assert.match(row(second.runId), /success\s+completed.*another note/);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The interactive path: `airlock run` with a terminal asks inline. `script` gives it a pty.

const hasScript = spawnSync('which', ['script']).status === 0;

/** A process on a pseudo-terminal: wait for text, then type. */
class Terminal {
  private text = '';
  private cursor = 0;
  private waiter: (() => void) | null = null;
  private closed = false;
  readonly exited: Promise<number | null>;
  private readonly child;

  constructor(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn('script', ['-qec', command, '/dev/null'], {
      ...opts,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const take = (d: string) => {
      this.text += d;
      this.waiter?.();
    };
    this.child.stdout.setEncoding('utf8').on('data', take);
    this.child.stderr.setEncoding('utf8').on('data', take);
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code) => {
        this.closed = true;
        this.waiter?.();
        resolve(code);
      });
    });
  }

  get transcript(): string {
    return this.text;
  }

  /** Waits until `needle` appears after everything already consumed, then consumes it. */
  async expect(needle: string): Promise<void> {
    await this.expectOne(needle);
  }

  /** Waits until the first of `needles` appears after everything consumed; returns which. */
  async expectOne(...needles: string[]): Promise<string> {
    for (;;) {
      const found = needles
        .map((needle) => ({ needle, at: this.text.indexOf(needle, this.cursor) }))
        .filter((f) => f.at >= 0)
        .sort((a, b) => a.at - b.at)[0];
      if (found) {
        this.cursor = found.at + found.needle.length;
        return found.needle;
      }
      if (this.closed) {
        assert.fail(`exited before printing ${JSON.stringify(needles)}:\n${this.text}`);
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }

  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  /** Ends the input, and stops the process if it is still running (a failed test). */
  close(): void {
    this.child.stdin.end();
    if (!this.closed) this.child.kill();
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

void describe('interactive run on a terminal', () => {
  void it(
    'walks the demo: edit approved, question answered by number, delete denied with a reason',
    { skip: hasScript ? false : 'util-linux `script` is not installed', timeout: 120_000 },
    async () => {
      const box = new Sandbox();
      const command = [process.execPath, CLI, 'run', 'start the demo', '--model', 'demo']
        .concat(['--db', box.db])
        .map(shellQuote)
        .join(' ');
      const term = new Terminal(command, { cwd: box.ws, env: box.env() });
      try {
        await term.expect('Edit src/greet.js?');
        await term.expect('[a]pprove');
        term.type('a\n');
        await term.expect('comment (optional) >');
        term.type('\n');
        await term.expect('Which greeting style');
        await term.expect('2) Formal  or type your own answer >');
        term.type('2\n');
        await term.expect('[a]pprove');
        term.type('d\n');
        await term.expect('reason (the agent reads it) >');
        term.type('keep the old notes\n');
        await term.expect("That's the tour.");
        const code = await term.exited;
        assert.equal(code, 0, term.transcript);
      } finally {
        term.close();
      }
      const out = term.transcript;
      assert.match(box.file('src/greet.js') ?? '', /'Hello, '/);
      assert.ok(box.file('notes/old-todo.md') !== null, 'the delete was denied');
      // The model's own words (not the terminal's echo of what was typed).
      assert.match(out, /You chose "Formal"/);
      assert.match(out, /Your reason: "keep the old notes"/);
      assert.match(out, /■ done/);
      const runId = /▶ run (run_\w+)/.exec(out)?.[1];
      assert.ok(runId, 'the transcript names the run');
      const trace = await box.show(runId);
      assert.equal(trace.run.status, 'success');
      const resolutions = trace.decisions.map((d) => d.resolution);
      // Decided at the terminal: named like --approver's default (git user.name, else the OS user).
      const approver = (resolutions[0] as Json).approver_id;
      assert.ok(typeof approver === 'string' && approver.length > 0, 'the decision names someone');
      assert.deepEqual(resolutions.slice(0, 1), [
        { approved: true, approver_id: approver, decided_at: (resolutions[0] as Json).decided_at },
      ]);
      assert.deepEqual(resolutions[1], { answer: 'Formal' });
      assert.equal((resolutions[2] as Json).approved, false);
      assert.equal((resolutions[2] as Json).reason, 'keep the old notes');
      assert.equal(trace.segments.length, 4, 'one run, resumed three times in one process');
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Hardening (issue #9): redaction patterns, the inline editor, conflicting decisions.

/** Writes the developer's config ($XDG_CONFIG_HOME/airlock/config.json); returns that env. */
function userConfig(box: Sandbox, settings: Json): Record<string, string> {
  const home = path.join(box.dir, 'user-config');
  fs.mkdirSync(path.join(home, 'airlock'), { recursive: true });
  fs.writeFileSync(path.join(home, 'airlock', 'config.json'), JSON.stringify(settings));
  return { XDG_CONFIG_HOME: home };
}

void describe('redaction patterns from the user config', () => {
  void it(
    'one that backtracks catastrophically in a JavaScript RegExp runs in linear time: the run ends',
    // No wall-clock assertion: with a backtracking matcher this run would never end, so the
    // test only has a ceiling.
    { timeout: 180_000 },
    async () => {
      const reply = `${'a'.repeat(20_000)}! and xaaaa`;
      await inSandbox(
        () => ({ text: reply }),
        async (box) => {
          const env = userConfig(box, { redactPatterns: ['(a+)+$', '(a|a)*b'] });
          const prompt = `${'a'.repeat(50_000)}!`;
          const r = await box.run(prompt, env);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(outputOf(r).status.code, 'success');
          assert.ok(r.stdout.includes(prompt), 'the prompt has no match and is shown whole');
          assert.ok(!r.stdout.includes('xaaaa'), 'the match at the end of the reply is masked');
          assert.match(r.stdout, /! and x\*\*\*/);
        },
      );
    },
  );

  void it('one RE2 cannot run is refused: exit 2 naming the pattern and the fix', async () => {
    await inSandbox(
      () => ({ text: 'never asked' }),
      async (box) => {
        const env = userConfig(box, { redactPatterns: ['ok-[0-9]+', String.raw`(['"]).*\1`] });
        const r = await box.run('anything', env);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.ok(r.stderr.includes(JSON.stringify(String.raw`(['"]).*\1`)), r.stderr);
        assert.match(r.stderr, /backreference/);
        assert.match(r.stderr, /rewrite it .* in airlock\.redactPatterns/);
        assert.equal(r.stdout, '');
        assert.equal(box.server!.requests.length, 0, 'the model was never called');
        const runs = await box.cli(['runs', '--json']);
        assert.deepEqual(JSON.parse(runs.stdout), [], 'no run recorded');
      },
    );
  });
});

void describe('edit, then approve, in $EDITOR', () => {
  void it(
    'runs the editor without a shell on a file named after the approval id',
    { skip: hasScript ? false : 'util-linux `script` is not installed', timeout: 120_000 },
    async () => {
      const proposed = 'n;touch PWNED;.md';
      const call = { name: 'write_file', arguments: { path: proposed, content: 'proposed\n' } };
      await inSandbox(proposeThenFinish(call), async (box) => {
        // The editor: records how it was called, then edits the file it was given.
        const log = path.join(box.dir, 'editor-log.json');
        const editor = path.join(box.dir, 'editor.cjs');
        fs.writeFileSync(
          editor,
          `const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const file = args[args.length - 1];
fs.writeFileSync(process.env.EDITOR_LOG, JSON.stringify({
  args,
  before: fs.readFileSync(file, 'utf8'),
  dirMode: fs.statSync(path.dirname(file)).mode & 0o777,
}));
fs.writeFileSync(file, 'edited by the developer\\n');
`,
        );
        const command = [process.execPath, CLI, 'run', 'write it', '--model', 'scripted']
          .concat(['--db', box.db])
          .map(shellQuote)
          .join(' ');
        const env = box.env({
          VISUAL: '',
          EDITOR: `${shellQuote(process.execPath)} ${shellQuote(editor)}`,
          EDITOR_LOG: log,
        });
        const term = new Terminal(command, { cwd: box.ws, env });
        try {
          await term.expect('[a]pprove');
          term.type('e\n');
          // A failed edit falls back to asking for JSON: fail then rather than wait forever.
          const next = await term.expectOne('All done.', 'override_input as JSON');
          assert.equal(next, 'All done.', `the edit did not land:\n${term.transcript}`);
          assert.equal(await term.exited, 0, term.transcript);
        } finally {
          term.close();
        }

        for (const dir of [box.ws, box.dir]) {
          assert.ok(!fs.existsSync(path.join(dir, 'PWNED')), `no PWNED in ${dir}`);
        }
        const runId = /▶ run (run_\w+)/.exec(term.transcript)?.[1];
        assert.ok(runId, term.transcript);
        const trace = await box.show(runId);
        const decision = trace.decisions[0] as Json & { id: string; resolution: Json };
        assert.match(decision.id, /^apr_/);
        assert.deepEqual(decision.resolution.override_input, {
          content: 'edited by the developer\n',
        });

        const seen = JSON.parse(fs.readFileSync(log, 'utf8')) as {
          args: string[];
          before: string;
          dirMode: number;
        };
        assert.equal(seen.args.length, 1, `one argument: ${JSON.stringify(seen.args)}`);
        const file = seen.args[0]!;
        assert.equal(path.basename(file), `${decision.id}.md`);
        assert.equal(seen.before, 'proposed\n');
        assert.equal(seen.dirMode, 0o700, 'a private temp folder');
        assert.ok(!fs.existsSync(path.dirname(file)), 'the temp folder is removed');
        assert.equal(box.file(proposed), 'edited by the developer\n');
      });
    },
  );
});

void describe('conflicting decisions for one id', () => {
  void it('are refused (exit 2) naming the id and both flags; nothing changes', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note'));
      const cases: [string[], string][] = [
        [['--deny', id, '--reason', 'no', '--approve', id], `--deny ${id} and --approve ${id}`],
        [['--approve', id, '--deny', id, '--reason', 'no'], `--approve ${id} and --deny ${id}`],
        [['--approve', id, '--answer', id, '"yes"'], `--approve ${id} and --answer ${id}`],
        [
          ['--approve', id, '--override', '{"content":"x\\n"}', '--approve', id],
          `--approve ${id} is given twice`,
        ],
        [['--answer', id, '"a"', '--answer', id, '"b"'], `--answer ${id} is given twice`],
      ];
      for (const [flags, message] of cases) {
        const r = await box.cli(['resume', runId, ...flags, '--json']);
        assert.equal(r.code, 2, `${flags.join(' ')}: exit ${r.code}\n${r.stderr}`);
        assert.ok(r.stderr.includes(message), `${flags.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '');
      }
      const trace = await box.show(runId);
      assert.equal(trace.run.status, 'paused');
      assert.deepEqual(trace.decisions, [], 'no decision recorded');
      assert.equal(trace.segments.length, 1, 'no segment recorded');
      assert.deepEqual(
        (trace.pending as Json[]).map((p) => p.approval_id),
        [id],
      );
      assert.equal(box.file('notes/new.md'), null);
      assert.equal(box.server!.requests.length, 1, 'the model was not called again');
    });
  });
});

void describe('standing rules from the CLI', () => {
  void it('--always workspace --cover folder makes one narrow rule; `airlock rules` lists and revokes it', async () => {
    const writes = ['notes/a.md', 'notes/b.md', '.env', 'src/c.js'];
    let n = 0;
    await inSandbox(
      (request) =>
        request.messages.at(-1)?.role === 'tool' && n >= writes.length
          ? { text: 'done' }
          : {
              toolCalls: [
                {
                  id: `call_${n}`,
                  name: 'write_file',
                  arguments: { path: writes[n++]!, content: 'x\n' },
                },
              ],
            },
      async (box) => {
        const first = pausedOn(await box.run('write'));
        const resumed = await box.cli([
          'resume',
          first.runId,
          '--approve',
          first.id,
          '--approver',
          'dana',
          '--always',
          'workspace',
          '--cover',
          'folder',
          '--json',
        ]);
        // notes/b.md runs under the rule; .env is protected and asks.
        const next = pausedOn(resumed);
        const events = jsonLines(resumed.stdout);
        const added = events.find((e) => e.code === 'rule_added');
        assert.match(
          String(added?.message),
          /Always allow write_file on notes\/\*\* for this workspace \(by dana\)/,
        );
        assert.equal(box.file('notes/b.md'), 'x\n');
        const gate = events.find((e) => e.type === 'approval' && e.approval_id === next.id);
        assert.equal(gate?.protected, true);
        assert.equal(box.file('.env'), null);
        const shown = await box.cli(['show', next.runId]);
        assert.match(shown.stdout, /Create \.env\?\n.*\n {2}protected path: always asks/);

        const listed = await box.cli(['rules', '--json']);
        assert.equal(listed.code, 0, listed.stderr);
        const { rules } = JSON.parse(listed.stdout) as { rules: Json[] };
        assert.deepEqual(
          rules.map((r) => [r.tool, r.paths, r.action, r.cover, r.run_id, r.created_by]),
          [['write_file', ['notes/**'], 'allow', 'folder', null, 'dana']],
        );
        const table = await box.cli(['rules']);
        assert.match(table.stdout, /allow write_file notes\/\*\* {2}\[workspace\].* by dana/);

        const protectedAlways = await box.cli([
          'resume',
          next.runId,
          '--approve',
          next.id,
          '--always',
          'workspace',
        ]);
        assert.equal(protectedAlways.code, 2, 'always-allow on a protected path is refused');
        assert.match(protectedAlways.stderr, /never covers protected paths/);
        assert.equal(box.file('.env'), null);

        const bad = await box.cli(['rules', '--revoke', 'rule_nope']);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /No active standing rule rule_nope/);
        const revoked = await box.cli(['rules', '--revoke', String(rules[0]!.rule_id)]);
        assert.equal(revoked.code, 0, revoked.stderr);
        assert.match((await box.cli(['rules'])).stdout, /No standing rules/);
      },
    );
  });
});

void describe('--cancel with decisions', () => {
  void it('is refused (exit 2): a cancel ends the whole run and must not replace a decision', async () => {
    await inSandbox(null, async (box) => {
      const r = await box.cli(['resume', 'run_x', '--approve', 'apr_1', '--cancel', 'stop']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--cancel ends the whole run: give it alone/);
    });
  });
});

void describe('waiting gates after the policy changes (finding 3)', () => {
  void it('a plain `airlock resume` after the developer config turned allow-all runs no waiting gate', async () => {
    await inSandbox(
      (request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'done' }
          : {
              toolCalls: [
                {
                  id: 'cfg',
                  name: 'write_file',
                  arguments: {
                    path: 'airlock.config.json',
                    content: '{"policy":[{"tool":"*","action":"allow"}]}\n',
                  },
                },
                {
                  id: 'new',
                  name: 'write_file',
                  arguments: { path: 'notes/created.md', content: 'x\n' },
                },
                { id: 'del', name: 'delete_file', arguments: { path: 'notes/old-todo.md' } },
              ],
            },
      async (box) => {
        const first = await box.run('loosen');
        assert.equal(first.code, 3, first.stderr);
        const gates = jsonLines(first.stdout).filter((e) => e.type === 'approval');
        const byCall = new Map(gates.map((g) => [g.call_id, String(g.approval_id)]));
        const runId = String(outputOf(first).run_id);
        const approved = await box.cli([
          'resume',
          runId,
          '--approve',
          byCall.get('cfg')!,
          '--json',
        ]);
        assert.equal(approved.code, 3, approved.stderr);
        assert.equal(
          box.file('airlock.config.json'),
          '{"policy":[{"tool":"*","action":"allow"}]}\n',
        );

        // The developer's own config now allows everything: the two waiting gates still wait.
        fs.mkdirSync(path.join(box.dir, 'config', 'airlock'), { recursive: true });
        fs.writeFileSync(
          path.join(box.dir, 'config', 'airlock', 'config.json'),
          JSON.stringify({ policy: [{ tool: '*', action: 'allow' }] }),
        );
        const plain = await box.cli(['resume', runId, '--json']);
        assert.equal(plain.code, 3, plain.stderr);
        assert.deepEqual(
          [...outputOf(plain).pending].sort(),
          [byCall.get('new')!, byCall.get('del')!].sort(),
        );
        assert.equal(box.file('notes/created.md'), null);
        assert.notEqual(box.file('notes/old-todo.md'), null);
      },
    );
  });
});

void describe('the approver of a decision made with the CLI', () => {
  const git = ['/usr/bin/git', '/usr/local/bin/git'].find((p) => fs.existsSync(p)) ?? 'git';
  const hasGit = spawnSync(git, ['--version']).status === 0;
  const noGit = hasGit ? false : 'git is not installed: the git user.name default is not tested';
  // Neither the machine's nor the developer's git config shapes these runs.
  const gitEnv = (box: Sandbox) => ({
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(box.dir, 'gitconfig'),
  });
  const gitIn = (box: Sandbox, args: string[]) => {
    const r = spawnSync(git, args, { cwd: box.ws, env: box.env(gitEnv(box)), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const approverOf = async (box: Sandbox, runId: string, id: string) => {
    const trace = await box.show(runId);
    const decision = trace.decisions.find((d) => d.id === id) as Json & { resolution: Json };
    assert.ok(decision, 'the decision is recorded');
    return decision.resolution.approver_id;
  };

  void it('defaults --approver to git user.name in the workspace', { skip: noGit }, async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      gitIn(box, ['init', '-q']);
      gitIn(box, ['config', 'user.name', 'Dana Reviewer']);
      const { runId, id } = pausedOn(await box.run('create a note', gitEnv(box)));
      const r = await box.cli(['resume', runId, '--approve', id, '--json'], gitEnv(box));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(box.file('notes/new.md'), 'hello from the agent\n');
      assert.equal(await approverOf(box, runId, id), 'Dana Reviewer');
    });
  });

  void it('an explicit --approver beats git user.name', { skip: noGit }, async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      gitIn(box, ['init', '-q']);
      gitIn(box, ['config', 'user.name', 'Dana Reviewer']);
      const { runId, id } = pausedOn(await box.run('create a note', gitEnv(box)));
      const r = await box.cli(
        ['resume', runId, '--deny', id, '--reason', 'no', '--approver', 'alice', '--json'],
        gitEnv(box),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await approverOf(box, runId, id), 'alice');
    });
  });

  void it('without a git user.name, the OS user decides', async () => {
    await inSandbox(proposeThenFinish(createNote()), async (box) => {
      const { runId, id } = pausedOn(await box.run('create a note', gitEnv(box)));
      const r = await box.cli(['resume', runId, '--deny', id, '--json'], gitEnv(box));
      assert.equal(r.code, 0, r.stderr);
      let user: string | undefined;
      try {
        user = os.userInfo().username || undefined;
      } catch {
        user = undefined; // no passwd entry: no name at all
      }
      assert.equal(await approverOf(box, runId, id), user);
    });
  });
});
