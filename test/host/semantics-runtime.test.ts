// Issue 13's runtime semantics (SPEC §2, §4, §6): a typo'd override_input never lets the original
// proposal run, suspend() without a schema takes any JSON value, an "always deny" tells the model
// the reviewer's reason, an unknown stored status names its run, and the max_turns message names
// only settings that exist. Real agents, a scripted model on loopback and real database files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { GetPending, Resume, StartRun } from '../../host/protocol/rpc.js';
import { ResumeRefusedError, suspend, Tool } from '../../host/runtime/index.js';
import { USAGE } from '../../host/cli/args.js';
import { Settings } from '../../host/settings-schema.js';
import { loadSqlJs } from '../../host/store/sqljs-store.js';
import { toRunRow } from '../../host/store/store.js';
import { fileTools } from '../../host/tools/files.js';
import {
  agentIn,
  approvalFor,
  assertPaused,
  assertSuccess,
  call,
  calls,
  drain,
  interactionFor,
  ofType,
  say,
  toolResults,
  world,
} from '../support/agent-world.js';
import { initialize, inMemoryHost, scriptedOptions } from '../support/host-client.js';
import { onCleanup, openFileStore, openStore, tempDir } from '../support/scratch.js';
import { ScriptedModelServer } from '../../host/model/scripted-server.js';

const ROOT = path.resolve(__dirname, '..', '..');

async function rpcError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; message: string };
  }
  assert.fail('expected the request to fail');
}

void describe('override_input with a key the tool does not take (issue 13.1)', () => {
  void it('is refused naming the key and the keys the tool takes; nothing written, nothing recorded, still pending', async () => {
    const w = await world([
      calls(call('w1', 'write_file', { path: 'notes.md', content: 'model version\n' })),
      say('done'),
    ]);
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'write' }));
    const runId = first.output.run_id;
    const id = approvalFor(first, 'w1').approval_id;

    await assert.rejects(
      drain(
        agent.run({
          runId,
          resume: { [id]: { approved: true, override_input: { contnt: 'human version\n' } } },
        }),
      ),
      (err: unknown) =>
        err instanceof ResumeRefusedError &&
        /"contnt"/.test(err.message) &&
        /"path", "content"/.test(err.message) &&
        /still pending/.test(err.message),
    );
    assert.ok(!fs.existsSync(path.join(w.dir, 'notes.md')), "the model's content was not written");
    const fresh = await openStore(w.dbFile);
    assert.deepEqual(
      fresh.pending(runId).map((p) => p.id),
      [id],
    );
    assert.deepEqual(fresh.decisions(runId), [], 'no decision recorded');
    assert.equal(fresh.segments(runId).length, 1, 'no resume segment recorded');
    assert.equal(w.server.requests.length, 1);

    // The corrected key then lands.
    const second = await drain(
      agent.run({
        runId,
        resume: { [id]: { approved: true, override_input: { content: 'human version\n' } } },
      }),
    );
    assertSuccess(second);
    assert.equal(fs.readFileSync(path.join(w.dir, 'notes.md'), 'utf8'), 'human version\n');
  });

  void it('a tool whose schema takes any key (a catchall) still takes the override', async () => {
    const w = await world([calls(call('t1', 'tag', { name: 'a' })), say('ok')]);
    const seen: unknown[] = [];
    const tag = Tool({
      name: 'tag',
      description: 'Tag',
      params: z.looseObject({ name: z.string() }),
      requiresApproval: true,
      handler: (input) => {
        seen.push(input);
        return 'tagged';
      },
    });
    const agent = agentIn(w, [tag]);
    const first = await drain(agent.run({ prompt: 'tag' }));
    const id = approvalFor(first, 't1').approval_id;
    assertSuccess(
      await drain(
        agent.run({
          runId: first.output.run_id,
          resume: { [id]: { approved: true, override_input: { colour: 'red' } } },
        }),
      ),
    );
    assert.deepEqual(seen, [{ name: 'a', colour: 'red' }]);
  });

  void it('over JSON-RPC the resume request fails with the same message; the gate stays pending', async () => {
    const server = await ScriptedModelServer.start((request) =>
      request.messages.some((m) => m.role === 'tool')
        ? { text: 'done' }
        : {
            toolCalls: [
              {
                id: 'call_w',
                name: 'write_file',
                arguments: { path: 'notes/rpc.md', content: 'model version\n' },
              },
            ],
          },
    );
    onCleanup(() => server.close());
    const ws = tempDir('ws');
    fs.cpSync(path.join(ROOT, 'sample-workspace'), ws, { recursive: true });
    const client = inMemoryHost();
    await initialize(client, scriptedOptions(ws, path.join(tempDir('db'), 'a.db'), server.baseURL));
    const { run_id } = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'write' }),
    );
    await client.waitFor((e) => e.type === 'output' && e.run_id === run_id);
    const pending = GetPending.result.parse(
      await client.connection.sendRequest(GetPending.type, {}),
    );
    const id = pending.approvals[0]!.approval_id;

    const refused = await rpcError(
      client.connection.sendRequest(Resume.type, {
        run_id,
        resume: { [id]: { approved: true, override_input: { contnt: 'human version\n' } } },
      }),
    );
    assert.match(refused.message, /"contnt"/);
    assert.match(refused.message, /write_file takes "path", "content"/);
    assert.ok(!fs.existsSync(path.join(ws, 'notes/rpc.md')), 'nothing written');
    const still = GetPending.result.parse(await client.connection.sendRequest(GetPending.type, {}));
    assert.deepEqual(
      still.approvals.map((a) => a.approval_id),
      [id],
    );
  });
});

void describe('suspend() without a schema (issue 13.2)', () => {
  void it('accepts any JSON value as the answer, and the handler gets it as given', async () => {
    const answers: unknown[] = [];
    const pick = Tool({
      name: 'pick',
      description: 'Ask for anything',
      params: z.object({}),
      handler: async () => {
        const value = await suspend({ prompt: 'Anything?' });
        answers.push(value);
        return value;
      },
    });
    const values: unknown[] = [{ colour: 'red', sizes: [1, 2] }, 42, null, ['a', true]];
    for (const value of values) {
      const w = await world([calls(call('p1', 'pick', {})), say('thanks')]);
      const agent = agentIn(w, [pick]);
      const first = await drain(agent.run({ prompt: 'pick' }));
      const ev = interactionFor(first, 'p1');
      assertPaused(first, 'input_required', [ev.interaction_id]);
      const second = await drain(
        agent.run({ runId: first.output.run_id, resume: { [ev.interaction_id]: value } }),
      );
      assertSuccess(second);
      assert.equal(toolResults(w.server, 1).get('p1'), JSON.stringify(value));
    }
    assert.deepEqual(answers, values);
  });
});

void describe('"always deny" keeps the reviewer\'s reason (issue 13.3)', () => {
  void it('the rules table has a reason column, in a new database and after migrating an old one', async () => {
    const SQL = await loadSqlJs();
    const columnsOf = async (file: string) => {
      const store = await openFileStore(file);
      const whole = path.join(tempDir('whole'), 'whole.db');
      store.writeTo(whole);
      const db = new SQL.Database(fs.readFileSync(whole));
      try {
        return (db.exec('PRAGMA table_info(rules)')[0]?.values ?? []).map((r) => String(r[1]));
      } finally {
        db.close();
      }
    };
    assert.ok((await columnsOf(path.join(tempDir('db'), 'new.db'))).includes('reason'));
    const old = path.join(tempDir('db'), 'old.db');
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/schema-v1.db'), old);
    assert.ok((await columnsOf(old)).includes('reason'));
  });

  void it('later calls denied by the rule tell the model that reason, in this run and in new runs', async () => {
    const w = await world([
      calls(call('d1', 'delete_file', { path: 'a.txt' })),
      calls(call('d2', 'delete_file', { path: 'b.txt' })),
      say('I will leave the files alone.'),
      calls(call('d3', 'delete_file', { path: 'c.txt' })),
      say('Left c.txt alone.'),
    ]);
    for (const f of ['a.txt', 'b.txt', 'c.txt']) fs.writeFileSync(path.join(w.dir, f), 'x\n');
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'delete' }));
    const id = approvalFor(first, 'd1').approval_id;
    const reason = 'these files are the fixtures of the integration tests';
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: { [id]: { approved: false, reason, scope: 'workspace', cover: 'tool' } },
      }),
    );
    assertSuccess(second);
    assert.equal(ofType(second, 'approval').length, 0);
    const rule = w.store.rules(w.dir).find((r) => r.approval_id === id);
    assert.equal(rule?.reason, reason, 'the rule keeps the reason');
    const d2 = toolResults(w.server, 2).get('d2') ?? '';
    assert.match(d2, new RegExp(`^Denied by a standing rule: ${reason}`));
    assert.doesNotMatch(d2, /is not allowed here/);

    // A new run, from another store on the same file: the rule and its reason hold.
    const later = await openStore(w.dbFile);
    const third = await drain(
      agentIn(w, fileTools(w.dir), { name: 'coder', store: later }).run({ prompt: 'delete c' }),
    );
    assertSuccess(third);
    assert.match(toolResults(w.server, 4).get('d3') ?? '', new RegExp(reason));
    for (const f of ['a.txt', 'b.txt', 'c.txt']) assert.ok(fs.existsSync(path.join(w.dir, f)));
  });

  void it('a standing deny without a reason still says which rule denied the call', async () => {
    const w = await world([
      calls(call('d1', 'delete_file', { path: 'a.txt' })),
      calls(call('d2', 'delete_file', { path: 'b.txt' })),
      say('ok'),
    ]);
    for (const f of ['a.txt', 'b.txt']) fs.writeFileSync(path.join(w.dir, f), 'x\n');
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'delete' }));
    const id = approvalFor(first, 'd1').approval_id;
    assertSuccess(
      await drain(
        agent.run({
          runId: first.output.run_id,
          resume: { [id]: { approved: false, scope: 'run', cover: 'tool' } },
        }),
      ),
    );
    assert.match(
      toolResults(w.server, 2).get('d2') ?? '',
      /^Denied by a standing rule: delete_file is not allowed here \(standing rule rule_\w+\)\.$/,
    );
  });
});

void describe('an unknown stored run status (issue 13.5)', () => {
  const row = {
    run_id: 'run_from_the_future',
    agent: 'a',
    workspace: null,
    prompt: null,
    status: 'hibernating',
    reason: 'x',
    message: 'x',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    owner: null,
    version: 1,
    nested_in: null,
  };

  void it('is an error naming the run and the status, never read as another status', () => {
    assert.throws(
      () => toRunRow(row),
      (err: unknown) =>
        err instanceof Error &&
        /run_from_the_future/.test(err.message) &&
        /"hibernating"/.test(err.message),
    );
    for (const status of ['running', 'paused', 'success', 'error', 'cancelled'])
      assert.equal(toRunRow({ ...row, status }).status, status);
  });

  void it('reading such a run from a database fails naming it', async () => {
    const w = await world([say('hi')]);
    const out = await drain(agentIn(w, []).run({ prompt: 'hi', runId: 'run_odd' }));
    assertSuccess(out);
    const stored = w.store.getRun('run_odd')!;
    const result = w.store.commit([
      {
        op: 'putRun',
        row: { ...stored.row, status: 'hibernating' as 'error', version: stored.row.version + 1 },
        expect_version: stored.row.version,
        state: stored.state,
      },
    ]);
    assert.ok(result.ok);
    const fresh = await openStore(w.dbFile);
    assert.throws(() => fresh.getRun('run_odd'), /run_odd/);
    assert.throws(() => fresh.listRuns(), /run_odd/);
  });
});

void describe('the max_turns message (issue 13.6)', () => {
  void it('names only the setting and config key that exist, no CLI flag that does not', async () => {
    const w = await world([
      calls(call('l1', 'list_files', {})),
      calls(call('l2', 'list_files', {})),
    ]);
    const out = await drain(agentIn(w, fileTools(w.dir), { maxTurns: 1 }).run({ prompt: 'loop' }));
    assert.equal(out.output.status.reason, 'max_turns');
    const message = out.output.status.message;
    assert.match(message, /airlock\.maxTurns/);
    assert.match(message, /"maxTurns"/);
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, unknown> } };
    };
    for (const setting of message.match(/airlock\.\w+/g) ?? [])
      assert.ok(setting in manifest.contributes.configuration.properties, setting);
    for (const key of message.match(/"(\w+)"/g) ?? [])
      assert.ok(JSON.parse(key) in Settings.shape, `${key} is a config.json key`);
    for (const flag of message.match(/--[\w-]+/g) ?? [])
      assert.ok(USAGE.includes(flag), `${flag} is a CLI flag`);
  });
});
