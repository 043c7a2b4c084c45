// Resuming paused runs: resolutions (objects, override_input, expiry), exactly-once claims across
// stores on the same file, run status and usage counters over the pause lifecycle, and runs
// interrupted by a dying process. Real loopback model server, real sql.js database files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ResumeRefusedError, Tool } from '../../host/runtime/index.js';
import { interactionTools } from '../../host/tools/interact.js';
import { openStore, storeLocation, tempDir } from '../support/scratch.js';
import { pendingIn, type RefundInput, refundTool } from '../support/refund.js';
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

async function waitUntilPast(iso: string): Promise<void> {
  const deadline = Date.parse(iso);
  while (Date.now() <= deadline) await new Promise((r) => setTimeout(r, 2));
}

// ---------------------------------------------------------------------------------------------

void describe('resolutions', () => {
  void it('an object resolution is stored in decisions with approver_id, comment, reason and a host-stamped decided_at', async () => {
    const w = await world([
      calls(
        call('c1', 'refund', { amount: 250, customer_id: 'a' }),
        call('c2', 'refund', { amount: 300, customer_id: 'b' }),
      ),
      say('ok'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool]);
    const first = await drain(agent.run({ prompt: 'refunds' }));
    const a = approvalFor(first, 'c1').approval_id;
    const b = approvalFor(first, 'c2').approval_id;
    const before = new Date().toISOString();
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: {
          [a]: { approved: true, approver_id: 'user_42', comment: 'Verified invoice.' },
          [b]: { approved: false, approver_id: 'user_42', reason: 'Over the limit.' },
        },
      }),
    );
    const afterwards = new Date().toISOString();
    assertSuccess(second);
    assert.deepEqual(
      refund.ran.map((r) => r.customer_id),
      ['A'],
    );
    const decisions = new Map(
      (await openStore(w.dbFile)).decisions(first.output.run_id).map((d) => [d.id, d]),
    );
    const da = decisions.get(a);
    const db = decisions.get(b);
    assert.ok(da && db);
    assert.deepEqual(
      { ...(da.resolution as object), decided_at: undefined },
      {
        approved: true,
        approver_id: 'user_42',
        comment: 'Verified invoice.',
        decided_at: undefined,
      },
    );
    assert.equal((db.resolution as { reason: string }).reason, 'Over the limit.');
    assert.equal((db.resolution as { approved: boolean }).approved, false);
    for (const d of [da, db]) {
      const stamped = (d.resolution as { decided_at: string }).decided_at;
      assert.ok(stamped >= before && stamped <= afterwards, `decided_at ${stamped}`);
      assert.ok(d.decided_at >= before && d.decided_at <= afterwards);
    }
    assert.equal(second.output.usage['approvals:approved'], 1);
    assert.equal(second.output.usage['approvals:denied'], 1);
  });

  void it('override_input merges over the proposal and is re-validated; invalid → refused, nothing ran, still pending, a valid one then works', async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-42', note: 'from chat' })),
      say('ok'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool]);
    const first = await drain(agent.run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const id = approvalFor(first, 'c1').approval_id;

    await assert.rejects(
      drain(
        agent.run({ runId, resume: { [id]: { approved: true, override_input: { amount: -5 } } } }),
      ),
      (err: unknown) => err instanceof ResumeRefusedError && /override_input/.test(err.message),
    );
    assert.equal(refund.ran.length, 0, 'the handler did not run');
    assert.deepEqual(await pendingIn(w.dbFile, runId), [id], 'the gate is still pending');
    assert.equal((await openStore(w.dbFile)).getRun(runId)?.row.status, 'paused');
    assert.equal(w.server.requests.length, 1);

    const second = await drain(
      agent.run({ runId, resume: { [id]: { approved: true, override_input: { amount: 120 } } } }),
    );
    assertSuccess(second);
    assert.deepEqual(refund.ran, [{ amount: 120, customer_id: 'C-42', note: 'from chat' }]);
    assert.equal(toolResults(w.server, 1).get('c1'), 'refunded $120 to C-42');
  });

  void it('override_input works with schemas whose transform changes the type', async () => {
    const w = await world([
      calls(call('c1', 'label', { tags: 'bug,ui', title: 'Crash on save' })),
      say('ok'),
    ]);
    const got: unknown[] = [];
    const label = Tool({
      name: 'label',
      description: 'Label an issue',
      params: z.object({ tags: z.string().transform((s) => s.split(',')), title: z.string() }),
      requiresApproval: true,
      handler: (input) => {
        got.push(input);
        return 'labelled';
      },
    });
    const agent = agentIn(w, [label]);
    const first = await drain(agent.run({ prompt: 'label' }));
    const id = approvalFor(first, 'c1').approval_id;
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: { [id]: { approved: true, override_input: { title: 'Crash on save (macOS)' } } },
      }),
    );
    assertSuccess(second);
    assert.deepEqual(got, [{ tags: ['bug', 'ui'], title: 'Crash on save (macOS)' }]);
  });

  void it('a resolution whose expires_at has passed is ignored, counted, and the gate is emitted again and still resumable', async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-1' })),
      say('ok'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool]);
    const first = await drain(agent.run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const id = approvalFor(first, 'c1').approval_id;

    const past = new Date(Date.now() - 60_000).toISOString();
    const second = await drain(
      agent.run({ runId, resume: { [id]: { approved: true, expires_at: past } } }),
    );
    assert.equal(refund.ran.length, 0);
    assert.ok(ofType(second, 'warning').some((e) => e.code === 'approval_expired'));
    const again = approvalFor(second, 'c1');
    assert.equal(again.approval_id, id, 'the same call keeps its approval id');
    assertPaused(second, 'approval_required', [id]);
    assert.equal(second.output.usage['approvals:expired'], 1);
    assert.equal(second.output.usage['approvals:required'], 2);
    assert.equal(second.output.usage['approvals:approved'], 0);
    assert.deepEqual(await pendingIn(w.dbFile, runId), [id]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const third = await drain(
      agent.run({ runId, resume: { [id]: { approved: true, expires_at: future } } }),
    );
    assertSuccess(third);
    assert.equal(refund.ran.length, 1);
    assert.equal(third.output.usage['approvals:approved'], 1);
  });

  void it("a decision after the gate's approvalTimeoutMs is ignored, counted and the gate re-emitted with a new expires_at", async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-1' })),
      say('ok'),
    ]);
    const ran: RefundInput[] = [];
    const handler = (input: RefundInput) => {
      ran.push(input);
      return 'refunded';
    };
    const quick = refundTool({ approvalTimeoutMs: 1, handler }).tool;
    const first = await drain(agentIn(w, [quick]).run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const gate = approvalFor(first, 'c1');
    assert.ok(gate.expires_at, 'the ApprovalEvent carries the time limit');
    assert.ok(!Number.isNaN(Date.parse(gate.expires_at)));
    await waitUntilPast(gate.expires_at);

    // The developer answers late; meanwhile airlock.approvalTimeout became 10 minutes
    // (the agent-wide default, since this tool has no limit of its own).
    const patient = refundTool({ handler }).tool;
    const agent = agentIn(w, [patient], { approvalTimeoutMs: 600_000 });
    const second = await drain(agent.run({ runId, resume: { [gate.approval_id]: true } }));
    assert.equal(ran.length, 0, 'a late decision runs nothing');
    assert.ok(ofType(second, 'warning').some((e) => e.code === 'approval_expired'));
    const again = approvalFor(second, 'c1');
    assert.ok(again.expires_at);
    assert.ok(Date.parse(again.expires_at) > Date.parse(gate.expires_at), 'a new limit');
    assertPaused(second, 'approval_required', [again.approval_id]);
    assert.equal(second.output.usage['approvals:expired'], 1);

    const third = await drain(agent.run({ runId, resume: { [again.approval_id]: true } }));
    assertSuccess(third);
    assert.equal(ran.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------

void describe('exactly once', () => {
  void it('a second resume of the same gate, from another store on the same file, ends approval_already_claimed and runs nothing', async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-1' })),
      say('done'),
    ]);
    const refund = refundTool();
    const first = await drain(agentIn(w, [refund.tool]).run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const id = approvalFor(first, 'c1').approval_id;

    const winner = await drain(agentIn(w, [refund.tool]).run({ runId, resume: { [id]: true } }));
    assertSuccess(winner);
    assert.equal(refund.ran.length, 1);
    const requests = w.server.requests.length;

    const otherStore = await openStore(w.dbFile);
    const loser = await drain(
      agentIn(w, [refund.tool], { store: otherStore }).run({ runId, resume: { [id]: true } }),
    );
    assert.equal(loser.output.status.reason, 'approval_already_claimed');
    assert.equal(loser.output.status.code, 'cancelled');
    assert.equal(refund.ran.length, 1, 'the handler ran exactly once');
    assert.equal(w.server.requests.length, requests);
    assert.equal(otherStore.claims(runId).filter((c) => c.id === id).length, 1);
  });

  void it('also while the run is paused on another gate', async () => {
    const w = await world([
      calls(
        call('c1', 'refund', { amount: 250, customer_id: 'c-1' }),
        call('c2', 'refund', { amount: 260, customer_id: 'c-2' }),
      ),
      say('done'),
    ]);
    const refund = refundTool();
    const first = await drain(agentIn(w, [refund.tool]).run({ prompt: 'refund' }));
    const runId = first.output.run_id;
    const a = approvalFor(first, 'c1').approval_id;
    const b = approvalFor(first, 'c2').approval_id;
    const winner = await drain(agentIn(w, [refund.tool]).run({ runId, resume: { [a]: true } }));
    assertPaused(winner, 'approval_required', [b]);
    const otherStore = await openStore(w.dbFile);
    const loser = await drain(
      agentIn(w, [refund.tool], { store: otherStore }).run({ runId, resume: { [a]: true } }),
    );
    assert.equal(loser.output.status.reason, 'approval_already_claimed');
    assert.equal(refund.ran.length, 1);
    assert.deepEqual(await pendingIn(w.dbFile, runId), [b], 'the other gate is still pending');
  });
});

// ---------------------------------------------------------------------------------------------

void describe('run status and usage counters', () => {
  void it('counts every pause lifecycle step and sums tokens across turns and segments', async () => {
    const w = await world([
      {
        toolCalls: [
          call('c1', 'refund', { amount: 250, customer_id: 'a' }),
          call('c2', 'refund', { amount: 300, customer_id: 'b' }),
          call('q1', 'ask_user', { question: 'Reason?' }),
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      },
      { text: 'All done.', usage: { prompt_tokens: 20, completion_tokens: 7 } },
    ]);
    const agent = agentIn(w, [refundTool().tool, ...interactionTools()]);
    const first = await drain(agent.run({ prompt: 'refund both' }));
    const runId = first.output.run_id;
    const a = approvalFor(first, 'c1').approval_id;
    const b = approvalFor(first, 'c2').approval_id;
    const q = interactionFor(first, 'q1').interaction_id;
    assert.equal(typeof first.output.status.message, 'string');
    assert.ok(first.output.status.message.length > 0);
    assert.deepEqual(
      {
        required: first.output.usage['approvals:required'],
        suspends: first.output.usage['suspends:required'],
        prompt: first.output.usage.prompt_tokens,
        completion: first.output.usage.completion_tokens,
      },
      { required: 2, suspends: 1, prompt: 10, completion: 5 },
    );

    const past = new Date(Date.now() - 1000).toISOString();
    const second = await drain(
      agent.run({
        runId,
        resume: { [a]: true, [b]: { approved: true, expires_at: past }, [q]: 'duplicate charge' },
      }),
    );
    assertPaused(second, 'approval_required', [b]);

    const third = await drain(agent.run({ runId, resume: { [b]: false } }));
    assertSuccess(third);
    assert.deepEqual(third.output.usage, {
      'approvals:required': 3,
      'approvals:approved': 1,
      'approvals:denied': 1,
      'approvals:expired': 1,
      'approvals:cancelled': 0,
      'suspends:required': 1,
      prompt_tokens: 30,
      completion_tokens: 12,
    });
    assert.equal(third.output.output, 'All done.');
    // The stored run agrees with the event.
    const row = (await openStore(w.dbFile)).getRun(runId)?.row;
    assert.equal(row?.status, 'success');
    assert.equal(row?.reason, 'completed');
  });
});

// ---------------------------------------------------------------------------------------------

void describe('interrupted runs', () => {
  void it('a run whose process died mid-step reads interrupted and resumes; the handler re-runs from the top', async () => {
    const w = await world([calls(call('s1', 'slow', {})), say('finished')]);
    const marks = path.join(tempDir('marks'), 'handler-started');
    // Another process drives the run and is killed while the handler is running.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
        const fs = require('node:fs');
        const { z } = require('zod');
        const { Agent, openStore, Tool } = require('./host/runtime/index.ts');
        const { OpenAIChatModel } = require('./host/model/openai-model.ts');
        (async () => {
          const store = await openStore(process.env.DB);
          const slow = Tool({
            name: 'slow', description: 'Slow', params: z.object({}),
            handler: () => {
              fs.appendFileSync(process.env.MARKS, 'x');
              return new Promise(() => setInterval(() => undefined, 1000));
            },
          });
          const model = new OpenAIChatModel({ model: 'scripted', baseURL: process.env.BASE, apiKey: 'k', maxRetries: 0 });
          const agent = new Agent({ name: 'support', model, tools: [slow], store, workspace: process.env.WS });
          await agent.run({ prompt: 'go', runId: 'run_interrupted' }).collect();
        })();
        `,
      ],
      {
        cwd: path.resolve(__dirname, '../..'),
        env: {
          ...process.env,
          DB: await storeLocation(w.dbFile),
          MARKS: marks,
          BASE: w.server.baseURL,
          WS: w.dir,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    // A generous guard against a hung child, not a timing assertion.
    const guard = Date.now() + 60_000;
    while (!fs.existsSync(marks)) {
      assert.ok(child.exitCode === null, `the child exited early: ${stderr}`);
      assert.ok(Date.now() < guard, `the child never reached the handler: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;

    const fresh = await openStore(w.dbFile);
    const row = fresh.listRuns().find((r) => r.run_id === 'run_interrupted');
    assert.equal(row?.status, 'interrupted');

    let reruns = 0;
    const slow = Tool({
      name: 'slow',
      description: 'Slow',
      params: z.object({}),
      handler: () => {
        reruns++;
        return 'done at last';
      },
    });
    const resumed = await drain(agentIn(w, [slow]).run({ runId: 'run_interrupted' }));
    assertSuccess(resumed);
    assert.equal(resumed.output.output, 'finished');
    assert.equal(reruns, 1);
    assert.equal(fs.readFileSync(marks, 'utf8'), 'x', 'the killed process started it once');
    assert.equal(w.server.requests.length, 2, 'the model turn before the crash was not repeated');
    assert.equal(toolResults(w.server, 1).get('s1'), 'done at last');
  });
});
