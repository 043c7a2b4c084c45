// The words and shapes the extension builds without VS Code: palette answers from a question's
// schema, the audit log lines, indicator texts, quick pick items and proposal document paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { RunTrace } from '../../host/protocol/rpc.js';
import { jsonSchemaOf } from '../../host/runtime/suspend.js';
import { answerSteps, assembleAnswer, parseTyped } from '../../extension/answer-steps.js';
import { auditLogFileName, auditLogLines } from '../../extension/audit-log.js';
import { gateNotice, plainText, statusBarText } from '../../extension/indicator-text.js';
import { approvalItems, runItems } from '../../extension/pick-items.js';
import {
  editSegments,
  parseEditPath,
  parseProposalQuery,
  proposalPath,
  proposalQuery,
} from '../../extension/proposal-uri.js';
import { gate, pending, question, run } from './extension-fakes.js';

void describe('answer steps', () => {
  void it('follow the built-in question tools', () => {
    const text = answerSteps(question({ schema: jsonSchemaOf(z.string().min(1)) }));
    assert.deepEqual(text, [{ kind: 'text', minLength: 1, key: null, question: 'Which name?' }]);
    assert.equal(assembleAnswer(text, ['Ada']), 'Ada');

    const pick = answerSteps(question({ schema: jsonSchemaOf(z.enum(['a', 'b'])) }));
    assert.deepEqual(pick[0], {
      kind: 'pick',
      options: ['a', 'b'],
      key: null,
      question: 'Which name?',
    });

    const yesno = answerSteps(question({ tool: 'confirm', schema: jsonSchemaOf(z.boolean()) }));
    assert.equal(yesno[0]?.kind, 'yesno');
    assert.equal(assembleAnswer(yesno, [false]), false);
  });

  void it('ask several questions in the order given and key the answers', () => {
    const schema = jsonSchemaOf(
      z.object({ name: z.string().min(1), color: z.enum(['red', 'blue']) }).strict(),
    );
    const steps = answerSteps(
      question({
        tool: 'ask_user_multi',
        questions: [
          { id: 'color', question: 'Which colour?', options: ['red', 'blue'] },
          { id: 'name', question: 'Which name?' },
        ],
        schema,
      }),
    );
    assert.deepEqual(
      steps.map((s) => [s.key, s.kind, s.question]),
      [
        ['color', 'pick', 'Which colour?'],
        ['name', 'text', 'Which name?'],
      ],
    );
    const answer = assembleAnswer(steps, ['blue', 'Ada']);
    assert.deepEqual(answer, { color: 'blue', name: 'Ada' });
    assert.equal(
      z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(answer).success,
      true,
    );
  });

  void it('handle numbers, multiple choice and anything else as JSON', () => {
    const steps = answerSteps(
      question({
        schema: jsonSchemaOf(
          z.object({
            n: z.number().int(),
            tags: z.array(z.enum(['x', 'y'])),
            raw: z.tuple([z.string()]),
          }),
        ),
        questions: [],
      }),
    );
    assert.deepEqual(
      steps.map((s) => s.kind),
      ['number', 'multi', 'json'],
    );
    const [n, , raw] = steps;
    assert.deepEqual(parseTyped(n!, '42'), { value: 42 });
    assert.deepEqual(parseTyped(n!, '4.5'), { error: 'Type a whole number.' });
    assert.deepEqual(parseTyped(n!, ''), { error: 'Type a number.' });
    assert.deepEqual(parseTyped(raw!, '["a"]'), { value: ['a'] });
    assert.ok('error' in parseTyped(raw!, '[a'));
  });
});

void describe('audit log', () => {
  void it('is one JSON object per line: the run, its events, its decisions', () => {
    const trace: RunTrace = {
      run: (({ pending: _p, ...rest }) => rest)(run()),
      segments: [
        {
          segment_id: 'seg_1',
          parent_segment_id: null,
          kind: 'start',
          started_at: '2025-01-01T00:00:00Z',
        },
      ],
      events: [
        {
          type: 'start',
          run_id: 'run_1',
          segment_id: 'seg_1',
          parent_segment_id: null,
          agent: 'a',
          prompt: 'p',
        },
        gate(),
      ],
      decisions: [
        { id: 'apr_1', resolution: { approved: true }, decided_at: '2025-01-01T00:00:02Z' },
      ],
    };
    const text = auditLogLines([trace]);
    assert.ok(text.endsWith('\n'));
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => l.type),
      ['run', 'start', 'approval', 'decision'],
    );
    assert.ok(lines.every((l) => l.run_id === 'run_1'));
    assert.deepEqual(lines[3], {
      type: 'decision',
      run_id: 'run_1',
      id: 'apr_1',
      resolution: { approved: true },
      decided_at: '2025-01-01T00:00:02Z',
    });
    assert.equal(auditLogLines([]), '');
    assert.equal(
      auditLogFileName(new Date('2025-03-04T05:06:07Z')),
      'airlock-audit-2025-03-04.jsonl',
    );
  });
});

void describe('indicators', () => {
  const snapshot = (approvals = 0, questions = 0) => ({
    pending: pending({
      approvals: Array.from({ length: approvals }, (_, i) => gate({ approval_id: `apr_${i}` })),
      interactions: Array.from({ length: questions }, (_, i) =>
        question({ interaction_id: `int_${i}` }),
      ),
    }),
    runs: [],
    connected: true,
    error: null,
  });

  void it('show the pending count, hide when nothing waits, and say when the host stopped', () => {
    assert.deepEqual(statusBarText(snapshot(), null), { tag: 'hidden' });
    assert.deepEqual(statusBarText(snapshot(2, 1), null), {
      tag: 'shown',
      text: '$(shield) 3 pending',
      tooltip: 'Airlock: 2 approvals and 1 question waiting',
      error: false,
    });
    const stopped = statusBarText(snapshot(), 'The Airlock host stopped more than 4 times');
    assert.equal(stopped.tag === 'shown' && stopped.error, true);
  });

  void it('notify one gate with Review / Approve / Deny, several with Review', () => {
    assert.equal(gateNotice([]), undefined);
    const one = gateNotice([{ tag: 'approval', event: gate() }]);
    assert.deepEqual(one?.actions, ['Review', 'Approve', 'Deny']);
    assert.equal(one?.message, 'Airlock: Overwrite src/a.ts?');
    const asked = gateNotice([{ tag: 'interaction', event: question() }]);
    assert.deepEqual(asked?.actions, ['Review', 'Answer']);
    const many = gateNotice([
      { tag: 'approval', event: gate() },
      { tag: 'interaction', event: question() },
    ]);
    assert.deepEqual(many?.actions, ['Review']);
    assert.equal(many?.item, undefined);
  });

  void it('never let untrusted text form a link or an icon', () => {
    const text = plainText('Edit [x](command:workbench.action.terminal.new) $(alert)\n.env?');
    assert.doesNotMatch(text, /\[|\]|\$\(|\n/);
    assert.equal(plainText('a'.repeat(300)).length, 200);
  });
});

void describe('quick pick items', () => {
  void it('describe gates and runs', () => {
    const [item] = approvalItems(pending({ approvals: [gate()] }));
    assert.equal(item?.label, 'Overwrite src/a.ts?');
    assert.equal(item?.description, 'write_file');
    assert.match(item?.detail ?? '', /edit src\/a\.ts \(4 → 4 bytes\) · run run_1/);
    const runs = runItems(
      [run(), run({ run_id: 'run_2', status: 'success', pending: 0 })],
      new Set(['paused'] as const),
    );
    assert.deepEqual(
      runs.map((r) => [r.value.run_id, r.description]),
      [['run_1', 'paused · 1 pending']],
    );
  });
});

void describe('proposal documents', () => {
  void it('name the gate and the side in the query, the file in the path', () => {
    const ref = { runId: 'run_1', approvalId: 'apr_1', side: 'proposed' as const };
    assert.deepEqual(parseProposalQuery(proposalQuery(ref)), ref);
    assert.equal(parseProposalQuery('run=r&approval=a&side=other'), undefined);
    assert.equal(parseProposalQuery('approval=a&side=current'), undefined);
    assert.equal(proposalPath('src\\a.ts'), '/src/a.ts');
  });

  void it('keep editable copies under edits/<run>/<approval>/, found again from the path', () => {
    const segments = editSegments({ runId: 'run_1', approvalId: 'apr_1' }, 'src/app.config.ts');
    assert.deepEqual(segments, ['edits', 'run_1', 'apr_1', 'app.config.ts']);
    const storage = '/home/u/.vscode/globalStorage/airlock.airlock';
    assert.deepEqual(parseEditPath(storage, `${storage}/${segments.join('/')}`), {
      runId: 'run_1',
      approvalId: 'apr_1',
    });
    assert.equal(parseEditPath(storage, '/work/src/app.config.ts'), undefined);
    const odd = editSegments({ runId: '../..', approvalId: 'a/b' }, '..');
    assert.deepEqual(odd, ['edits', '%2E%2E%2F%2E%2E', 'a%2Fb', 'proposal.txt']);
    assert.deepEqual(parseEditPath(storage, `${storage}/${odd.join('/')}`), {
      runId: '../..',
      approvalId: 'a/b',
    });
  });
});
