// Undo in the sidebar (issue 16), headless Chromium, from real engine events: each applied change
// is a line with its own Revert button, the run has "Revert run" while a change of it stands, a
// revert marks what it undid and offers "Undo revert", and a path is text, never HTML. Build
// first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunEvent } from '../../host/protocol/events.js';
import { Agent } from '../../host/runtime/agent.js';
import { sharedRedactor } from '../../host/runtime/redact.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import { fileTools } from '../../host/tools/files.js';
import { revert } from '../../host/tools/revert.js';
import { Workspace } from '../../host/tools/workspace.js';
import { stateOf } from './host-events.js';
import {
  body,
  idOf,
  postedCount,
  request,
  run,
  shotOf,
  sidebar,
  stateWith,
  text,
  useSidebarHarness,
} from './sidebar-support.js';
import { scriptedModel } from '../support/agent-world.js';
import { onCleanup } from '../support/scratch.js';

useSidebarHarness();

const ODD_NAME = '<img src=x onerror="window.__pwned=1">.md';

/** A finished run that created two files (every write allowed), its events and its store. */
async function changedRun() {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-webview-undo-')));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { model } = await scriptedModel((request) =>
    request.messages.some((m) => m.role === 'tool')
      ? { text: 'Done.' }
      : {
          toolCalls: [
            { id: 'c1', name: 'write_file', arguments: { path: 'a.txt', content: 'one\n' } },
            { id: 'c2', name: 'write_file', arguments: { path: ODD_NAME, content: 'two\n' } },
          ],
        },
  );
  const store = await SqlJsStore.open();
  const agent = new Agent({
    name: 'coder',
    model,
    tools: fileTools(dir),
    store,
    workspace: dir,
    policy: [{ tool: 'write_file', action: 'allow' }],
  });
  const events: RunEvent[] = [];
  for await (const e of agent.run({ prompt: 'Write two files' })) events.push(e);
  return { dir, store, events, runId: events[0]!.run_id };
}

void describe('sidebar webview: undo (headless Chromium, real engine events)', () => {
  void it('shows each change with Revert, Revert run while one stands, and a revert marks its change', async () => {
    const { dir, store, events, runId } = await changedRun();
    const s = await sidebar();
    const { page } = s;
    await s.send(stateWith({ approvals: [], interactions: [], runs: stateOf(store).runs }));
    for (const e of events) await s.send({ type: 'event', event: e });
    const view = run(page, runId);
    const lines = view.locator('.tool-line.change');
    await lines.nth(1).waitFor();
    assert.deepEqual(await lines.evaluateAll((ls) => ls.map((l) => l.textContent)), [
      'Created a.txt (+1 −0)Revert',
      `Created ${ODD_NAME} (+1 −0)Revert`,
    ]);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    const changeIds = events.flatMap((e) => (e.type === 'file_change' ? [e.change_id] : []));

    let before = await postedCount(s);
    await view.getByRole('button', { name: 'Revert the change to a.txt' }).click();
    const first = await request(s, before + 1);
    assert.deepEqual(body(first), { type: 'revert', run_id: runId, change_id: changeIds[0] });
    // The run's controls wait for the reply (one request at a time).
    await s.send({ type: 'reply', id: idOf(first), ok: true });
    await view.getByRole('button', { name: /^Revert the changes of run/ }).click();
    const whole = await request(s, before + 2);
    assert.deepEqual(body(whole), { type: 'revert', run_id: runId });
    await s.send({ type: 'reply', id: idOf(whole), ok: true });

    // The extension reverts (here: the same library call the host makes) and the event arrives.
    const reverted: RunEvent[] = [];
    const outcome = await revert(
      {
        store,
        workspace: new Workspace(dir),
        redactor: sharedRedactor(),
        by: 'ana via VS Code',
        onEvent: (e) => reverted.push(e),
      },
      runId,
      { changeId: changeIds[0]! },
    );
    assert.equal(outcome[0]!.status, 'reverted');
    for (const e of reverted) await s.send({ type: 'event', event: e });
    await lines.nth(2).waitFor();
    assert.equal(await text(lines.nth(2)), 'Reverted a.txt (ana via VS Code)Undo revert');
    assert.match(await text(lines.nth(0)), /^Created a\.txt \(\+1 −0\) — reverted$/);
    assert.equal(await lines.nth(0).getByRole('button').count(), 0, 'no second revert offered');
    await shotOf(view, 'revert-lines');

    before = await postedCount(s);
    await view
      .getByRole('button', { name: 'Undo the revert of a.txt (apply the change again)' })
      .click();
    assert.deepEqual(body(await request(s, before + 1)), {
      type: 'revert',
      run_id: runId,
      change_id: reverted[0]!.type === 'file_change' ? reverted[0]!.change_id : '',
    });
    // The other change still stands: the run keeps its Revert run.
    assert.equal(await view.getByRole('button', { name: /^Revert the changes of run/ }).count(), 1);
    // Reverting it too leaves nothing standing: Revert run goes.
    const rest: RunEvent[] = [];
    await revert(
      {
        store,
        workspace: new Workspace(dir),
        redactor: sharedRedactor(),
        by: 'ana',
        onEvent: (e) => rest.push(e),
      },
      runId,
    );
    for (const e of rest) await s.send({ type: 'event', event: e });
    await view
      .getByRole('button', { name: /^Revert the changes of run/ })
      .waitFor({ state: 'detached' });
    // After a reload, the stored transcript shows the same.
    const reloaded = await sidebar();
    await reloaded.send(stateWith({ approvals: [], interactions: [], runs: stateOf(store).runs }));
    await reloaded.send({
      type: 'transcript',
      run_id: runId,
      events: store.events(runId).map((e) => e.event as RunEvent),
      omitted: 0,
      error: null,
    });
    const again = run(reloaded.page, runId).locator('.tool-line.change');
    await again.nth(3).waitFor();
    assert.equal(await run(reloaded.page, runId).locator('.tool-line.change.reverted').count(), 2);
  });
});
