// Redaction in the runtime: secrets masked on every event, in every database column and in file
// previews, and approvalRedactor for what the reviewer sees, while handlers and files get the
// real values. Real loopback model server, real sql.js database files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { SqlJsStore, Tool } from '../../host/runtime/index.js';
import { loadSqlJs } from '../../host/store/sqljs-store.js';
import { fileTools } from '../../host/tools/files.js';
import { openStore, tempDir } from '../support/scratch.js';
import { type RefundInput, refundTool } from '../support/refund.js';
import {
  agentIn,
  approvalFor,
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
    // A finished run's events are one deflated row (packed_events): read as the text they hold.
    for (const result of db.exec('SELECT body FROM packed_events')) {
      for (const [body] of result.values) {
        for (const [, , , text] of JSON.parse(
          inflateRawSync(body as Uint8Array).toString('utf8'),
        ) as string[][]) {
          out.push(`events: ${text}`);
        }
      }
    }
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

const SK = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123456';
const GHP = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const AKIA = 'AKIAIOSFODNN7EXAMPLE';
const PEM_BODY = 'MIIEpAIBAAKCAQEAx8YkPrivateBody';
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`;
const CUSTOMER = 'cust-8812-private';
const PASSWORD = 'hunter2-correct-horse';

// ---------------------------------------------------------------------------------------------

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
