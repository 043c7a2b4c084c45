// Questions to the developer: suspend() and the interaction tools (ask_user, ask_user_multi,
// confirm), and parallel tool calls in one model turn mixing gates, questions and reads.
// Real loopback model server, real sql.js database files, real temp workspaces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ResumeRefusedError, suspend, Tool } from '../../host/runtime/index.js';
import { fileTools } from '../../host/tools/files.js';
import { interactionTools } from '../../host/tools/interact.js';
import { pendingIn } from '../support/refund.js';
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
  one,
  say,
  toolResults,
  world,
} from '../support/agent-world.js';

void describe('suspend() and the interaction tools', () => {
  void it("ask_user with options: InteractionEvent, invalid answer refused and still pending, an answer of the developer's own is the tool result", async () => {
    const w = await world([
      calls(
        call('q1', 'ask_user', { question: 'Which database?', options: ['postgres', 'sqlite'] }),
      ),
      say('Using sqlite.'),
    ]);
    const agent = agentIn(w, interactionTools());
    const first = await drain(agent.run({ prompt: 'set up storage' }));
    const runId = first.output.run_id;
    const ev = interactionFor(first, 'q1');
    assert.match(ev.interaction_id, /^int_/);
    assert.equal(ev.run_id, runId);
    assert.equal(ev.tool, 'ask_user');
    assert.equal(ev.prompt, 'Which database?');
    assert.deepEqual(ev.questions, [
      { id: 'answer', question: 'Which database?', options: ['postgres', 'sqlite'] },
    ]);
    // The options are suggestions (SPEC §2): any non-empty text answers.
    assert.equal(ev.schema.enum, undefined);
    assertPaused(first, 'input_required', [ev.interaction_id]);
    assert.equal(first.output.usage['suspends:required'], 1);

    for (const invalid of ['', 42]) {
      await assert.rejects(
        drain(agent.run({ runId, resume: { [ev.interaction_id]: invalid } })),
        ResumeRefusedError,
      );
    }
    assert.deepEqual(await pendingIn(w.dbFile, runId), [ev.interaction_id]);

    const second = await drain(agent.run({ runId, resume: { [ev.interaction_id]: 'mysql' } }));
    assertSuccess(second);
    assert.equal(toolResults(w.server, 1).get('q1'), 'mysql');
  });

  void it('ask_user_multi takes one object keyed by question id', async () => {
    const w = await world([
      calls(
        call('q1', 'ask_user_multi', {
          questions: [
            { id: 'name', question: 'Project name?' },
            { id: 'lang', question: 'Language?', options: ['ts', 'go'] },
          ],
        }),
      ),
      say('ok'),
    ]);
    const agent = agentIn(w, interactionTools());
    const first = await drain(agent.run({ prompt: 'new project' }));
    const ev = interactionFor(first, 'q1');
    assert.deepEqual(
      ev.questions.map((q) => q.id),
      ['name', 'lang'],
    );
    const runId = first.output.run_id;
    await assert.rejects(
      drain(agent.run({ runId, resume: { [ev.interaction_id]: { name: 'demo' } } })),
      ResumeRefusedError,
    );
    await assert.rejects(
      drain(agent.run({ runId, resume: { [ev.interaction_id]: { name: 'demo', lang: 'rust' } } })),
      ResumeRefusedError,
    );
    const second = await drain(
      agent.run({ runId, resume: { [ev.interaction_id]: { name: 'demo', lang: 'ts' } } }),
    );
    assertSuccess(second);
    assert.deepEqual(JSON.parse(toolResults(w.server, 1).get('q1') ?? 'null'), {
      name: 'demo',
      lang: 'ts',
    });
  });

  void it('confirm takes a boolean', async () => {
    const w = await world([
      calls(call('q1', 'confirm', { question: 'Delete the cache?' })),
      say('ok'),
    ]);
    const agent = agentIn(w, interactionTools());
    const first = await drain(agent.run({ prompt: 'clean' }));
    const ev = interactionFor(first, 'q1');
    assert.equal(ev.schema.type, 'boolean');
    const runId = first.output.run_id;
    await assert.rejects(
      drain(agent.run({ runId, resume: { [ev.interaction_id]: 'yes' } })),
      ResumeRefusedError,
    );
    const second = await drain(agent.run({ runId, resume: { [ev.interaction_id]: false } }));
    assertSuccess(second);
    assert.equal(toolResults(w.server, 1).get('q1'), 'no');
  });

  void it('a handler calling suspend() twice re-runs from the top: two pauses, then completion', async () => {
    const w = await world([calls(call('s1', 'setup', {})), say('configured')]);
    let invocations = 0;
    const setup = Tool({
      name: 'setup',
      description: 'Configure the project',
      params: z.object({}),
      handler: async () => {
        invocations++;
        const name = await suspend({ prompt: 'Project name?' });
        const port = await suspend({ prompt: 'Port?', schema: z.number().int().min(1) });
        return `${name}:${port}`;
      },
    });
    const agent = agentIn(w, [setup]);
    const first = await drain(agent.run({ prompt: 'configure' }));
    const runId = first.output.run_id;
    const ask1 = interactionFor(first, 's1');
    assert.equal(ask1.prompt, 'Project name?');
    assertPaused(first, 'input_required', [ask1.interaction_id]);
    assert.equal(invocations, 1);

    const second = await drain(agent.run({ runId, resume: { [ask1.interaction_id]: 'demo' } }));
    const ask2 = interactionFor(second, 's1');
    assert.equal(ask2.prompt, 'Port?');
    assert.notEqual(ask2.interaction_id, ask1.interaction_id);
    assertPaused(second, 'input_required', [ask2.interaction_id]);
    assert.equal(invocations, 2, 'the handler re-ran from the top');

    await assert.rejects(
      drain(agent.run({ runId, resume: { [ask2.interaction_id]: 'eighty' } })),
      ResumeRefusedError,
    );
    assert.equal(invocations, 2, 'a refused answer runs nothing');

    const third = await drain(agent.run({ runId, resume: { [ask2.interaction_id]: 8080 } }));
    assertSuccess(third);
    assert.equal(invocations, 3);
    assert.equal(toolResults(w.server, 1).get('s1'), 'demo:8080');
    assert.equal(third.output.usage['suspends:required'], 2);
  });
});

// ---------------------------------------------------------------------------------------------

void describe('parallel tool calls in one model turn', () => {
  void it('emits every gate and question of the turn, runs the read, pauses once; subsets and mixed resumes settle them', async () => {
    const w = await world([
      calls(
        call('ea', 'edit_file', { path: 'a.txt', old_string: 'alpha', new_string: 'ALPHA' }),
        call('eb', 'edit_file', { path: 'b.txt', old_string: 'beta', new_string: 'BETA' }),
        call('q', 'ask_user', { question: 'Also update the changelog?' }),
        call('r', 'read_file', { path: 'c.txt' }),
      ),
      say('All settled.'),
    ]);
    fs.writeFileSync(path.join(w.dir, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(w.dir, 'b.txt'), 'beta\n');
    fs.writeFileSync(path.join(w.dir, 'c.txt'), 'gamma\n');
    const agent = agentIn(w, [...fileTools(w.dir), ...interactionTools()], { name: 'coder' });

    const first = await drain(agent.run({ prompt: 'edit' }));
    const runId = first.output.run_id;
    const a = approvalFor(first, 'ea').approval_id;
    const b = approvalFor(first, 'eb').approval_id;
    const q = interactionFor(first, 'q').interaction_id;
    const read = one(ofType(first, 'tool_result'), 'tool_result');
    assert.equal(read.call_id, 'r');
    assert.equal(read.output, 'gamma\n');
    assert.equal(ofType(first, 'output').length, 1, 'the run paused once');
    assertPaused(first, 'approval_required', [a, b, q]);
    assert.equal(first.output.usage['approvals:required'], 2);
    assert.equal(first.output.usage['suspends:required'], 1);
    assert.equal(fs.readFileSync(path.join(w.dir, 'a.txt'), 'utf8'), 'alpha\n');
    assert.equal(w.server.requests.length, 1);

    // A subset: the run stays paused on the rest, without asking for them again.
    const second = await drain(agent.run({ runId, resume: { [a]: true } }));
    assertPaused(second, 'approval_required', [b, q]);
    assert.equal(ofType(second, 'approval').length, 0);
    assert.equal(ofType(second, 'interaction').length, 0);
    assert.equal(fs.readFileSync(path.join(w.dir, 'a.txt'), 'utf8'), 'ALPHA\n');
    assert.equal(w.server.requests.length, 1);
    assert.deepEqual(await pendingIn(w.dbFile, runId), [b, q].sort());

    // One map settles an approval and an answer; an unknown id only warns.
    const third = await drain(
      agent.run({
        runId,
        resume: {
          [b]: { approved: false, reason: 'keep beta lowercase' },
          [q]: 'no, leave it',
          apr_000000000000000000000000: true,
        },
      }),
    );
    const warning = one(
      ofType(third, 'warning').filter((e) => e.code === 'unknown_id'),
      'unknown id warning',
    );
    assert.match(warning.message, /apr_000000000000000000000000/);
    assertSuccess(third);
    assert.equal(fs.readFileSync(path.join(w.dir, 'b.txt'), 'utf8'), 'beta\n');
    const results = toolResults(w.server, 1);
    assert.deepEqual([...results.keys()], ['ea', 'eb', 'q', 'r']);
    assert.match(results.get('ea') ?? '', /Edited a\.txt/);
    assert.match(results.get('eb') ?? '', /keep beta lowercase/);
    assert.equal(results.get('q'), 'no, leave it');
    assert.equal(results.get('r'), 'gamma\n');
  });

  void it('with only questions pending the run pauses input_required', async () => {
    const w = await world([
      calls(call('q1', 'confirm', { question: 'A?' }), call('q2', 'confirm', { question: 'B?' })),
      say('ok'),
    ]);
    const agent = agentIn(w, interactionTools());
    const first = await drain(agent.run({ prompt: 'ask' }));
    const i1 = interactionFor(first, 'q1').interaction_id;
    const i2 = interactionFor(first, 'q2').interaction_id;
    assertPaused(first, 'input_required', [i1, i2]);
    const second = await drain(
      agent.run({ runId: first.output.run_id, resume: { [i1]: true, [i2]: false } }),
    );
    assertSuccess(second);
  });
});
