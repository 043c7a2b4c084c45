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
    assert.equal(out.usage['approvals:approved'], 1);
  });
});
