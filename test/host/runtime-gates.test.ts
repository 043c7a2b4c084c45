// The runtime's gates (SPEC §4) end to end: requiresApproval and approval prompts, denials and
// cancels, and the deterministic approval and interaction ids. Agents talk to a real
// OpenAI-compatible server on loopback; runs live in real sql.js database files in temp dirs.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { type ScriptedToolCall } from '../../host/model/scripted-server.js';
import { ResumeRefusedError, runTool, Tool } from '../../host/runtime/index.js';
import { interactionTools } from '../../host/tools/interact.js';
import { openStore, tempDir } from '../support/scratch.js';
import { pendingIn, refundTool } from '../support/refund.js';
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

void describe('gate: requiresApproval and approval prompts', () => {
  void it("a turn's gates are listed in the order of its calls, however fast they come", async () => {
    // Twenty gates of one turn, made within a few milliseconds: many share a timestamp.
    const ids = Array.from({ length: 20 }, (_, i) => `c_${String(i).padStart(2, '0')}`);
    const w = await world([
      calls(...ids.map((id, i) => call(id, 'refund', { amount: 200 + i, customer_id: id }))),
    ]);
    const first = await drain(agentIn(w, [refundTool().tool]).run({ prompt: 'Refund them all' }));
    const gates = ids.map((id) => approvalFor(first, id).approval_id);
    assertPaused(first, 'approval_required', gates);
    assert.deepEqual(
      w.store.pending(first.output.run_id).map((p) => p.id),
      gates,
      'the pending list (the sidebar, `airlock pending`) in call order',
    );
  });

  void it('gates on the validated input: $250 waits for approval, $50 runs at once', async () => {
    const w = await world([
      calls(
        call('c_big', 'refund', { amount: '250', customer_id: ' c-42 ' }),
        call('c_small', 'refund', { amount: 50, customer_id: 'c-7' }),
      ),
      say('Both refunds are done.'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool]);

    const first = await drain(agent.run({ prompt: 'Refund C-42 $250 and C-7 $50' }));
    const gate = approvalFor(first, 'c_big');
    assertPaused(first, 'approval_required', [gate.approval_id]);
    // The gate function saw zod's output: a number, and the transformed id.
    const sawBig = refund.gateSaw.find((i) => i.customer_id === 'C-42');
    assert.deepEqual(sawBig, { amount: 250, customer_id: 'C-42' });
    assert.equal(typeof sawBig?.amount, 'number');
    // The reviewer sees the validated input too.
    assert.deepEqual(gate.input, { amount: 250, customer_id: 'C-42' });
    // The small refund ran; the big one did not.
    assert.deepEqual(refund.ran, [{ amount: 50, customer_id: 'C-7' }]);
    const small = one(
      ofType(first, 'tool_result').filter((e) => e.call_id === 'c_small'),
      'small result',
    );
    assert.equal(small.output, 'refunded $50 to C-7');
    assert.equal(ofType(first, 'tool_result').length, 1);
    assert.equal(w.server.requests.length, 1, 'the model waits while a gate is pending');

    const second = await drain(
      agent.run({ runId: first.output.run_id, resume: { [gate.approval_id]: true } }),
    );
    assertSuccess(second);
    assert.equal(second.output.output, 'Both refunds are done.');
    assert.deepEqual(refund.ran[1], { amount: 250, customer_id: 'C-42' });
    const results = toolResults(w.server, 1);
    assert.equal(results.get('c_big'), 'refunded $250 to C-42');
    assert.equal(results.get('c_small'), 'refunded $50 to C-7');
  });

  void it('uses approvalPrompt as a string or a function of the input, else a default', async () => {
    const w = await world([
      calls(
        call('c1', 'ship', {}),
        call('c2', 'refund', { amount: 250, customer_id: 'c-42' }),
        call('c3', 'wipe', {}),
      ),
    ]);
    const ship = Tool({
      name: 'ship',
      description: 'Ship',
      params: z.object({}),
      requiresApproval: true,
      approvalPrompt: 'Ship the release?',
      handler: () => 'shipped',
    });
    const refund = refundTool({
      approvalPrompt: (input) => `Approve refunding $${input.amount} to ${input.customer_id}?`,
    });
    const wipe = Tool({
      name: 'wipe',
      description: 'Wipe',
      params: z.object({}),
      requiresApproval: true,
      handler: () => 'wiped',
    });
    const out = await drain(agentIn(w, [ship, refund.tool, wipe]).run({ prompt: 'go' }));
    assert.equal(approvalFor(out, 'c1').prompt, 'Ship the release?');
    assert.equal(approvalFor(out, 'c2').prompt, 'Approve refunding $250 to C-42?');
    const fallback = approvalFor(out, 'c3').prompt;
    assert.ok(fallback.length > 0 && fallback.includes('wipe'), `default prompt: ${fallback}`);
    // The rest of the ApprovalEvent's shape.
    const ev = approvalFor(out, 'c2');
    assert.equal(ev.run_id, out.output.run_id);
    assert.equal(ev.tool, 'refund');
    assert.equal(ev.path, 'support.refund');
    assert.equal(ev.preview, null);
    assert.equal(ev.expires_at, null);
    assert.match(ev.approval_id, /^apr_/);
    assertPaused(
      out,
      'approval_required',
      ofType(out, 'approval').map((e) => e.approval_id),
    );
    assert.equal(refund.ran.length, 0);
  });

  void it('a requiresApproval function that throws ends the run approval_policy_error; the handler never ran', async () => {
    const w = await world([calls(call('c1', 'refund', { amount: 250, customer_id: 'c-1' }))]);
    const refund = refundTool({
      requiresApproval: () => {
        throw new Error('limits service is down');
      },
    });
    const out = await drain(agentIn(w, [refund.tool]).run({ prompt: 'refund' }));
    assert.equal(out.output.status.reason, 'approval_policy_error');
    assert.equal(out.output.status.code, 'cancelled');
    assert.match(out.output.status.message, /limits service is down/);
    assert.equal(refund.ran.length, 0);
    assert.equal(ofType(out, 'approval').length, 0);
    assert.equal(w.server.requests.length, 1, 'nothing went back to the model');

    // The same on a direct tool call.
    const direct = await drain(
      runTool(refund.tool, { input: { amount: 5, customer_id: 'x' }, store: w.store }),
    );
    assert.equal(direct.output.status.reason, 'approval_policy_error');
    assert.equal(refund.ran.length, 0);
  });

  void it('an approvalPrompt function that throws also ends the run approval_policy_error', async () => {
    const w = await world([calls(call('c1', 'refund', { amount: 250, customer_id: 'c-1' }))]);
    const refund = refundTool({
      approvalPrompt: () => {
        throw new Error('template missing');
      },
    });
    const out = await drain(agentIn(w, [refund.tool]).run({ prompt: 'refund' }));
    assert.equal(out.output.status.reason, 'approval_policy_error');
    assert.match(out.output.status.message, /template missing/);
    assert.equal(refund.ran.length, 0);
  });
});

// ---------------------------------------------------------------------------------------------

void describe('denial and cancel', () => {
  void it('a denial inside an agent becomes the tool result the model reads, and the run continues', async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-42' })),
      say('Sorry, I could not refund that; escalating to a manager.'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool]);
    const first = await drain(agent.run({ prompt: 'refund' }));
    const id = approvalFor(first, 'c1').approval_id;
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: { [id]: { approved: false, reason: 'Refund exceeds policy limit.' } },
      }),
    );
    assertSuccess(second);
    assert.equal(refund.ran.length, 0);
    assert.equal(w.server.requests.length, 2);
    const fed = toolResults(w.server, 1).get('c1') ?? '';
    assert.match(fed, /denied/i);
    assert.ok(fed.includes('Refund exceeds policy limit.'), fed);
    assert.equal(second.output.output, 'Sorry, I could not refund that; escalating to a manager.');
    assert.equal(second.output.usage['approvals:denied'], 1);
  });

  void it('a denial on a direct tool call ends the run approval_denied; the handler never ran', async () => {
    const store = await openStore(path.join(tempDir('db'), 'direct.db'));
    const refund = refundTool();
    const first = await drain(
      runTool(refund.tool, { input: { amount: 500, customer_id: 'c-1' }, store }),
    );
    const gate = one(ofType(first, 'approval'), 'approval');
    assert.equal(gate.path, 'refund');
    assertPaused(first, 'approval_required', [gate.approval_id]);
    const second = await drain(
      runTool(refund.tool, {
        runId: first.output.run_id,
        store,
        resume: { [gate.approval_id]: { approved: false, reason: 'no' } },
      }),
    );
    assert.equal(second.output.status.reason, 'approval_denied');
    assert.equal(second.output.status.code, 'cancelled');
    assert.equal(refund.ran.length, 0);
    assert.equal(second.output.usage['approvals:denied'], 1);

    // And approved, the direct call runs and its result is the output.
    const other = await drain(
      runTool(refund.tool, { input: { amount: 500, customer_id: 'c-2' }, store }),
    );
    const otherGate = one(ofType(other, 'approval'), 'approval');
    const done = await drain(
      runTool(refund.tool, {
        runId: other.output.run_id,
        store,
        resume: { [otherGate.approval_id]: true },
      }),
    );
    assertSuccess(done);
    assert.equal(done.output.output, 'refunded $500 to C-2');
  });

  void it('a cancel keyed to a pending id aborts the run: reason cancelled, no model request, no handler', async () => {
    const w = await world([
      calls(
        call('c1', 'refund', { amount: 250, customer_id: 'c-1' }),
        call('q1', 'ask_user', { question: 'Which account?' }),
      ),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool, ...interactionTools()]);
    const first = await drain(agent.run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const id = approvalFor(first, 'c1').approval_id;
    const question = interactionFor(first, 'q1').interaction_id;
    const second = await drain(
      agent.run({ runId, resume: { [id]: { type: 'cancel', reason: 'user closed the dialog' } } }),
    );
    assert.equal(second.output.status.code, 'cancelled');
    assert.equal(second.output.status.reason, 'cancelled');
    assert.match(second.output.status.message, /user closed the dialog/);
    assert.deepEqual(second.output.pending, []);
    assert.equal(second.output.usage['approvals:cancelled'], 1);
    assert.equal(w.server.requests.length, 1, 'nothing was fed back to the model');
    assert.equal(refund.ran.length, 0);
    assert.equal(ofType(second, 'tool_result').length, 0);
    assert.deepEqual(await pendingIn(w.dbFile, runId), []);
    // Nothing is left to answer.
    await assert.rejects(
      drain(agent.run({ runId, resume: { [question]: 'main' } })),
      ResumeRefusedError,
    );
  });
});

// ---------------------------------------------------------------------------------------------

void describe('approval and interaction ids', () => {
  /** Runs one model turn with these calls under a fixed run id in a fresh database. */
  async function idsFor(
    runId: string,
    toolCalls: ScriptedToolCall[],
  ): Promise<Map<string, string>> {
    const w = await world([calls(...toolCalls)]);
    const out = await drain(
      agentIn(w, [refundTool().tool, ...interactionTools()]).run({ runId, prompt: 'go' }),
    );
    const ids = new Map<string, string>();
    for (const e of ofType(out, 'approval')) ids.set(e.call_id, e.approval_id);
    for (const e of ofType(out, 'interaction')) ids.set(e.call_id, e.interaction_id);
    return ids;
  }
  const big = { amount: 250, customer_id: 'c-1' };

  void it('are deterministic: the same conversation under the same run id derives the same ids', async () => {
    const conversation = [
      call('c1', 'refund', big),
      call('c2', 'refund', big),
      call('q1', 'ask_user', { question: 'Why?' }),
    ];
    const once = await idsFor('run_fixed_ids', conversation);
    const again = await idsFor('run_fixed_ids', conversation);
    assert.equal(once.size, 3);
    assert.deepEqual(again, once);
    assert.match(once.get('c1') ?? '', /^apr_/);
    assert.match(once.get('q1') ?? '', /^int_/);
    assert.notEqual(once.get('c1'), once.get('c2'), 'different calls, different ids');
  });

  void it('differ for a different input, a different run, or a different idempotency_key', async () => {
    const base = (await idsFor('run_fixed_ids', [call('c1', 'refund', big)])).get('c1');
    const otherInput = (
      await idsFor('run_fixed_ids', [call('c1', 'refund', { ...big, amount: 300 })])
    ).get('c1');
    const otherRun = (await idsFor('run_other_ids', [call('c1', 'refund', big)])).get('c1');
    const k1 = async () =>
      (
        await idsFor('run_fixed_ids', [call('c1', 'refund', { ...big, idempotency_key: 'k1' })])
      ).get('c1');
    const key1 = await k1();
    const key1Again = await k1();
    const key2 = (
      await idsFor('run_fixed_ids', [call('c1', 'refund', { ...big, idempotency_key: 'k2' })])
    ).get('c1');
    assert.ok(base && otherInput && otherRun && key1 && key2);
    assert.equal(new Set([base, otherInput, otherRun, key1, key2]).size, 5);
    assert.equal(key1Again, key1);
  });
});
