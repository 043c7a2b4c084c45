// The runs list and the prompt box: streamed model text, reasoning under "Thinking", tool lines,
// trace/cancel/continue/retry, stored transcripts after a reload, following the output while it
// grows, and the prompt box's Ctrl+Enter, refusals and clearing.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRow } from '../../webview/protocol.js';
import { XSS_IMG } from './host-events.js';
import {
  body,
  c,
  idOf,
  postedCount,
  request,
  rowOf,
  run,
  shotOf,
  sidebar,
  stateWith,
  text,
  thinkingRun,
  useSidebarHarness,
} from './sidebar-support.js';

useSidebarHarness();

void describe('sidebar webview (headless Chromium, real host events)', () => {
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
});
