// The sidebar's HTML and its inbound messages: a strict CSP with one nonce'd script, anything
// that is not a protocol message ignored, and each request mapped to one action and one reply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyMessage } from '../../webview/protocol.js';
import { Actions, type Editors } from '../../extension/actions.js';
import { NO_LONGER_PENDING } from '../../extension/decisions.js';
import { contentSecurityPolicy, makeNonce, sidebarHtml } from '../../extension/webview-html.js';
import { handleRequest, parseInbound } from '../../extension/webview-requests.js';
import { FakeHost, gate, pending, question, refusal, run } from './extension-fakes.js';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

void describe('sidebarHtml', () => {
  const html = sidebarHtml({
    cspSource: CSP_SOURCE,
    nonce: 'abc123',
    scriptUri: `${CSP_SOURCE}/ext/dist/webview.js`,
    styleUri: `${CSP_SOURCE}/ext/dist/webview.css`,
    codiconUri: `${CSP_SOURCE}/ext/dist/codicon.css`,
  });

  void it('has exactly the strict CSP', () => {
    assert.equal(
      contentSecurityPolicy(CSP_SOURCE, 'abc123'),
      `default-src 'none'; style-src ${CSP_SOURCE}; script-src 'nonce-abc123'; img-src ${CSP_SOURCE}; font-src ${CSP_SOURCE}`,
    );
    assert.ok(
      html.includes(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${CSP_SOURCE}; script-src 'nonce-abc123'; img-src ${CSP_SOURCE}; font-src ${CSP_SOURCE}">`,
      ),
    );
  });

  void it('loads one script, with the nonce, and the stylesheets (its own, the codicons), all from dist/', () => {
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(scripts, [`<script nonce="abc123" src="${CSP_SOURCE}/ext/dist/webview.js">`]);
    const sheets = [...html.matchAll(/<link rel="stylesheet" href="([^"]*)">/g)].map((m) => m[1]);
    assert.deepEqual(sheets, [
      `${CSP_SOURCE}/ext/dist/codicon.css`,
      `${CSP_SOURCE}/ext/dist/webview.css`,
    ]);
    assert.doesNotMatch(html, /\son\w+=/i, 'no inline handlers');
    assert.doesNotMatch(html, /<style/i, 'no inline styles');
  });

  void it('escapes what it is given', () => {
    const evil = sidebarHtml({
      cspSource: CSP_SOURCE,
      nonce: 'n',
      scriptUri: '"><script>alert(1)</script>',
      styleUri: 'x',
      codiconUri: '"><script>alert(2)</script>',
    });
    assert.equal([...evil.matchAll(/<script\b/g)].length, 1);
  });

  void it('makes a fresh unguessable nonce each time', () => {
    const nonces = new Set(Array.from({ length: 50 }, makeNonce));
    assert.equal(nonces.size, 50);
    for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9+/]{24}$/);
  });
});

void describe('parseInbound', () => {
  void it('accepts ready and protocol requests', () => {
    assert.deepEqual(parseInbound({ type: 'ready' }), { tag: 'ready' });
    const inbound = parseInbound({ type: 'approve', id: 1, run_id: 'r', approval_id: 'a' });
    assert.equal(inbound.tag, 'request');
    if (inbound.tag === 'request') assert.equal(inbound.request.type, 'approve');
  });

  void it('ignores anything else', () => {
    for (const raw of [
      null,
      'approve',
      { type: 'approve' },
      { type: 'approve', id: 1, run_id: 'r', approval_id: 'a', extra: true },
      { type: 'runShell', id: 1, command: 'rm -rf /' },
      { type: 'startRun', id: -1, prompt: 'x' },
      { type: 'startRun', id: 1, prompt: '   ' },
      { type: 'decideAll', id: 1, run_id: 'r', approval_ids: [], approved: true },
      // An "always" decision names its cover; a one-off one has none; covers are a closed set.
      { type: 'approve', id: 1, run_id: 'r', approval_id: 'a', scope: 'run' },
      { type: 'deny', id: 1, run_id: 'r', approval_id: 'a', scope: 'workspace' },
      { type: 'approve', id: 1, run_id: 'r', approval_id: 'a', cover: 'file' },
      { type: 'approve', id: 1, run_id: 'r', approval_id: 'a', scope: 'once', cover: 'tool' },
      { type: 'approve', id: 1, run_id: 'r', approval_id: 'a', scope: 'run', cover: 'repo' },
      { type: 'revokeRule', id: 1, rule_id: '' },
      { type: 'manageTrust', id: 1, command: 'workbench.action.reloadWindow' },
    ]) {
      assert.equal(parseInbound(raw).tag, 'invalid', JSON.stringify(raw));
    }
  });
});

void describe('handleRequest', () => {
  const opened: string[] = [];
  const editors: Editors = {
    openDiff: async (g) => void opened.push(`diff ${g.approval_id}`),
    editThenApprove: async (g) => void opened.push(`edit ${g.approval_id}`),
    openTrace: async (id) => void opened.push(`trace ${id}`),
    manageTrust: async () => void opened.push('manage trust'),
    reviewWorkspaceConfig: async () => void opened.push('review config'),
    revertConflict: async (_runId, c) => {
      opened.push(`conflict ${c.path}`);
      return 'keep';
    },
  };
  const host = new FakeHost({
    'airlock/pending': pending({ approvals: [gate()], interactions: [question()] }),
    'airlock/listRuns': { runs: [run()] },
    'airlock/resume': (p: unknown) => {
      const { resume } = p as { resume: Record<string, unknown> };
      if (resume.int_1 === '') refusal('The answer for int_1 does not fit: too short');
      return { run_id: 'run_1' };
    },
    'airlock/cancelRun': { run_id: 'run_1' },
    'airlock/startRun': { run_id: 'run_2' },
    'airlock/rules': {
      rules: [
        {
          rule_id: 'rule_1',
          workspace: '/ws',
          run_id: 'run_1',
          tool: 'write_file',
          paths: ['src/a.ts'],
          action: 'allow',
          cover: 'file',
          created_by: 'ada',
          created_at: '2025-01-01T00:00:00.000Z',
          approval_id: 'apr_0',
        },
      ],
    },
    'airlock/revokeRule': {},
  });
  const actions = new Actions(host, editors);
  const reply = async (raw: unknown) => {
    const inbound = parseInbound(raw);
    assert.equal(inbound.tag, 'request');
    if (inbound.tag !== 'request') throw new Error('not a request');
    return ReplyMessage.parse(await handleRequest(inbound.request, actions));
  };

  void it('maps each request to its host call and replies ok', async () => {
    const base = { run_id: 'run_1' };
    const cases: [unknown, unknown][] = [
      [
        { type: 'startRun', id: 1, prompt: 'Fix it' },
        { method: 'airlock/startRun', params: { prompt: 'Fix it' } },
      ],
      [
        {
          type: 'approve',
          id: 2,
          ...base,
          approval_id: 'apr_1',
          comment: 'ok',
          scope: 'run',
          cover: 'folder',
        },
        {
          method: 'airlock/resume',
          params: {
            ...base,
            resume: { apr_1: { approved: true, comment: 'ok', scope: 'run', cover: 'folder' } },
          },
        },
      ],
      [
        { type: 'deny', id: 22, ...base, approval_id: 'apr_1', scope: 'workspace', cover: 'tool' },
        {
          method: 'airlock/resume',
          params: {
            ...base,
            resume: { apr_1: { approved: false, scope: 'workspace', cover: 'tool' } },
          },
        },
      ],
      [
        { type: 'revokeRule', id: 23, rule_id: 'rule_1' },
        { method: 'airlock/revokeRule', params: { rule_id: 'rule_1' } },
      ],
      [
        { type: 'deny', id: 3, ...base, approval_id: 'apr_1', reason: 'no' },
        {
          method: 'airlock/resume',
          params: { ...base, resume: { apr_1: { approved: false, reason: 'no' } } },
        },
      ],
      [
        {
          type: 'decideAll',
          id: 4,
          ...base,
          approval_ids: ['apr_1'],
          approved: false,
          reason: 'later',
        },
        {
          method: 'airlock/resume',
          params: { ...base, resume: { apr_1: { approved: false, reason: 'later' } } },
        },
      ],
      [
        { type: 'answer', id: 5, ...base, interaction_id: 'int_1', value: 'Ada' },
        { method: 'airlock/resume', params: { ...base, resume: { int_1: 'Ada' } } },
      ],
      [
        { type: 'cancelRun', id: 6, ...base, reason: 'stop' },
        { method: 'airlock/cancelRun', params: { ...base, reason: 'stop' } },
      ],
    ];
    for (const [message, call] of cases) {
      const before = host.writes().length;
      const answer = await reply(message);
      assert.deepEqual(answer, { type: 'reply', id: (message as { id: number }).id, ok: true });
      assert.deepEqual(host.writes().slice(before), [call]);
    }
    for (const message of [
      { type: 'openDiff', id: 7, ...base, approval_id: 'apr_1' },
      { type: 'editThenApprove', id: 8, ...base, approval_id: 'apr_1' },
      { type: 'openTrace', id: 9, ...base },
      { type: 'manageTrust', id: 24 },
      { type: 'reviewConfig', id: 25 },
    ]) {
      assert.equal((await reply(message)).ok, true);
    }
    assert.deepEqual(opened, [
      'diff apr_1',
      'edit apr_1',
      'trace run_1',
      'manage trust',
      'review config',
    ]);
  });

  void it('replies with the error for ids not pending and for host refusals', async () => {
    const writes = host.writes().length;
    assert.deepEqual(
      await reply({ type: 'approve', id: 10, run_id: 'run_1', approval_id: 'apr_x' }),
      {
        type: 'reply',
        id: 10,
        ok: false,
        error: NO_LONGER_PENDING,
      },
    );
    assert.deepEqual(await reply({ type: 'continueRun', id: 11, run_id: 'run_1' }), {
      type: 'reply',
      id: 11,
      ok: false,
      error: NO_LONGER_PENDING,
    });
    assert.equal(host.writes().length, writes);
    const refused = await reply({
      type: 'answer',
      id: 12,
      run_id: 'run_1',
      interaction_id: 'int_1',
      value: '',
    });
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /does not fit: too short/);
  });
});
