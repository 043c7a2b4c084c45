// SPEC §9 in the runtime: shown gates run only on their own decision, protected paths always
// ask, `.git` is never written, always-allow is as narrow as chosen and revocable, and reads
// honour path rules. Real agents against a scripted model on loopback, real files, real sql.js.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ResumeRefusedError, Tool } from '../../host/runtime/index.js';
import { fileTools } from '../../host/tools/files.js';
import {
  agentIn,
  approvalFor,
  assertPaused,
  assertSuccess,
  call,
  calls,
  drain,
  ofType,
  say,
  toolResults,
  world,
} from '../support/agent-world.js';
import { openStore } from '../support/scratch.js';

const ALLOW_ALL = [{ tool: '*', action: 'allow' as const }];

function put(dir: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}

void describe('a gate that was shown runs only after its own decision (finding 3)', () => {
  void it('a policy loosened while gates wait approves none of them; a tightened one may deny', async () => {
    const w = await world([
      calls(
        call('cfg', 'write_file', {
          path: 'airlock.config.json',
          content: '{"policy":[{"tool":"*","action":"allow"}]}\n',
        }),
        call('new', 'write_file', { path: 'new.txt', content: 'new\n' }),
        call('del', 'delete_file', { path: 'old.txt' }),
      ),
      say('done'),
    ]);
    put(w.dir, 'old.txt', 'old\n');
    const first = await drain(agentIn(w, fileTools(w.dir)).run({ prompt: 'go' }));
    const cfg = approvalFor(first, 'cfg');
    const created = approvalFor(first, 'new');
    const deleted = approvalFor(first, 'del');
    assert.equal(cfg.protected, true, 'airlock.config.json is a protected path');

    const runId = first.output.run_id;
    const afterCfg = await drain(
      agentIn(w, fileTools(w.dir)).run({ runId, resume: { [cfg.approval_id]: true } }),
    );
    assertPaused(afterCfg, 'approval_required', [created.approval_id, deleted.approval_id]);

    // The policy now allows everything (as the approved file would have it): a plain resume
    // still runs neither waiting gate.
    const loosened = await drain(
      agentIn(w, fileTools(w.dir), { policy: ALLOW_ALL }).run({ runId }),
    );
    assertPaused(loosened, 'approval_required', [created.approval_id, deleted.approval_id]);
    assert.ok(!fs.existsSync(path.join(w.dir, 'new.txt')), 'new.txt was not created');
    assert.ok(fs.existsSync(path.join(w.dir, 'old.txt')), 'old.txt was not deleted');
    assert.equal(w.server.requests.length, 1, 'the model was not asked again');

    // Tightened: a deny rule for deletes refuses the waiting delete, with a message.
    const tightened = await drain(
      agentIn(w, fileTools(w.dir), { policy: [{ tool: 'delete_file', action: 'deny' }] }).run({
        runId,
      }),
    );
    assertPaused(tightened, 'approval_required', [created.approval_id]);
    const warning = ofType(tightened, 'warning').find((e) => e.code === 'denied_while_waiting');
    assert.match(warning?.message ?? '', /while it waited for the developer/);
    assert.ok(fs.existsSync(path.join(w.dir, 'old.txt')));

    const approved = await drain(
      agentIn(w, fileTools(w.dir)).run({ runId, resume: { [created.approval_id]: true } }),
    );
    assertSuccess(approved);
    assert.equal(fs.readFileSync(path.join(w.dir, 'new.txt'), 'utf8'), 'new\n');
    assert.match(toolResults(w.server, 1).get('del') ?? '', /Denied by policy while it waited/);
  });
});

void describe('protected paths (finding 7)', () => {
  const PROTECTED = [
    '.vscode/settings.json',
    '.vscode/tasks.json',
    '.env',
    'sub/.env.local',
    '.github/workflows/ci.yml',
    '.gitlab-ci.yml',
    'airlock.config.json',
    'pkg/airlock.config.json',
    '.npmrc',
    'app.code-workspace',
    '.VSCode/settings.json',
    'config/prod.json',
  ];

  void it('always ask under an allow-all policy, and their cards are marked protected', async () => {
    const w = await world([
      calls(
        ...PROTECTED.map((p, i) => call(`p${i}`, 'write_file', { path: p, content: 'x\n' })),
        call('plain', 'write_file', { path: 'docs/readme.md', content: 'hello\n' }),
      ),
      say('done'),
    ]);
    const out = await drain(
      agentIn(w, fileTools(w.dir), { policy: ALLOW_ALL, protectedPaths: ['config/**'] }).run({
        prompt: 'go',
      }),
    );
    const gates = ofType(out, 'approval');
    assert.deepEqual(gates.map((g) => g.preview?.path).sort(), [...PROTECTED].sort());
    for (const gate of gates) assert.equal(gate.protected, true, gate.preview?.path);
    assert.equal(fs.readFileSync(path.join(w.dir, 'docs/readme.md'), 'utf8'), 'hello\n');
    for (const p of PROTECTED) assert.ok(!fs.existsSync(path.join(w.dir, p)), `${p} untouched`);

    // Approving one of them once works; "always allow" on one is refused and changes nothing.
    const env = approvalFor(out, 'p2');
    await assert.rejects(
      drain(
        agentIn(w, fileTools(w.dir)).run({
          runId: out.output.run_id,
          resume: { [env.approval_id]: { approved: true, scope: 'workspace', cover: 'tool' } },
        }),
      ),
      (err: unknown) =>
        err instanceof ResumeRefusedError && /never covers protected paths/.test(err.message),
    );
    assert.deepEqual(w.store.rules(w.dir), []);
    assert.ok(!fs.existsSync(path.join(w.dir, '.env')));
  });

  void it('an always-allow for the whole tool still asks for protected paths', async () => {
    const w = await world([
      calls(call('a', 'write_file', { path: 'a.txt', content: 'a\n' })),
      calls(
        call('b', 'write_file', { path: 'b.txt', content: 'b\n' }),
        call('env', 'write_file', { path: '.env', content: 'X=1\n' }),
      ),
      say('done'),
    ]);
    const first = await drain(agentIn(w, fileTools(w.dir)).run({ prompt: 'go' }));
    const second = await drain(
      agentIn(w, fileTools(w.dir)).run({
        runId: first.output.run_id,
        resume: {
          [approvalFor(first, 'a').approval_id]: {
            approved: true,
            scope: 'workspace',
            cover: 'tool',
          },
        },
      }),
    );
    assertPaused(second, 'approval_required', [approvalFor(second, 'env').approval_id]);
    assert.equal(approvalFor(second, 'env').protected, true);
    assert.equal(fs.readFileSync(path.join(w.dir, 'b.txt'), 'utf8'), 'b\n');
    assert.ok(!fs.existsSync(path.join(w.dir, '.env')));
  });

  void it('writes inside .git at any depth are refused outright, with no gate', async () => {
    const targets = ['vendor/lib/.git/config', 'vendor/lib/.GIT/hooks/pre-commit', '.git/config'];
    const w = await world([
      calls(
        ...targets.map((p, i) =>
          call(`g${i}`, 'write_file', { path: p, content: '[core]\n\tfsmonitor = touch PWNED\n' }),
        ),
        call('del', 'delete_file', { path: 'vendor/lib/.git/HEAD' }),
      ),
      say('done'),
    ]);
    put(w.dir, 'vendor/lib/.git/HEAD', 'ref: refs/heads/main\n');
    const out = await drain(
      agentIn(w, fileTools(w.dir), { policy: [{ tool: '*', action: 'allow' }] }).run({
        prompt: 'go',
      }),
    );
    assertSuccess(out);
    assert.equal(ofType(out, 'approval').length, 0, 'nothing to approve: refused');
    const results = toolResults(w.server, 1);
    for (const id of ['g0', 'g1', 'g2', 'del']) {
      assert.match(results.get(id) ?? '', /\.git/, `${id}: ${results.get(id)}`);
    }
    assert.ok(!fs.existsSync(path.join(w.dir, 'vendor/lib/.git/config')));
    assert.ok(fs.existsSync(path.join(w.dir, 'vendor/lib/.git/HEAD')));
  });
});

void describe('standing rules (finding 8)', () => {
  void it('are as narrow as chosen, never beat a configured deny, are listed and revocable', async () => {
    const w = await world([
      calls(call('a', 'write_file', { path: 'docs/a.md', content: 'a\n' })),
      calls(
        call('env', 'write_file', { path: 'config.env', content: 'KEY=1\n' }),
        call('b', 'write_file', { path: 'docs/b.md', content: 'b\n' }),
      ),
      calls(call('c', 'write_file', { path: 'docs/sub/c.md', content: 'c\n' })),
      say('done'),
      calls(call('d', 'write_file', { path: 'docs/d.md', content: 'd\n' })),
    ]);
    const policy = [
      { tool: 'write_file', paths: ['*.env'], action: 'deny' as const },
      { tool: 'write_file', action: 'ask' as const },
    ];
    const agent = () => agentIn(w, fileTools(w.dir), { policy });
    const first = await drain(agent().run({ prompt: 'docs' }));
    const runId = first.output.run_id;
    const fileRule = await drain(
      agent().run({
        runId,
        resume: {
          [approvalFor(first, 'a').approval_id]: {
            approved: true,
            scope: 'workspace',
            approver_id: 'dana',
          },
        },
      }),
    );
    const added = ofType(fileRule, 'warning').find((e) => e.code === 'rule_added');
    assert.match(added?.message ?? '', /Always allow write_file on docs\/a\.md for this workspace/);
    // The file rule covers docs/a.md only: docs/b.md asks; the configured deny still denies.
    assertPaused(fileRule, 'approval_required', [approvalFor(fileRule, 'b').approval_id]);
    assert.match(toolResults(w.server, 1).get('a') ?? '', /Created docs\/a\.md/);
    assert.ok(!fs.existsSync(path.join(w.dir, 'config.env')));

    const folderRule = await drain(
      agent().run({
        runId,
        resume: {
          [approvalFor(fileRule, 'b').approval_id]: {
            approved: true,
            scope: 'workspace',
            cover: 'folder',
            approver_id: 'dana',
          },
        },
      }),
    );
    assertSuccess(folderRule);
    assert.equal(ofType(folderRule, 'approval').length, 0, 'docs/sub/c.md is under docs/**');
    assert.equal(fs.readFileSync(path.join(w.dir, 'docs/sub/c.md'), 'utf8'), 'c\n');
    assert.match(toolResults(w.server, 2).get('env') ?? '', /Denied by policy/);

    const rules = w.store.rules(w.dir);
    assert.deepEqual(
      rules.map((r) => [r.tool, r.paths, r.action, r.cover, r.run_id, r.created_by]),
      [
        ['write_file', ['docs/a.md'], 'allow', 'file', null, 'dana'],
        ['write_file', ['docs/**'], 'allow', 'folder', null, 'dana'],
      ],
    );

    // Revoked (from another store on the same file): a new run asks again.
    const other = await openStore(w.dbFile);
    other.commit([
      { op: 'revokeRule', rule_id: rules[1]!.rule_id, at: new Date().toISOString(), by: 'lee' },
    ]);
    assert.equal(other.rules(w.dir).length, 1);
    const later = await drain(agent().run({ prompt: 'd' }));
    assertPaused(later, 'approval_required', [approvalFor(later, 'd').approval_id]);
  });

  void it('a call without a file cannot get a file or folder rule (it would silently widen)', async () => {
    const w = await world([calls(call('d', 'deploy', { env: 'prod' })), say('done')]);
    const deploy = Tool({
      name: 'deploy',
      description: 'Deploys.',
      params: z.object({ env: z.string() }),
      requiresApproval: true,
      handler: () => 'deployed',
    });
    const first = await drain(agentIn(w, [deploy]).run({ prompt: 'ship' }));
    const id = approvalFor(first, 'd').approval_id;
    await assert.rejects(
      drain(
        agentIn(w, [deploy]).run({
          runId: first.output.run_id,
          resume: { [id]: { approved: true, scope: 'workspace', cover: 'file' } },
        }),
      ),
      (err: unknown) => err instanceof ResumeRefusedError && /cover "tool"/.test(err.message),
    );
    assert.deepEqual(w.store.rules(w.dir), []);
  });

  void it("a run's rules end with the run", async () => {
    const w = await world([
      calls(call('a', 'write_file', { path: 'a.md', content: 'a\n' })),
      say('done'),
    ]);
    const first = await drain(agentIn(w, fileTools(w.dir)).run({ prompt: 'go' }));
    const id = approvalFor(first, 'a').approval_id;
    const paused = await drain(
      agentIn(w, fileTools(w.dir)).run({
        runId: first.output.run_id,
        resume: { [id]: { approved: true, scope: 'run', cover: 'folder' } },
      }),
    );
    assertSuccess(paused);
    assert.deepEqual(w.store.rules(w.dir), [], 'the run finished: its rule is gone');
  });
});

void describe('reads honour path rules (finding 6)', () => {
  void it('a denied path is absent from list_files and search_text, and read_file refuses it', async () => {
    const w = await world([
      calls(
        call('ls', 'list_files', {}),
        call('grep', 'search_text', { query: '=' }),
        call('cat', 'read_file', { path: 'secrets/prod.env' }),
        call('ls2', 'list_files', { path: '.', glob: '**/*.env' }),
      ),
      say('done'),
    ]);
    put(w.dir, 'secrets/prod.env', 'DB_PASS=hunter2\n');
    put(w.dir, 'src/app.js', 'const x = 1;\n');
    const out = await drain(
      agentIn(w, fileTools(w.dir), {
        policy: [{ tool: '*', paths: ['secrets/**'], action: 'deny' }],
      }).run({ prompt: 'look' }),
    );
    assertSuccess(out);
    const results = toolResults(w.server, 1);
    const all = [...results.values()].join('\n');
    assert.doesNotMatch(all, /hunter2|prod\.env|secrets/);
    assert.match(results.get('ls') ?? '', /src\/app\.js/);
    assert.match(results.get('grep') ?? '', /src\/app\.js:1: const x = 1;/);
    assert.match(results.get('cat') ?? '', /Denied by policy/);
  });
});
