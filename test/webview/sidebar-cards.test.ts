// Cards: approval cards (edit, create and delete gates grouped by run, with arguments, diffs and
// expiry; the exact request each button posts; stale gates, unsaved editor changes, long diffs in
// a narrow sidebar) and question forms from real interactions, validated before posting.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import {
  body,
  c,
  card,
  diffRows,
  form,
  idOf,
  postedCount,
  request,
  SHOTS,
  shotOf,
  sidebar,
  stateWith,
  text,
  useSidebarHarness,
} from './sidebar-support.js';

useSidebarHarness();

void describe('sidebar webview (headless Chromium, real host events)', () => {
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
});
