// The runtime's semantics (SPEC §2, and the gates of §4) end to end: agents talk to a real
// OpenAI-compatible server on loopback through the real `openai` client, runs live in real
// sql.js database files in temp dirs, and file tools work on real temp workspaces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { type ScriptedToolCall } from '../../host/model/scripted-server.js';
import {
  ResumeRefusedError,
  runTool,
  SqlJsStore,
  suspend,
  Tool,
  type ResumeMap,
  type ToolConfig,
} from '../../host/runtime/index.js';
import { sha256 } from '../../host/runtime/ids.js';
import { loadSqlJs } from '../../host/store/sqljs-store.js';
import { fileTools } from '../../host/tools/files.js';
import { interactionTools } from '../../host/tools/interact.js';
import { openStore, tempDir } from '../support/scratch.js';
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

/** What another process sees in the database file: a fresh store on the same file. */
async function pendingIn(dbFile: string, runId: string): Promise<string[]> {
  const fresh = await openStore(dbFile);
  return fresh
    .pending(runId)
    .map((p) => p.id)
    .sort();
}

/** Every text value in every table of the database file, read with sql.js directly. */
/**
 * Every text column of the database as `sqlite3` would show it. Recent commits live in the
 * journal until the next snapshot, so the database is first written out whole.
 */
async function readableColumns(dbFile: string): Promise<string[]> {
  const SQL = await loadSqlJs();
  const whole = path.join(tempDir('snapshot'), 'whole.db');
  const store = await SqlJsStore.open(dbFile);
  store.writeTo(whole);
  store.close();
  const db = new SQL.Database(fs.readFileSync(whole));
  try {
    const out: string[] = [];
    const tables = db.exec("SELECT name FROM sqlite_master WHERE type = 'table'")[0]?.values ?? [];
    for (const [name] of tables) {
      for (const result of db.exec(`SELECT * FROM "${String(name)}"`)) {
        for (const row of result.values) {
          for (const value of row)
            if (typeof value === 'string') out.push(`${String(name)}: ${value}`);
        }
      }
    }
    return out;
  } finally {
    db.close();
  }
}

function assertNoLeak(where: string, text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `${where} shows ${JSON.stringify(secret)}:\n${text}`);
  }
}

// A refund tool in the seeds' image: gated above $100, zod coercion and a transform.
const RefundParams = z.object({
  amount: z.coerce.number().positive(),
  customer_id: z.string().transform((s) => s.trim().toUpperCase()),
  note: z.string().optional(),
  idempotency_key: z.string().optional(),
});
type RefundInput = z.output<typeof RefundParams>;

function refundTool(config: Partial<ToolConfig<typeof RefundParams>> = {}) {
  const ran: RefundInput[] = [];
  const gateSaw: RefundInput[] = [];
  const tool = Tool({
    name: 'refund',
    description: 'Refund a customer.',
    params: RefundParams,
    requiresApproval: (input) => {
      gateSaw.push(input);
      return input.amount > 100;
    },
    handler: (input) => {
      ran.push(input);
      return `refunded $${input.amount} to ${input.customer_id}`;
    },
    ...config,
  });
  return { tool, ran, gateSaw };
}

async function waitUntilPast(iso: string): Promise<void> {
  const deadline = Date.parse(iso);
  while (Date.now() <= deadline) await new Promise((r) => setTimeout(r, 2));
}

// ---------------------------------------------------------------------------------------------

void describe('gate: requiresApproval and approval prompts', () => {
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

const SK = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123456';
const GHP = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const AKIA = 'AKIAIOSFODNN7EXAMPLE';
const PEM_BODY = 'MIIEpAIBAAKCAQEAx8YkPrivateBody';
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`;
const CUSTOMER = 'cust-8812-private';
const PASSWORD = 'hunter2-correct-horse';

void describe('redaction', () => {
  void it('masks keys at any depth, default keys and value patterns on every event and DB column; the handler sees the real input', async () => {
    const w = await world([
      {
        text: `Using ${SK} to deploy.`,
        toolCalls: [
          call('c1', 'deploy', {
            target: 'prod',
            customer_id: CUSTOMER,
            settings: {
              password: PASSWORD,
              nested: [{ customer_id: CUSTOMER, label: 'primary' }],
            },
            note: `key ${GHP}`,
          }),
        ],
      },
      say(`Done. The token was ${GHP}.`),
    ]);
    const seen: unknown[] = [];
    const deploy = Tool({
      name: 'deploy',
      description: 'Deploy',
      params: z.object({
        target: z.string(),
        customer_id: z.string(),
        settings: z.object({
          password: z.string(),
          nested: z.array(z.object({ customer_id: z.string(), label: z.string() })),
        }),
        note: z.string(),
      }),
      requiresApproval: true,
      approvalRedactKeys: ['customer_id'],
      handler: (input) => {
        seen.push(input);
        return `deployed with ${AKIA}\n${PEM}`;
      },
    });
    const agent = agentIn(w, [deploy]);
    const first = await drain(agent.run({ prompt: `deploy with ${SK}` }));
    const gate = approvalFor(first, 'c1');
    const masked = {
      target: 'prod',
      customer_id: '***',
      settings: { password: '***', nested: [{ customer_id: '***', label: 'primary' }] },
      note: 'key ***',
    };
    assert.deepEqual(gate.input, masked);
    assert.deepEqual(one(ofType(first, 'tool_call'), 'tool_call').input, masked);
    assert.ok(ofType(first, 'delta').some((d) => d.text.includes('***')));
    assert.equal(one(ofType(first, 'start'), 'start').prompt, 'deploy with ***');

    // What another process reads while the run is paused.
    const paused = await openStore(w.dbFile);
    const row = one(paused.pending(first.output.run_id), 'pending row');
    assert.deepEqual((row.event as { input: unknown }).input, masked);

    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: {
          [gate.approval_id]: { approved: true, approver_id: 'alice', comment: `rotated ${SK}` },
        },
      }),
    );
    assertSuccess(second);
    // The handler got the real thing.
    assert.deepEqual(seen, [
      {
        target: 'prod',
        customer_id: CUSTOMER,
        settings: { password: PASSWORD, nested: [{ customer_id: CUSTOMER, label: 'primary' }] },
        note: `key ${GHP}`,
      },
    ]);
    const result = one(ofType(second, 'tool_result'), 'tool_result');
    assert.ok(result.ok);
    assert.match(result.output, /^deployed with \*\*\*/);
    assert.equal(second.output.output, 'Done. The token was ***.');

    const secrets = [SK, GHP, AKIA, PEM_BODY, CUSTOMER, PASSWORD];
    for (const e of [...first.events, ...second.events]) {
      assertNoLeak(`${e.type} event`, JSON.stringify(e), secrets);
    }
    // The database as any reader sees it: events, pending, decisions, segments, runs.
    const fresh = await openStore(w.dbFile);
    const runId = first.output.run_id;
    const stored = fresh.events(runId);
    assert.ok(stored.some((e) => e.event.type === 'tool_result'));
    assertNoLeak('events table', JSON.stringify(stored), secrets);
    const decision = one(fresh.decisions(runId), 'decision');
    assert.equal((decision.resolution as { comment: string }).comment, 'rotated ***');
    assertNoLeak('decisions table', JSON.stringify(fresh.decisions(runId)), secrets);
    assertNoLeak('segments table', JSON.stringify(fresh.segments(runId)), secrets);
    const columns = await readableColumns(w.dbFile);
    assert.ok(columns.some((c) => c.startsWith('events:') && c.includes('***')));
    assertNoLeak('a text column of the database file', columns.join('\n'), secrets);
  });

  void it('approvalRedactor masks what the reviewer sees; the handler receives the unredacted input', async () => {
    const w = await world([
      calls(call('c1', 'email', { to: 'jane.doe@example.com', body: 'Your refund is on its way' })),
      say('sent'),
    ]);
    const sentTo: string[] = [];
    const email = Tool({
      name: 'email',
      description: 'Send an email',
      params: z.object({ to: z.string(), body: z.string() }),
      requiresApproval: true,
      approvalRedactor: (input) => ({ ...input, to: input.to.replace(/^[^@]+/, '***') }),
      handler: (input) => {
        sentTo.push(input.to);
        return 'sent';
      },
    });
    const agent = agentIn(w, [email]);
    const first = await drain(agent.run({ prompt: 'email jane' }));
    const gate = approvalFor(first, 'c1');
    assert.deepEqual(gate.input, { to: '***@example.com', body: 'Your refund is on its way' });
    assert.deepEqual(one(ofType(first, 'tool_call'), 'tool_call').input, gate.input);
    // The reviewer corrects the address: the audit trail masks it the same way.
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: {
          [gate.approval_id]: { approved: true, override_input: { to: 'john.roe@example.com' } },
        },
      }),
    );
    assertSuccess(second);
    assert.deepEqual(sentTo, ['john.roe@example.com']);
    const decision = one((await openStore(w.dbFile)).decisions(first.output.run_id), 'decision');
    assert.deepEqual((decision.resolution as { override_input: unknown }).override_input, {
      to: '***@example.com',
    });
    assertNoLeak('the database file', (await readableColumns(w.dbFile)).join('\n'), [
      'jane.doe',
      'john.roe',
    ]);
  });

  void it('a tool call with arguments the approvalRedactor cannot handle goes back to the model as invalid, not a crash', async () => {
    const w = await world([calls(call('c1', 'email', { body: 'no recipient' })), say('retrying')]);
    const email = Tool({
      name: 'email',
      description: 'Send an email',
      params: z.object({ to: z.string(), body: z.string() }),
      requiresApproval: true,
      approvalRedactor: (input) => ({ ...input, to: input.to.replace(/^[^@]+/, '***') }),
      handler: () => 'sent',
    });
    const out = await drain(agentIn(w, [email]).run({ prompt: 'email' }));
    assertSuccess(out);
    assert.match(toolResults(w.server, 1).get('c1') ?? '', /Invalid arguments/);
  });

  void it('masks value patterns inside file previews (diff) while the file gets the real content', async () => {
    const w = await world([
      calls(call('c1', 'write_file', { path: '.env', content: `OPENAI_KEY=${SK}\n` })),
      say('wrote it'),
    ]);
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'save my key' }));
    const gate = approvalFor(first, 'c1');
    assert.ok(gate.preview);
    assert.match(gate.preview.diff, /\+OPENAI_KEY=\*\*\*/);
    for (const e of first.events) assertNoLeak(`${e.type} event`, JSON.stringify(e), [SK]);
    const second = await drain(
      agent.run({ runId: first.output.run_id, resume: { [gate.approval_id]: true } }),
    );
    assertSuccess(second);
    assert.equal(fs.readFileSync(path.join(w.dir, '.env'), 'utf8'), `OPENAI_KEY=${SK}\n`);
    assertNoLeak('the database file', (await readableColumns(w.dbFile)).join('\n'), [SK]);
  });

  void it("masks override_input like the tool's input in the audit trail (decisions, segments)", async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'c-wrong' })),
      say('ok'),
    ]);
    const ran: RefundInput[] = [];
    const refund = refundTool({
      approvalRedactKeys: ['customer_id'],
      // Its result does not echo the id (a handler's own output is only pattern-masked).
      handler: (input) => {
        ran.push(input);
        return 'refunded';
      },
    });
    const agent = agentIn(w, [refund.tool]);
    const first = await drain(agent.run({ prompt: 'refund' }));
    const gate = approvalFor(first, 'c1');
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: {
          [gate.approval_id]: {
            approved: true,
            comment: 'fixed the id',
            override_input: { customer_id: 'cust-secret-999' },
          },
        },
      }),
    );
    assertSuccess(second);
    assert.equal(ran[0]?.customer_id, 'CUST-SECRET-999', 'the handler got the override');
    const fresh = await openStore(w.dbFile);
    const decision = one(fresh.decisions(first.output.run_id), 'decision');
    const resolution = decision.resolution as { override_input: { customer_id: string } };
    assert.equal(resolution.override_input.customer_id, '***');
    assert.equal((decision.resolution as { comment: string }).comment, 'fixed the id');
    const segment = fresh.segments(first.output.run_id).find((s) => s.kind === 'resume');
    assert.deepEqual(segment?.resume, {
      [gate.approval_id]: {
        approved: true,
        comment: 'fixed the id',
        override_input: { customer_id: '***' },
      },
    });
    assertNoLeak('the database file', (await readableColumns(w.dbFile)).join('\n'), [
      'cust-secret-999',
      'CUST-SECRET-999',
    ]);
  });
});

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
        const { Agent, SqlJsStore, Tool } = require('./host/runtime/index.ts');
        const { OpenAIChatModel } = require('./host/model/openai-model.ts');
        (async () => {
          const store = await SqlJsStore.open(process.env.DB);
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
        env: { ...process.env, DB: w.dbFile, MARKS: marks, BASE: w.server.baseURL, WS: w.dir },
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

// ---------------------------------------------------------------------------------------------

void describe('file tools through an agent', () => {
  void it('edit, create and delete wait behind gates with previews; files change only after approval', async () => {
    const w = await world([
      calls(
        call('e1', 'edit_file', {
          path: 'src/app.ts',
          old_string: 'const y = 2;',
          new_string: 'const y = 3;',
        }),
        call('w1', 'write_file', { path: 'docs/new.md', content: '# New\n' }),
        call('d1', 'delete_file', { path: 'old.txt' }),
      ),
      say('Changed three files.'),
    ]);
    const original = 'const x = 1;\nconst y = 2;\n';
    fs.mkdirSync(path.join(w.dir, 'src'));
    fs.writeFileSync(path.join(w.dir, 'src/app.ts'), original);
    fs.writeFileSync(path.join(w.dir, 'old.txt'), 'bye\n');
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });

    const first = await drain(agent.run({ prompt: 'change things' }));
    const edit = approvalFor(first, 'e1');
    assert.equal(edit.tool, 'edit_file');
    assert.equal(edit.path, 'coder.edit_file');
    assert.equal(edit.prompt, 'Edit src/app.ts?');
    assert.ok(edit.preview);
    assert.equal(edit.preview.kind, 'edit');
    assert.equal(edit.preview.path, 'src/app.ts');
    assert.equal(edit.preview.base_sha256, sha256(original));
    assert.equal(edit.preview.before_bytes, Buffer.byteLength(original));
    assert.equal(edit.preview.after_bytes, Buffer.byteLength(original));
    assert.match(edit.preview.diff, /^-const y = 2;$/m);
    assert.match(edit.preview.diff, /^\+const y = 3;$/m);
    const create = approvalFor(first, 'w1').preview;
    assert.equal(create?.kind, 'create');
    assert.equal(create?.base_sha256, null);
    const del = approvalFor(first, 'd1').preview;
    assert.equal(del?.kind, 'delete');
    assert.equal(del?.after_bytes, 0);
    // Nothing happened yet.
    assert.equal(fs.readFileSync(path.join(w.dir, 'src/app.ts'), 'utf8'), original);
    assert.ok(!fs.existsSync(path.join(w.dir, 'docs/new.md')));
    assert.ok(fs.existsSync(path.join(w.dir, 'old.txt')));

    const resume: ResumeMap = Object.fromEntries(
      ofType(first, 'approval').map((e) => [e.approval_id, true]),
    );
    const second = await drain(agent.run({ runId: first.output.run_id, resume }));
    assertSuccess(second);
    assert.equal(
      fs.readFileSync(path.join(w.dir, 'src/app.ts'), 'utf8'),
      'const x = 1;\nconst y = 3;\n',
    );
    assert.equal(fs.readFileSync(path.join(w.dir, 'docs/new.md'), 'utf8'), '# New\n');
    assert.ok(!fs.existsSync(path.join(w.dir, 'old.txt')));
  });

  void it('a file changed between pause and approval is not written; the gate comes back stale with a new id', async () => {
    const w = await world([
      calls(call('e1', 'edit_file', { path: 'a.txt', old_string: 'two', new_string: 'TWO' })),
      say('done'),
    ]);
    const file = path.join(w.dir, 'a.txt');
    fs.writeFileSync(file, 'one\ntwo\nthree\n');
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'edit' }));
    const runId = first.output.run_id;
    const gate = approvalFor(first, 'e1');

    const changed = 'one\ntwo\nthree\nfour (added by the developer)\n';
    fs.writeFileSync(file, changed);
    const second = await drain(agent.run({ runId, resume: { [gate.approval_id]: true } }));
    assert.equal(fs.readFileSync(file, 'utf8'), changed, 'nothing was written');
    const again = approvalFor(second, 'e1');
    assert.notEqual(again.approval_id, gate.approval_id);
    assert.equal(again.preview?.stale, true);
    assert.equal(again.preview?.base_sha256, sha256(changed));
    assert.match(again.preview?.diff ?? '', /four \(added by the developer\)/);
    assertPaused(second, 'approval_required', [again.approval_id]);

    const third = await drain(agent.run({ runId, resume: { [again.approval_id]: true } }));
    assertSuccess(third);
    assert.equal(fs.readFileSync(file, 'utf8'), 'one\nTWO\nthree\nfour (added by the developer)\n');
  });

  void it('policy rules: an allow rule for docs/** lets those writes through ungated; others still wait', async () => {
    const w = await world([
      calls(
        call('w1', 'write_file', { path: 'docs/guide.md', content: 'guide\n' }),
        call('w2', 'write_file', { path: 'src/main.ts', content: 'main\n' }),
      ),
    ]);
    const agent = agentIn(w, fileTools(w.dir), {
      name: 'coder',
      policy: [{ tool: 'write_file', paths: ['docs/**'], action: 'allow' }],
    });
    const out = await drain(agent.run({ prompt: 'write' }));
    const gate = one(ofType(out, 'approval'), 'approval');
    assert.equal(gate.call_id, 'w2');
    assertPaused(out, 'approval_required', [gate.approval_id]);
    assert.equal(fs.readFileSync(path.join(w.dir, 'docs/guide.md'), 'utf8'), 'guide\n');
    assert.ok(!fs.existsSync(path.join(w.dir, 'src/main.ts')));
  });

  void it('policy rules: a deny rule tells the model the call is denied, and nothing is touched', async () => {
    const w = await world([
      calls(call('d1', 'delete_file', { path: 'keep.txt' })),
      say('I was not allowed to delete it.'),
    ]);
    fs.writeFileSync(path.join(w.dir, 'keep.txt'), 'keep\n');
    const agent = agentIn(w, fileTools(w.dir), {
      name: 'coder',
      policy: [{ tool: 'delete_file', action: 'deny' }],
    });
    const out = await drain(agent.run({ prompt: 'delete' }));
    assertSuccess(out);
    assert.equal(ofType(out, 'approval').length, 0);
    assert.match(toolResults(w.server, 1).get('d1') ?? '', /denied/i);
    assert.ok(fs.existsSync(path.join(w.dir, 'keep.txt')));
  });

  void it("scope 'run' with cover 'tool' allows the tool for the rest of that run only", async () => {
    const w = await world([
      calls(call('w1', 'write_file', { path: 'a.txt', content: 'a\n' })),
      calls(call('w2', 'write_file', { path: 'b.txt', content: 'b\n' })),
      say('wrote both'),
      calls(call('w3', 'write_file', { path: 'c.txt', content: 'c\n' })),
    ]);
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'write' }));
    const id = approvalFor(first, 'w1').approval_id;
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: { [id]: { approved: true, scope: 'run', cover: 'tool' } },
      }),
    );
    assertSuccess(second);
    assert.equal(ofType(second, 'approval').length, 0, 'the second write was not gated');
    assert.equal(fs.readFileSync(path.join(w.dir, 'b.txt'), 'utf8'), 'b\n');
    assert.equal(second.output.usage['approvals:required'], 1);

    const other = await drain(agent.run({ prompt: 'write c' }));
    assert.equal(approvalFor(other, 'w3').tool, 'write_file', 'a new run asks again');
    assert.ok(!fs.existsSync(path.join(w.dir, 'c.txt')));
  });

  void it("scope 'workspace' with cover 'tool' allows the tool in new runs of the same workspace, durably", async () => {
    const w = await world([
      calls(call('w1', 'write_file', { path: 'a.txt', content: 'a\n' })),
      say('wrote a'),
      calls(call('w2', 'write_file', { path: 'b.txt', content: 'b\n' })),
      say('wrote b'),
      calls(call('w3', 'write_file', { path: 'c.txt', content: 'c\n' })),
    ]);
    const first = await drain(
      agentIn(w, fileTools(w.dir), { name: 'coder' }).run({ prompt: 'write a' }),
    );
    const id = approvalFor(first, 'w1').approval_id;
    const second = await drain(
      agentIn(w, fileTools(w.dir), { name: 'coder' }).run({
        runId: first.output.run_id,
        resume: { [id]: { approved: true, scope: 'workspace', cover: 'tool' } },
      }),
    );
    assertSuccess(second);

    // A new run, from another store instance on the same database file.
    const later = await openStore(w.dbFile);
    const third = await drain(
      agentIn(w, fileTools(w.dir), { name: 'coder', store: later }).run({ prompt: 'write b' }),
    );
    assertSuccess(third);
    assert.equal(ofType(third, 'approval').length, 0);
    assert.equal(fs.readFileSync(path.join(w.dir, 'b.txt'), 'utf8'), 'b\n');

    // Another workspace sharing the database is not covered by the rule.
    const elsewhere = tempDir('ws2');
    const fourth = await drain(
      agentIn(w, fileTools(elsewhere), { name: 'coder', store: later, workspace: elsewhere }).run({
        prompt: 'write c',
      }),
    );
    assertPaused(fourth, 'approval_required', [approvalFor(fourth, 'w3').approval_id]);
  });

  void it("a denial with scope 'run' refuses later calls of that tool in the run without asking", async () => {
    const w = await world([
      calls(call('d1', 'delete_file', { path: 'a.txt' })),
      calls(call('d2', 'delete_file', { path: 'b.txt' })),
      say('I will leave the files alone.'),
    ]);
    fs.writeFileSync(path.join(w.dir, 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(w.dir, 'b.txt'), 'b\n');
    const agent = agentIn(w, fileTools(w.dir), { name: 'coder' });
    const first = await drain(agent.run({ prompt: 'delete' }));
    const id = approvalFor(first, 'd1').approval_id;
    const second = await drain(
      agent.run({
        runId: first.output.run_id,
        resume: { [id]: { approved: false, reason: 'never delete', scope: 'run', cover: 'tool' } },
      }),
    );
    assertSuccess(second);
    assert.equal(ofType(second, 'approval').length, 0);
    assert.match(toolResults(w.server, 2).get('d2') ?? '', /denied/i);
    assert.ok(fs.existsSync(path.join(w.dir, 'a.txt')) && fs.existsSync(path.join(w.dir, 'b.txt')));
  });
});

void describe('always-allow without a configured workspace', () => {
  void it("scope 'workspace' still applies to new runs on the same store", async () => {
    const w = await world([
      calls(call('c1', 'refund', { amount: 250, customer_id: 'a' })),
      say('ok'),
      calls(call('c2', 'refund', { amount: 300, customer_id: 'b' })),
      say('ok again'),
    ]);
    const refund = refundTool();
    const agent = agentIn(w, [refund.tool], { workspace: undefined });
    const first = await drain(agent.run({ prompt: 'refund a' }));
    const id = approvalFor(first, 'c1').approval_id;
    assertSuccess(
      await drain(
        agent.run({
          runId: first.output.run_id,
          resume: { [id]: { approved: true, scope: 'workspace' } },
        }),
      ),
    );
    const later = await drain(agent.run({ prompt: 'refund b' }));
    assert.equal(ofType(later, 'approval').length, 0, 'the choice was remembered');
    assertSuccess(later);
    assert.deepEqual(
      refund.ran.map((r) => r.customer_id),
      ['A', 'B'],
    );
  });
});
