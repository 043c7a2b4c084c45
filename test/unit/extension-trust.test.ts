// The editor's half of SPEC §9, the pure parts: when the repository's loosening airlock.config.json
// is offered (once per version, never in Restricted Mode, never after "Keep Ignoring"), how the
// offer reads, what the sidebar is told, and how standing rules are listed and labelled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkspaceConfigStatus } from '../../host/protocol/rpc.js';
import type { StandingRule } from '../../host/runtime/policy.js';
import { ruleItems } from '../../extension/pick-items.js';
import { RulesModel, toRulesMessage } from '../../extension/rules-model.js';
import {
  displayPath,
  MAX_DECLINES,
  offerKey,
  offerMessage,
  reviewDetail,
  shouldOffer,
  toWorkspaceMessage,
  withDecline,
  type Offerable,
} from '../../extension/workspace-config.js';
import { RulesMessage, WorkspaceMessage } from '../../webview/protocol.js';
import {
  coverGlob,
  coverLabel,
  decidedSentence,
  ruleSentence,
  ruleSubject,
} from '../../webview/rule-text.js';

const SHA = 'a'.repeat(64);
const FILE = '/ws/airlock.config.json';

function status(overrides: Partial<WorkspaceConfigStatus> = {}): WorkspaceConfigStatus {
  return {
    file: FILE,
    sha256: SHA,
    trusted: false,
    loosening: ['policy: allow write_file on **', 'baseURL: http://evil.example/v1'],
    ignored: ['policy: allow write_file on ** (allow rules need trust)'],
    ...overrides,
  };
}

function rule(overrides: Partial<StandingRule> = {}): StandingRule {
  return {
    rule_id: 'rule_1',
    workspace: '/ws',
    run_id: null,
    tool: 'write_file',
    paths: ['docs/**'],
    action: 'allow',
    cover: 'folder',
    created_by: null,
    created_at: '2025-01-02T00:00:00.000Z',
    approval_id: 'apr_1',
    ...overrides,
  };
}

void describe('the offer of a loosening airlock.config.json', () => {
  const fresh = { restricted: false, declined: [], offered: new Set<string>() };

  void it('is made for an untrusted file that loosens', () => {
    assert.equal(shouldOffer(status(), fresh), true);
  });

  void it('is not made without a file, for a trusted one, or when nothing loosens', () => {
    assert.equal(shouldOffer(status({ file: null, sha256: null, loosening: [] }), fresh), false);
    assert.equal(shouldOffer(status({ trusted: true }), fresh), false);
    assert.equal(shouldOffer(status({ loosening: [], ignored: [] }), fresh), false);
    assert.equal(shouldOffer(status({ sha256: null }), fresh), false);
  });

  void it('is never made in Restricted Mode', () => {
    assert.equal(shouldOffer(status(), { ...fresh, restricted: true }), false);
  });

  void it('is made once per version, and not again once declined; a new version is offered', () => {
    const key = offerKey(FILE, SHA);
    assert.equal(shouldOffer(status(), { ...fresh, offered: new Set([key]) }), false);
    assert.equal(shouldOffer(status(), { ...fresh, declined: [key] }), false);
    const changed = status({ sha256: 'b'.repeat(64) });
    assert.equal(
      shouldOffer(changed, { ...fresh, declined: [key], offered: new Set([key]) }),
      true,
    );
    assert.equal(
      shouldOffer(status({ file: '/other/airlock.config.json' }), { ...fresh, declined: [key] }),
      true,
      'declines are per path',
    );
  });

  void it('remembers a bounded, deduplicated list of declines', () => {
    let declined: string[] = [];
    for (let i = 0; i < MAX_DECLINES + 5; i++) declined = withDecline(declined, `k${i}`);
    assert.equal(declined.length, MAX_DECLINES);
    assert.equal(declined.at(-1), `k${MAX_DECLINES + 4}`);
    assert.deepEqual(withDecline(['a', 'b'], 'a'), ['b', 'a']);
  });

  void it('shows the rules it would apply, clipped, without markdown links or icons', () => {
    assert.equal(
      offerMessage(['policy: allow write_file on **', 'baseURL: http://evil.example/v1']),
      "This repository's airlock.config.json wants to loosen Airlock: policy: allow write_file on **; baseURL: http://evil.example/v1. Until you trust this version, Airlock ignores these rules.",
    );
    const many = offerMessage(['a', 'b', 'c', 'd', 'e', 'f']);
    assert.match(many, /: a; b; c; d; and 2 more \(Show File to read them all\)\./);
    const sneaky = offerMessage(['[Trust](command:airlock.trust) $(check)']);
    assert.ok(!sneaky.includes('[') && !sneaky.includes('$('), sneaky);
  });

  void it('lists every line in the review, with the hash that trusting records', () => {
    const detail = reviewDetail(status() as Offerable);
    assert.deepEqual(detail.split('\n').slice(0, 2), [
      '• policy: allow write_file on **',
      '• baseURL: http://evil.example/v1',
    ]);
    assert.match(detail, /SHA-256 aaaaaaaaaaaa…\) outside the workspace; any change/);
  });
});

void describe('the workspace message', () => {
  void it('carries Restricted Mode and the file as the host applies it, with a short path', () => {
    const message = toWorkspaceMessage(true, status(), '/ws');
    assert.deepEqual(WorkspaceMessage.parse(message), {
      type: 'workspace',
      restricted: true,
      config: {
        file: 'airlock.config.json',
        trusted: false,
        loosening: status().loosening,
        ignored: status().ignored,
      },
    });
    assert.deepEqual(toWorkspaceMessage(false, null, '/ws'), {
      type: 'workspace',
      restricted: false,
      config: null,
    });
    assert.equal(
      toWorkspaceMessage(false, status({ file: null, sha256: null }), '/ws').config,
      null,
    );
  });

  void it('shows paths relative to the workspace only when inside it', () => {
    assert.equal(displayPath('/ws/airlock.config.json', '/ws/'), 'airlock.config.json');
    assert.equal(displayPath('/wsx/airlock.config.json', '/ws'), '/wsx/airlock.config.json');
    assert.equal(displayPath('/a/b.json', undefined), '/a/b.json');
  });
});

void describe('standing rules', () => {
  void it('read the same on a card, in the list and in the palette', () => {
    assert.equal(coverGlob('file', 'docs/a.md'), 'docs/a.md');
    assert.equal(coverGlob('folder', 'docs/guide/a.md'), 'docs/guide/**');
    assert.equal(coverGlob('folder', 'README.md'), '*');
    assert.equal(coverGlob('folder', './src\\a.ts'), 'src/**');
    assert.equal(coverGlob('tool', 'docs/a.md'), null);
    assert.equal(coverGlob('file', null), null);
    assert.equal(coverLabel('file', 'docs/a.md', 'write_file'), 'this file (docs/a.md)');
    assert.equal(coverLabel('folder', 'docs/a.md', 'write_file'), 'this folder (docs/**)');
    assert.equal(coverLabel('folder', 'a.md', 'write_file'), 'files at the workspace root (*)');
    assert.equal(coverLabel('tool', 'docs/a.md', 'write_file'), 'every write_file call');
    assert.equal(
      decidedSentence({
        approved: true,
        tool: 'write_file',
        cover: 'file',
        path: 'docs/a.md',
        scope: 'workspace',
      }),
      'Always allowed write_file on docs/a.md for this workspace.',
    );
    assert.equal(
      decidedSentence({ approved: false, tool: 'deploy', cover: 'tool', path: null, scope: 'run' }),
      'Always denied every deploy call for this run.',
    );
    // A file rule's glob is the path with glob characters escaped: shown as the path.
    assert.equal(ruleSubject('edit_file', ['src/\\(x\\).ts'], 'file'), 'edit_file on src/(x).ts');
    assert.equal(ruleSubject('edit_file', ['src/**'], 'folder'), 'edit_file on src/**');
    assert.equal(
      ruleSentence({
        action: 'deny',
        tool: 'delete_file',
        paths: null,
        cover: 'tool',
        run_id: 'r',
      }),
      'Always deny every delete_file call for this run',
    );
  });

  void it('are listed newest first, with the prompt of the run a rule holds for', () => {
    const message = toRulesMessage(
      {
        rules: [
          rule(),
          rule({
            rule_id: 'rule_2',
            run_id: 'run_7',
            paths: undefined,
            cover: 'tool',
            action: 'deny',
            created_by: 'ada',
            created_at: '2025-01-03T00:00:00.000Z',
          }),
        ],
        error: null,
      },
      [{ run_id: 'run_7', prompt: 'Tidy the docs' }],
    );
    assert.deepEqual(RulesMessage.parse(message), message);
    assert.deepEqual(
      message.rules.map((r) => [r.rule_id, r.paths, r.run_prompt, r.created_by]),
      [
        ['rule_2', null, 'Tidy the docs', 'ada'],
        ['rule_1', ['docs/**'], null, null],
      ],
    );
  });

  void it('are picked to revoke by what they do, for how long, who and when', () => {
    const items = ruleItems(
      [rule(), rule({ rule_id: 'rule_2', run_id: 'run_7', created_by: 'ada' })],
      [{ run_id: 'run_7', prompt: 'Tidy [the](command:x) docs' }],
    );
    assert.deepEqual(
      items.map((i) => [i.label, i.description, i.detail, i.value.rule_id]),
      [
        [
          'Always allow write_file on docs/** for this workspace',
          'allow',
          'this workspace · 2025-01-02T00:00:00.000Z',
          'rule_1',
        ],
        [
          'Always allow write_file on docs/** for this run',
          'allow',
          'run Tidy (the)(command:x) docs · by ada · 2025-01-02T00:00:00.000Z',
          'rule_2',
        ],
      ],
    );
  });

  void it('keep the last list when a read fails, and say why', async () => {
    let fail = false;
    const model = new RulesModel(async () => {
      if (fail) throw new Error('the host is restarting');
      return [rule()];
    });
    const seen: (string | null)[] = [];
    model.onDidChange((s) => seen.push(s.error));
    await model.refresh();
    fail = true;
    await model.refresh();
    assert.deepEqual(model.current.rules, [rule()]);
    assert.deepEqual(seen, [null, 'The standing rules could not be read: the host is restarting']);
  });
});
