// A shell command's card (issue 15) in headless Chromium, from a real engine run: the line, its
// folder, each sub-command with the rule that decides it, the always-allow choices it offers (never
// every command), "Edit command…" posting the edited line, and the command's live output in the
// run's transcript as text. Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ApprovalEvent, RunEvent } from '../../host/protocol/events.js';
import { Agent } from '../../host/runtime/agent.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import { runCommandTool } from '../../host/tools/run-command.js';
import { Workspace } from '../../host/tools/workspace.js';
import { sharedRedactor } from '../../host/runtime/redact.js';
import { stateOf, XSS_IMG } from './host-events.js';
import {
  body,
  card,
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

async function commandRun(line: string) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-webview-cmd-')));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { model } = await scriptedModel((request) =>
    request.messages.some((m) => m.role === 'tool')
      ? { text: 'Done.' }
      : { toolCalls: [{ id: 'c1', name: 'run_command', arguments: { command: line } }] },
  );
  const store = await SqlJsStore.open();
  const agent = new Agent({
    name: 'coder',
    model,
    tools: [runCommandTool(new Workspace(dir), { timeoutS: 60, redactor: sharedRedactor() })],
    store,
    workspace: dir,
    policy: [{ tool: 'run_command', commands: ['echo *'], action: 'allow' }],
  });
  const events: RunEvent[] = [];
  for await (const e of agent.run({ prompt: `Run ${line}` })) events.push(e);
  const gate = events.find((e): e is ApprovalEvent => e.type === 'approval');
  assert.ok(gate, 'the command stopped at a gate');
  return { gate, store, agent };
}

void describe('sidebar webview: a shell command card (headless Chromium, real engine events)', () => {
  void it('lists each sub-command with its rule, offers narrow always-rules, and posts an edited command', async () => {
    const line = `echo '${XSS_IMG}' && npm test | tee out.txt`;
    const { gate, store } = await commandRun(line);
    const s = await sidebar();
    const { page } = s;
    await s.send(stateWith({ approvals: [gate], interactions: [], runs: stateOf(store).runs }));
    const cmd = card(page, gate.approval_id);
    await cmd.waitFor();
    assert.equal(await text(cmd.locator('.card-head .badge')), 'Command');
    assert.equal(await text(cmd.locator('pre.command-line')), line);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(
      await cmd
        .locator('li.subcommand')
        .evaluateAll((items) =>
          items.map((li) => [
            li.querySelector('.badge')?.textContent,
            li.querySelector('code')?.textContent,
            li.querySelector('.subcommand-rule')?.textContent,
          ]),
        ),
      [
        ['allowed', `echo '${XSS_IMG}'`, 'allow rule `echo *` in your settings'],
        ['asks', 'npm test', 'no rule matches: asks'],
        ['asks', 'tee out.txt', 'no rule matches: asks'],
      ],
    );
    // The always-choices are the command's own patterns; "every run_command call" is not one.
    const covers = await cmd
      .getByLabel('Covers')
      .locator('option')
      .evaluateAll((options) => options.map((o) => o.textContent));
    assert.deepEqual(covers, [
      `exactly these commands (echo '${XSS_IMG}', npm test, tee out.txt)`,
      'these programs (echo *, npm test *, tee *)',
    ]);
    await shotOf(cmd, 'command-card');

    const before = await postedCount(s);
    await cmd.getByText('Edit command…', { exact: true }).click();
    await cmd.getByLabel('Command to run instead').fill('npm test -- --grep parser');
    await cmd
      .getByRole('button', { name: 'Approve the edited command instead of the proposal' })
      .click();
    const approve = await request(s, before + 1);
    assert.deepEqual(body(approve), {
      type: 'approve',
      run_id: gate.run_id,
      approval_id: gate.approval_id,
      scope: 'once',
      command: 'npm test -- --grep parser',
    });
    // Refused (say, decided in another window meanwhile): the card's controls come back.
    await s.send({ type: 'reply', id: idOf(approve), ok: false, error: 'try again' });
    await cmd.getByRole('alert').filter({ hasText: 'try again' }).waitFor();

    await cmd.getByLabel('Covers').selectOption('program');
    await cmd.getByRole('button', { name: /^Always allow run_command: these programs/ }).click();
    assert.deepEqual(body(await request(s, before + 2)), {
      type: 'approve',
      run_id: gate.run_id,
      approval_id: gate.approval_id,
      scope: 'run',
      cover: 'program',
    });
  });

  void it("shows a running command's output live in its run, as text", async () => {
    const { gate, agent, store } = await commandRun(`printf '%s\\n' one '${XSS_IMG}' three`);
    const s = await sidebar();
    await s.send(stateWith({ approvals: [], interactions: [], runs: stateOf(store).runs }));
    await run(s.page, gate.run_id).waitFor();
    const events: RunEvent[] = [];
    for await (const e of agent.run({ runId: gate.run_id, resume: { [gate.approval_id]: true } }))
      events.push(e);
    const output = events.filter((e) => e.type === 'tool_output');
    assert.ok(output.length > 0, 'the command streamed its output');
    for (const e of events) await s.send({ type: 'event', event: e });
    const pre = run(s.page, gate.run_id).locator('pre.command-output');
    await pre.waitFor();
    assert.equal(await text(pre), `one\n${XSS_IMG}\nthree\n`);
    assert.equal(await s.page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
  });
});
