// File tools through an agent and the policy around them: gated edits with previews, stale files,
// allow and deny rules, and always-allow/deny scopes (run, workspace, no configured workspace).
// Real loopback model server, real sql.js database files, real temp workspaces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type ResumeMap } from '../../host/runtime/index.js';
import { sha256 } from '../../host/runtime/ids.js';
import { fileTools } from '../../host/tools/files.js';
import { openStore, tempDir } from '../support/scratch.js';
import { refundTool } from '../support/refund.js';
import {
  agentIn,
  approvalFor,
  assertPaused,
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

// ---------------------------------------------------------------------------------------------

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
