// Nested runs: an agent used as another agent's tool, its usage counters, and its gates and
// questions pausing and resuming the parent. Real loopback model server, real sql.js files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ResumeRefusedError, Tool } from '../../host/runtime/index.js';
import { interactionTools } from '../../host/tools/interact.js';
import {
  agentIn,
  assertSuccess,
  call,
  calls,
  drain,
  ofType,
  one,
  say,
  toolResults,
  world,
} from '../support/agent-world.js';

void describe('nested runs', () => {
  void it("an agent used as another agent's tool adds its usage counters to the parent's", async () => {
    const w = await world([
      {
        toolCalls: [call('d1', 'helper', { prompt: 'help' })],
        usage: { prompt_tokens: 10, completion_tokens: 1 },
      },
      { text: 'inner answer', usage: { prompt_tokens: 3, completion_tokens: 2 } },
      { text: 'outer answer', usage: { prompt_tokens: 20, completion_tokens: 4 } },
    ]);
    const inner = agentIn(w, [], { name: 'helper' });
    const out = await drain(
      agentIn(w, [inner.asTool({ description: 'Ask the helper agent' })]).run({ prompt: 'go' }),
    );
    assertSuccess(out);
    assert.equal(out.output.output, 'outer answer');
    assert.equal(toolResults(w.server, 2).get('d1'), 'inner answer');
    assert.equal(out.output.usage.prompt_tokens, 33);
    assert.equal(out.output.usage.completion_tokens, 7);
  });

  void it('a gate inside the nested agent pauses the parent; resuming the parent settles it once', async () => {
    const w = await world([
      calls(call('d1', 'helper', { prompt: 'refund' })),
      calls(call('r1', 'refund', { amount: 250 })),
      say('inner refunded'),
      say('outer done'),
    ]);
    let ran = 0;
    const refund = Tool({
      name: 'refund',
      description: 'Refund',
      params: z.object({ amount: z.number() }),
      requiresApproval: true,
      handler: ({ amount }) => {
        ran++;
        return `refunded ${amount}`;
      },
    });
    const inner = agentIn(w, [refund], { name: 'helper' });
    const outer = agentIn(w, [inner.asTool({ description: 'Delegate' })]);
    const first = await drain(outer.run({ prompt: 'go', runId: 'run_outer' }));
    assert.equal(first.output.status.reason, 'approval_required');
    const gate = one(ofType(first, 'approval'), 'approval');
    assert.equal(gate.run_id, 'run_outer');
    assert.equal(gate.path, 'support.helper.helper.refund');
    assert.deepEqual(first.output.pending, [gate.approval_id]);
    assert.equal(first.output.usage['approvals:required'], 1, 'the nested gate is counted');
    assert.deepEqual(
      w.store.pending().map((p) => [p.run_id, p.id]),
      [['run_outer', gate.approval_id]],
      'listed once, under the run to resume',
    );
    await assert.rejects(
      drain(inner.run({ runId: 'run_outer~d1', resume: { [gate.approval_id]: true } })),
      /resume that run instead/,
    );
    assert.equal(ran, 0);

    const second = await drain(
      outer.run({ runId: 'run_outer', resume: { [gate.approval_id]: true } }),
    );
    assertSuccess(second);
    assert.equal(second.output.output, 'outer done');
    assert.equal(ran, 1);
    assert.equal(second.output.usage['approvals:approved'], 1);
    assert.equal(second.output.usage['approvals:required'], 1);

    const again = await drain(
      outer.run({ runId: 'run_outer', resume: { [gate.approval_id]: true } }),
    );
    assert.equal(again.output.status.reason, 'approval_already_claimed');
    assert.equal(ran, 1);
  });

  void it('an invalid answer for a nested question is refused before anything runs', async () => {
    const w = await world([
      calls(call('d1', 'helper', { prompt: 'ask' })),
      calls(call('q1', 'ask_user', { question: 'Which?', options: ['a', 'b'] })),
      say('inner got it'),
      say('outer done'),
    ]);
    const inner = agentIn(w, interactionTools(), { name: 'helper' });
    const outer = agentIn(w, [inner.asTool({ description: 'Delegate' })]);
    const first = await drain(outer.run({ prompt: 'go' }));
    const question = one(ofType(first, 'interaction'), 'interaction');
    assert.equal(first.output.status.reason, 'input_required');
    await assert.rejects(
      drain(outer.run({ runId: first.output.run_id, resume: { [question.interaction_id]: '' } })),
      ResumeRefusedError,
    );
    const done = await drain(
      outer.run({ runId: first.output.run_id, resume: { [question.interaction_id]: 'b' } }),
    );
    assertSuccess(done);
    assert.equal(toolResults(w.server, 2).get('q1'), 'b');
    assert.equal(done.output.usage['suspends:required'], 1);
  });
});
