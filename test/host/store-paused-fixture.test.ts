// A run paused by an earlier release resumes after an upgrade (issue 14): the fixture in
// test/fixtures/paused-v1 was written by Airlock 0.1.0 before the run loop became a step machine
// (its run state is version 1). Resuming it decides both of its items and finishes the run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from '../../host/runtime/index.js';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import { ScriptedModelServer } from '../../host/model/scripted-server.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import { fileTools } from '../../host/tools/files.js';
import { interactionTools } from '../../host/tools/interact.js';
import { RUN_STATE_VERSION } from '../../host/runtime/run-state.js';
import { tempDir } from '../support/scratch.js';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'paused-v1');
const RUN = 'run_fixture_agent';
const APPROVAL = 'apr_f3cbc7e7fb263c0c02c0a3fb';
const QUESTION = 'int_b20c130e97cba81871f74563';

void describe('a run paused by release 0.1.0', () => {
  void it('resumes: the approved write lands, the answer reaches the model, the run finishes', async (t) => {
    const dir = tempDir('paused-fixture');
    for (const name of fs.readdirSync(FIXTURE)) {
      fs.copyFileSync(path.join(FIXTURE, name), path.join(dir, name));
    }
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'greeting.txt'), 'Helo, world\n');
    const server = await ScriptedModelServer.start([{ text: 'Fixed, in a friendly tone.' }]);
    t.after(() => server.close());
    const store = await SqlJsStore.open(path.join(dir, 'airlock.db'));
    t.after(() => store.close());
    assert.deepEqual(
      store.pending(RUN).map((p) => p.id),
      [APPROVAL, QUESTION].sort(),
      'the fixture holds one approval and one question',
    );
    const agent = new Agent({
      name: 'fixer',
      model: new OpenAIChatModel({ baseURL: server.baseURL, apiKey: 'x', model: 'scripted' }),
      tools: [...fileTools(ws), ...interactionTools()],
      store,
      workspace: ws,
    });
    const out = await agent
      .run({ runId: RUN, resume: { [APPROVAL]: { approved: true }, [QUESTION]: 'Friendly' } })
      .collect();
    assert.equal(out.status.reason, 'completed', out.status.message);
    assert.equal(out.output, 'Fixed, in a friendly tone.');
    assert.equal(fs.readFileSync(path.join(ws, 'greeting.txt'), 'utf8'), 'Hello, world\n');
    // The model read the whole conversation of the old release, then both results.
    const sent = server.requests[0]!.messages;
    assert.deepEqual(
      sent.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool', 'tool'],
    );
    assert.match(JSON.stringify(sent[3]), /greeting\.txt/);
    assert.match(JSON.stringify(sent[4]), /Friendly/);
    assert.equal(store.pending(RUN).length, 0);
    // Written back in this release's state version, without the field version 1 carried.
    const stored = store.getRun(RUN)!.state as Record<string, unknown>;
    assert.equal(stored.v, RUN_STATE_VERSION);
    assert.equal('rules' in stored, false);
    assert.equal(out.usage['approvals:approved'], 1);
  });
});

void describe('a run state from a newer Airlock', () => {
  void it('is refused with a message to update, and the run is left as it was', async () => {
    const dir = tempDir('newer-state');
    const store = await SqlJsStore.open(path.join(dir, 'airlock.db'));
    const at = new Date().toISOString();
    const state = { v: RUN_STATE_VERSION + 1, kind: 'agent', agent: 'fixer', future: true };
    store.commit([
      {
        op: 'putRun',
        expect_version: null,
        row: {
          run_id: 'run_future',
          agent: 'fixer',
          workspace: null,
          prompt: 'Fix it',
          status: 'paused',
          reason: 'approval_required',
          message: '1 approval waiting for the developer.',
          created_at: at,
          updated_at: at,
          owner: null,
          version: 1,
          nested_in: null,
        },
        state,
      },
    ]);
    const agent = new Agent({
      name: 'fixer',
      model: new OpenAIChatModel({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'x', model: 'm' }),
      tools: interactionTools(),
      store,
    });
    await assert.rejects(
      agent.run({ runId: 'run_future', resume: { apr_x: { approved: true } } }).collect(),
      /run_future was written by a newer Airlock \(state version 3; this one reads up to 2\)\. Update Airlock/,
    );
    assert.deepEqual(store.getRun('run_future')?.state, state);
    assert.equal(store.getRun('run_future')?.row.version, 1);
    store.close();
  });
});
