// Team mode's two-person rule (issue 17): with `twoPersonRule`, approving a gate on a protected
// path takes a named approver who is not the person who started the run; denials and other gates
// are anyone's. Refusals run nothing and leave the gate pending.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileTools } from '../../host/tools/files.js';
import {
  agentIn,
  assertPaused,
  assertSuccess,
  call,
  calls,
  drain,
  ofType,
  say,
  world,
} from '../support/agent-world.js';

void describe('the two-person rule', () => {
  void it('a protected path needs someone other than the starter; other gates do not', async () => {
    const w = await world([
      calls(
        call('c1', 'write_file', { path: 'release/notes.md', content: 'v2\n' }),
        call('c2', 'write_file', { path: 'docs/readme.md', content: 'hi\n' }),
      ),
      say('done'),
    ]);
    const agent = agentIn(w, fileTools(w.dir), {
      protectedPaths: ['release/**'],
      twoPersonRule: true,
    });
    const first = await drain(agent.run({ prompt: 'ship it', labels: { started_by: 'Dana' } }));
    const gates = ofType(first, 'approval');
    const protectedGate = gates.find((g) => g.call_id === 'c1')!.approval_id;
    const plainGate = gates.find((g) => g.call_id === 'c2')!.approval_id;
    assertPaused(first, 'approval_required', [protectedGate, plainGate]);
    const runId = first.output.run_id;
    const resume = (approver?: string) =>
      drain(
        agent.run({
          runId,
          resume: {
            [protectedGate]: { approved: true, ...(approver ? { approver_id: approver } : {}) },
            [plainGate]: { approved: true, approver_id: 'Dana' },
          },
        }),
      );

    await assert.rejects(resume(' dana '), /someone other than dana, who started run/);
    await assert.rejects(resume(), /two-person rule needs the approver's name/);
    assert.equal(w.store.pending(runId).length, 2, 'nothing was decided');
    await assert.rejects(readFile(path.join(w.dir, 'release/notes.md')), /ENOENT/);

    assertSuccess(await resume('Lee'));
    assert.equal(await readFile(path.join(w.dir, 'release/notes.md'), 'utf8'), 'v2\n');
    assert.equal(await readFile(path.join(w.dir, 'docs/readme.md'), 'utf8'), 'hi\n');
    const who = new Map(
      w.store
        .decisions(runId)
        .map((d) => [d.id, (d.resolution as { approver_id?: string }).approver_id]),
    );
    assert.equal(who.get(protectedGate), 'Lee');
    assert.equal(who.get(plainGate), 'Dana');
  });

  void it('the starter may still deny a protected change', async () => {
    const w = await world([
      calls(call('c1', 'write_file', { path: 'release/notes.md', content: 'v2\n' })),
      say('ok, not shipping'),
    ]);
    const agent = agentIn(w, fileTools(w.dir), {
      protectedPaths: ['release/**'],
      twoPersonRule: true,
    });
    const first = await drain(agent.run({ prompt: 'ship it', labels: { started_by: 'Dana' } }));
    const gate = ofType(first, 'approval')[0]!.approval_id;
    assertSuccess(
      await drain(
        agent.run({
          runId: first.output.run_id,
          resume: { [gate]: { approved: false, approver_id: 'Dana', reason: 'not yet' } },
        }),
      ),
    );
    await assert.rejects(readFile(path.join(w.dir, 'release/notes.md')), /ENOENT/);
  });
});
