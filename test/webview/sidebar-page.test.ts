// The sidebar page as a whole: the ready handshake, the starting, empty and error states, invalid
// messages ignored, keyboard focus and labels, what survives a webview reload, and screenshots of
// every card kind, form and runs list in light, dark and high-contrast themes.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import {
  body,
  c,
  card,
  form,
  idOf,
  request,
  run,
  SHOTS,
  sidebar,
  stateWith,
  useSidebarHarness,
} from './sidebar-support.js';

useSidebarHarness();

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
