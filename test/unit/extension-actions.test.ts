// The decisions the extension sends: each action re-reads pending and acts only on an id pending
// right now in that run, and builds the resume the host expects (edit-then-approve included).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApprovalEvent } from '../../host/protocol/events.js';
import type { Proposal } from '../../host/protocol/rpc.js';
import { Actions, continuable, type Editors } from '../../extension/actions.js';
import {
  approval,
  checkAlways,
  decideAll,
  denial,
  editedOverride,
  NO_LONGER_PENDING,
  PROTECTED_NO_ALWAYS,
} from '../../extension/decisions.js';
import { errorMessage, isRefusal } from '../../extension/rpc-call.js';
import { FakeHost, gate, pending, question, refusal, run } from './extension-fakes.js';

function setup(replies: Record<string, unknown> = {}, conflictChoice: 'keep' | 'restore' = 'keep') {
  const opened: string[] = [];
  const editors: Editors = {
    openDiff: async (g: ApprovalEvent) => void opened.push(`diff ${g.approval_id}`),
    editThenApprove: async (g: ApprovalEvent) => void opened.push(`edit ${g.approval_id}`),
    openTrace: async (runId: string) => void opened.push(`trace ${runId}`),
    manageTrust: async () => void opened.push('manage trust'),
    reviewWorkspaceConfig: async () => void opened.push('review config'),
    revertConflict: async (_runId, c) => {
      opened.push(`conflict ${c.path}`);
      return conflictChoice;
    },
  };
  const host = new FakeHost({
    'airlock/pending': pending({
      approvals: [gate(), gate({ approval_id: 'apr_2', call_id: 'call_3', path: 'src/b.ts' })],
      interactions: [question()],
      interrupted: ['run_9'],
    }),
    'airlock/listRuns': { runs: [run(), run({ run_id: 'run_done', status: 'success' })] },
    'airlock/resume': (p: unknown) => ({ run_id: (p as { run_id: string }).run_id }),
    'airlock/cancelRun': (p: unknown) => ({ run_id: (p as { run_id: string }).run_id }),
    'airlock/startRun': { run_id: 'run_new' },
    ...replies,
  });
  let changed = 0;
  const actions = new Actions(host, editors, () => changed++);
  return { host, actions, opened, changed: () => changed };
}

void describe('resolutions', () => {
  void it('carry a comment, a reason and a scope only when given', () => {
    assert.deepEqual(approval(), { approved: true });
    assert.deepEqual(approval({ comment: '  ', scope: 'once' }), { approved: true });
    assert.deepEqual(approval({ comment: ' ok ', scope: 'run', cover: 'folder' }), {
      approved: true,
      comment: 'ok',
      scope: 'run',
      cover: 'folder',
    });
    assert.deepEqual(denial({ reason: 'no', scope: 'workspace', cover: 'tool' }), {
      approved: false,
      reason: 'no',
      scope: 'workspace',
      cover: 'tool',
    });
    // An "always" decision always names its cover (the narrowest, the file, unless chosen);
    // a one-off decision never carries one.
    assert.deepEqual(approval({ scope: 'run' }), { approved: true, scope: 'run', cover: 'file' });
    assert.deepEqual(approval({ scope: 'once', cover: 'tool' }), { approved: true });
    assert.deepEqual(decideAll(['a', 'b'], false, 'not now'), {
      a: { approved: false, reason: 'not now' },
      b: { approved: false, reason: 'not now' },
    });
  });
});

void describe('checkAlways', () => {
  const file = gate();
  const shielded = gate({ protected: true, preview: { ...gate().preview!, path: '.vscode/x' } });
  const toolOnly = gate({ tool: 'deploy', preview: null, input: { target: 'prod' } });

  void it('lets one-off decisions and narrow always-rules through', () => {
    for (const [g, approved, opts] of [
      [shielded, true, { scope: 'once' }],
      [shielded, false, { scope: 'workspace', cover: 'file' }],
      [file, true, { scope: 'run', cover: 'folder' }],
      [toolOnly, true, { scope: 'workspace', cover: 'tool' }],
    ] as const) {
      assert.doesNotThrow(() => checkAlways(g, approved, opts));
    }
  });

  void it('refuses an always-allow on a protected path', () => {
    for (const cover of ['file', 'folder', 'tool'] as const) {
      assert.throws(() => checkAlways(shielded, true, { scope: 'run', cover }), {
        message: PROTECTED_NO_ALWAYS,
      });
    }
  });

  void it('refuses a file or folder cover on a gate without a file (it would cover the tool)', () => {
    for (const cover of ['file', 'folder', undefined] as const) {
      assert.throws(
        () => checkAlways(toolOnly, false, { scope: 'workspace', ...(cover ? { cover } : {}) }),
        /no file to narrow/,
      );
    }
  });
});

void describe('editedOverride', () => {
  const proposal = (p: Partial<Proposal> = {}): Proposal => ({
    path: 'src/a.ts',
    current: 'old\n',
    proposed: 'new\n',
    masked: false,
    ...p,
  });

  void it('gives write_file the whole content', () => {
    assert.deepEqual(editedOverride('write_file', proposal(), 'mine\n'), { content: 'mine\n' });
  });

  void it('gives edit_file the whole current file as old_string', () => {
    assert.deepEqual(editedOverride('edit_file', proposal(), 'mine\n'), {
      old_string: 'old\n',
      new_string: 'mine\n',
    });
  });

  void it('refuses edits the tool could not apply', () => {
    assert.throws(() => editedOverride('edit_file', proposal(), 'old\n'), /same as the current/);
    assert.throws(() => editedOverride('edit_file', proposal({ current: '' }), 'x'), /empty/);
    assert.throws(() => editedOverride('edit_file', proposal({ current: null }), 'x'), /exist/);
    assert.throws(() => editedOverride('delete_file', proposal(), 'x'), /does not write/);
  });
});

void describe('Actions', () => {
  void it("records this window's approver with every decision and standing rule", async () => {
    const { host } = setup();
    const editors = {} as Editors; // not reached by these actions
    const named = new Actions(host, editors, undefined, () => 'dana');
    await named.approve('run_1', 'apr_1', { scope: 'workspace', cover: 'folder' });
    await named.deny('run_1', 'apr_2', { reason: 'no' });
    await named.decideAll('run_1', ['apr_1', 'apr_2'], true);
    assert.deepEqual(
      host.writes().map((w) => (w.params as { resume: unknown }).resume),
      [
        { apr_1: { approved: true, scope: 'workspace', cover: 'folder', approver_id: 'dana' } },
        { apr_2: { approved: false, reason: 'no', approver_id: 'dana' } },
        {
          apr_1: { approved: true, approver_id: 'dana' },
          apr_2: { approved: true, approver_id: 'dana' },
        },
      ],
    );
  });

  void it('approves a pending gate with one resume', async () => {
    const { host, actions, changed } = setup();
    await actions.approve('run_1', 'apr_1', { comment: 'looks right', scope: 'once' });
    assert.deepEqual(host.writes(), [
      {
        method: 'airlock/resume',
        params: { run_id: 'run_1', resume: { apr_1: { approved: true, comment: 'looks right' } } },
      },
    ]);
    assert.equal(host.calls[0]?.method, 'airlock/pending', 'pending is re-read first');
    assert.equal(changed(), 1);
  });

  void it('denies with a reason and a scope', async () => {
    const { host, actions } = setup();
    await actions.deny('run_1', 'apr_2', { reason: 'keep b', scope: 'run', cover: 'folder' });
    assert.deepEqual(host.writes()[0]?.params, {
      run_id: 'run_1',
      resume: { apr_2: { approved: false, reason: 'keep b', scope: 'run', cover: 'folder' } },
    });
  });

  void it('sends no always-allow for a protected gate (nothing is resumed)', async () => {
    const { host, actions } = setup({
      'airlock/pending': pending({ approvals: [gate({ protected: true })] }),
    });
    await assert.rejects(actions.approve('run_1', 'apr_1', { scope: 'workspace', cover: 'file' }), {
      message: PROTECTED_NO_ALWAYS,
    });
    assert.deepEqual(host.writes(), []);
    await actions.approve('run_1', 'apr_1');
    assert.deepEqual(host.writes()[0]?.params, {
      run_id: 'run_1',
      resume: { apr_1: { approved: true } },
    });
  });

  void it('revokes a listed standing rule, and only one that is listed', async () => {
    const listed = {
      rule_id: 'rule_1',
      workspace: '/ws',
      run_id: null,
      tool: 'write_file',
      paths: ['docs/**'],
      action: 'allow',
      cover: 'folder',
      created_by: null,
      created_at: '2025-01-01T00:00:00.000Z',
      approval_id: 'apr_0',
    };
    const { host, actions, changed } = setup({
      'airlock/rules': { rules: [listed] },
      'airlock/revokeRule': {},
    });
    assert.deepEqual(await actions.rules(), [listed]);
    await actions.revokeRule('rule_1');
    await assert.rejects(actions.revokeRule('rule_gone'), /no longer in force/);
    assert.deepEqual(
      host.writes().filter((c) => c.method !== 'airlock/rules'),
      [{ method: 'airlock/revokeRule', params: { rule_id: 'rule_1' } }],
    );
    assert.equal(changed(), 1);
  });

  void it('acts on nothing that is not pending right now in that run', async () => {
    const { host, actions, opened } = setup();
    const stale = [
      () => actions.approve('run_1', 'apr_gone'),
      () => actions.approve('run_other', 'apr_1'),
      () => actions.deny('run_1', 'int_1'),
      () => actions.answer('run_1', 'apr_1', 'x'),
      () => actions.decideAll('run_1', ['apr_1', 'apr_gone'], true),
      () => actions.continueRun('run_1'),
      () => actions.cancelRun('run_done'),
      () => actions.cancelRun('run_unknown'),
      () => actions.openDiff('run_1', 'apr_gone'),
      () => actions.editThenApprove('run_2', 'apr_1'),
      () => actions.approveEdited('run_1', 'apr_gone', 'x'),
    ];
    for (const attempt of stale) await assert.rejects(attempt, { message: NO_LONGER_PENDING });
    assert.deepEqual(host.writes(), []);
    assert.deepEqual(opened, []);
  });

  void it('decides every gate of a turn in one resume', async () => {
    const { host, actions } = setup();
    await actions.decideAll('run_1', ['apr_1', 'apr_2'], true);
    assert.deepEqual(host.writes(), [
      {
        method: 'airlock/resume',
        params: {
          run_id: 'run_1',
          resume: { apr_1: { approved: true }, apr_2: { approved: true } },
        },
      },
    ]);
  });

  void it('answers a question with the value as given', async () => {
    const { host, actions } = setup();
    await actions.answer('run_1', 'int_1', 'Ada');
    assert.deepEqual(host.writes()[0]?.params, { run_id: 'run_1', resume: { int_1: 'Ada' } });
  });

  void it('passes a host refusal on, still refreshing the list', async () => {
    const { actions, changed } = setup({
      'airlock/resume': () => refusal('The answer for int_1 does not fit the schema'),
    });
    const err = await actions.answer('run_1', 'int_1', '').catch((e: unknown) => e);
    assert.ok(isRefusal(err));
    assert.match(errorMessage(err), /does not fit/);
    assert.equal(changed(), 1);
  });

  void it('approves edited content as override_input, fetched fresh from the proposal', async () => {
    const { host, actions } = setup({
      'airlock/proposal': { path: 'src/a.ts', current: 'old\n', proposed: 'new\n', masked: false },
    });
    await actions.approveEdited('run_1', 'apr_1', 'edited\n');
    assert.deepEqual(host.writes(), [
      {
        method: 'airlock/resume',
        params: {
          run_id: 'run_1',
          resume: { apr_1: { approved: true, override_input: { content: 'edited\n' } } },
        },
      },
    ]);
  });

  void it('builds an edit_file override from the current file', async () => {
    const { host, actions } = setup({
      'airlock/pending': pending({ approvals: [gate({ tool: 'edit_file' })] }),
      'airlock/proposal': {
        path: 'src/a.ts',
        current: 'a\nb\n',
        proposed: 'a\nB\n',
        masked: false,
      },
    });
    await actions.approveEdited('run_1', 'apr_1', 'a\nBee\n');
    assert.deepEqual(host.writes()[0]?.params, {
      run_id: 'run_1',
      resume: {
        apr_1: {
          approved: true,
          override_input: { old_string: 'a\nb\n', new_string: 'a\nBee\n' },
        },
      },
    });
  });

  void it('continues an interrupted run with an empty resume', async () => {
    const { host, actions } = setup();
    await actions.continueRun('run_9');
    assert.deepEqual(host.writes()[0]?.params, { run_id: 'run_9', resume: {} });
  });

  void it('retries a run whose model call failed with an empty resume (the Retry button); no other failure', async () => {
    const failed = (run_id: string, reason: string) =>
      run({ run_id, status: 'error', reason, message: 'The model endpoint failed.', pending: 0 });
    const { host, actions } = setup({
      'airlock/listRuns': {
        runs: [failed('run_model', 'model_error'), failed('run_tool', 'tool_error')],
      },
    });
    await actions.continueRun('run_model');
    assert.deepEqual(host.writes(), [
      { method: 'airlock/resume', params: { run_id: 'run_model', resume: {} } },
    ]);
    await assert.rejects(() => actions.continueRun('run_tool'), { message: NO_LONGER_PENDING });
    assert.equal(host.writes().length, 1);
    assert.equal(continuable(failed('x', 'model_error')), true);
    assert.equal(continuable(failed('x', 'max_turns')), false);
    assert.equal(continuable(run({ status: 'interrupted', reason: 'interrupted' })), true);
    assert.equal(continuable(run({ status: 'success', reason: 'model_error' })), false);
  });

  void it('cancels a paused run with its reason', async () => {
    const { host, actions } = setup();
    await actions.cancelRun('run_1', ' wrong task ');
    assert.deepEqual(host.writes()[0], {
      method: 'airlock/cancelRun',
      params: { run_id: 'run_1', reason: 'wrong task' },
    });
  });

  void it('opens editors only for pending gates, and edit only for file writes', async () => {
    const { actions, opened } = setup({
      'airlock/pending': pending({
        approvals: [gate(), gate({ approval_id: 'apr_d', tool: 'delete_file' })],
      }),
    });
    await actions.openDiff('run_1', 'apr_1');
    await actions.editThenApprove('run_1', 'apr_1');
    await actions.openDiff('run_1', 'apr_d');
    await assert.rejects(actions.editThenApprove('run_1', 'apr_d'), /nothing to edit/);
    await actions.openTrace('run_1');
    assert.deepEqual(opened, ['diff apr_1', 'edit apr_1', 'diff apr_d', 'trace run_1']);
  });

  void it('rejects a reply that does not fit the method', async () => {
    const { actions } = setup({ 'airlock/startRun': { wrong: true } });
    await assert.rejects(actions.startRun('do it'), /invalid airlock\/startRun reply/);
  });
});

void describe('revert', () => {
  const conflict = {
    status: 'conflict',
    change_id: 'chg_b',
    path: 'b.md',
    message: 'b.md changed since this change was applied; nothing was written.',
    before: 'one\n',
    applied: 'two\n',
    now: 'two\nmine\n',
    masked: false,
  };
  const reverted = (id: string, path: string) => ({
    status: 'reverted',
    change_id: id,
    path,
    message: `Reverted: restored ${path}.`,
    revert_id: `chg_r_${id}`,
  });
  const revertHost = () => ({
    'airlock/revert': (p: unknown) => {
      const { force, change_id } = p as { force?: boolean; change_id?: string };
      if (force) return { results: [reverted(change_id!, 'b.md')] };
      return { results: [reverted('chg_a', 'a.md'), conflict] };
    },
  });

  void it('shows a file changed since and restores it only when the developer says so', async () => {
    const keep = setup(revertHost());
    const outcomes = await keep.actions.revert('run_1');
    assert.deepEqual(keep.opened, ['conflict b.md']);
    assert.deepEqual(
      outcomes.map((o) => [o.path, o.status]),
      [
        ['a.md', 'reverted'],
        ['b.md', 'conflict'],
      ],
    );
    assert.deepEqual(
      keep.host.writes().map((c) => c.params),
      [{ run_id: 'run_1' }],
      'kept: nothing forced',
    );
    assert.ok(keep.changed() >= 1, 'the sidebar refreshes');

    const restore = setup(revertHost(), 'restore');
    const forced = await restore.actions.revert('run_1');
    assert.deepEqual(
      forced.map((o) => [o.path, o.status]),
      [
        ['a.md', 'reverted'],
        ['b.md', 'reverted'],
      ],
    );
    assert.deepEqual(restore.host.writes().at(-1)?.params, {
      run_id: 'run_1',
      change_id: 'chg_b',
      force: true,
    });
  });

  void it('reports a change already reverted elsewhere where the developer acted', async () => {
    const { actions } = setup({
      'airlock/revert': {
        results: [
          {
            status: 'already_reverted',
            change_id: 'chg_a',
            path: 'a.md',
            message: 'a.md: this change was already reverted (at the same moment, elsewhere).',
          },
        ],
      },
    });
    await assert.rejects(actions.revert('run_1', 'chg_a'), /already reverted \(at the same moment/);
  });
});
