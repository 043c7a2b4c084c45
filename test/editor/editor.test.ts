// The editor end-to-end suite (issue 5, SPEC §7–§8): Airlock installed from its .vsix in a real
// VS Code (code-server), driven through its UI with Playwright, on a scripted OpenAI-compatible
// server. One VS Code for the suite; each scenario has its own prompt, files and model behaviour.
// Screenshots of each step go to test-results/editor/NN-name.png.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { defaultDbPath } from '../../host/settings.js';
import { contentText, ModelByPrompt, toolMessages } from '../support/model-by-prompt.js';
import { until, UI_TIMEOUT } from '../support/until.js';
import { Editor } from './harness.js';

let model: ModelByPrompt;
let editor: Editor;

function readFile(rel: string): string | undefined {
  try {
    return fs.readFileSync(editor.file(rel), 'utf8');
  } catch {
    return undefined;
  }
}

/** Polls the file on disk until it holds `expected` (bounded). */
async function fileHolds(rel: string, expected: string): Promise<void> {
  await until(`${rel} to hold ${JSON.stringify(expected)}`, () => readFile(rel) === expected);
}

before(
  async () => {
    model = await ModelByPrompt.start();
    editor = await Editor.start({ baseURL: model.baseURL });
  },
  // Packaging the .vsix and, on a fresh machine, installing code-server (about a minute).
  { timeout: 600_000 },
);

after(
  async () => {
    await editor?.close();
    await model?.close();
  },
  { timeout: 60_000 },
);

// A failed scenario must not leave a gate behind for the next one (badge counts, cards).
afterEach(async () => {
  await editor.openSidebar().catch(() => undefined);
  const cancel = editor.sidebar.getByRole('button', { name: 'Cancel this run' });
  for (let left = await cancel.count(), tries = 0; left > 0 && tries < 10; tries++) {
    await cancel
      .first()
      .click({ timeout: 5000 })
      .catch(() => undefined);
    left = await until(
      'a leftover card to go',
      async () => {
        const now = await cancel.count();
        return now < left ? now : undefined;
      },
      10_000,
    ).catch(() => left);
  }
});

/** One scenario: a screenshot of the window when it fails. */
function scenario(name: string, body: () => Promise<void>): void {
  void it(name, { timeout: 900_000 }, async () => {
    try {
      await body();
    } catch (err) {
      await editor.shot(`failed-${name.split('.')[0]}`).catch(() => undefined);
      throw err;
    }
  });
}

void describe('Airlock in a real VS Code (code-server + Playwright)', () => {
  scenario(
    '1. a run started from the sidebar stops at an edit card; Open diff; Approve writes the file',
    async () => {
      const prompt = 'e2e 1: fix the greeting typo';
      model.script(prompt, (request) => {
        if (toolMessages(request.messages).length === 0) {
          return {
            text: 'Fixing the greeting.',
            toolCalls: [
              {
                id: 'call_fix',
                name: 'edit_file',
                arguments: {
                  path: 'src/greet.js',
                  old_string: "'Helo, '",
                  new_string: "'Hello, '",
                },
              },
            ],
          };
        }
        return { text: 'The greeting now says Hello.' };
      });
      const before = readFile('src/greet.js');
      assert.match(before ?? '', /'Helo, '/);

      await editor.startRun(prompt);
      const card = editor.card('Edit src/greet.js (edit_file)');
      await card.waitFor({ timeout: UI_TIMEOUT });
      // The inline diff: the removed and the added line.
      const diff = card.getByRole('table', { name: 'Changes to src/greet.js' });
      await diff.waitFor({ timeout: UI_TIMEOUT });
      const diffText = (await diff.textContent()) ?? '';
      assert.match(diffText, /Helo, /);
      assert.match(diffText, /Hello, /);
      await editor.waitForRunStatus(prompt, 'waiting for you (1)');
      await until('badge 1', async () => (await editor.badge()) === '1');
      await until('"1 pending" in the status bar', async () =>
        (await editor.statusBar()).includes('1 pending'),
      );
      await editor.shot('edit-card');

      await card.getByRole('button', { name: 'Open diff of src/greet.js in the editor' }).click();
      const diffEditor = editor.page.locator('.editor-group-container .monaco-diff-editor');
      await diffEditor.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      const tab = editor.page.locator('.tabs-container .tab.active');
      await until('the diff tab title to name the file', async () =>
        ((await tab.textContent()) ?? '').includes('src/greet.js ↔ proposed (Airlock)'),
      );
      // Both sides are there: the file as it is, and the proposal.
      await until('the diff editor to show both versions', async () => {
        // Monaco renders spaces as no-break spaces.
        const shown = ((await diffEditor.first().textContent()) ?? '').replace(/\u00a0/g, ' ');
        return shown.includes('Helo, ') && shown.includes('Hello, ');
      });
      await editor.shot('open-diff');

      await card.getByRole('button', { name: 'Approve: Edit src/greet.js?' }).click();
      await fileHolds('src/greet.js', before!.replace("'Helo, '", "'Hello, '"));
      await editor.waitForRunStatus(prompt, 'done');
      await card.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await editor
        .run(prompt)
        .locator('.model-text', { hasText: 'The greeting now says Hello.' })
        .waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('approved-done');
      // The host keeps its database in this suite's XDG_DATA_HOME, not the user's.
      const db = defaultDbPath(editor.workspace, { XDG_DATA_HOME: editor.dataDir });
      assert.deepEqual(editor.databases(), [path.basename(db)]);
      await editor.closeEditors();
    },
  );

  scenario(
    '2. deny with a reason: the model gets the reason and its next message reflects it',
    async () => {
      const prompt = 'e2e 2: write a changelog';
      const reason = 'Put it in docs/CHANGES.md instead';
      model.script(prompt, (request) => {
        const results = toolMessages(request.messages);
        if (results.length === 0) {
          return {
            toolCalls: [
              {
                id: 'call_changelog',
                name: 'write_file',
                arguments: { path: 'CHANGELOG.md', content: '# Changes\n' },
              },
            ],
          };
        }
        return {
          text: `Understood, I will not write CHANGELOG.md. ${contentText(results.at(-1)!.content)}`,
        };
      });

      await editor.startRun(prompt);
      const card = editor.card('Create CHANGELOG.md (write_file)');
      await card.waitFor({ timeout: UI_TIMEOUT });
      await card.getByText('Deny with reason…', { exact: true }).click();
      await card.getByLabel('Reason, if you deny').fill(reason);
      await editor.shot('deny-reason');
      await card.getByRole('button', { name: 'Deny: Create CHANGELOG.md?' }).click();

      await editor.waitForRunStatus(prompt, 'done');
      const requests = model.requestsFor(prompt);
      assert.equal(requests.length, 2);
      const denied = toolMessages(requests[1]!.messages).find(
        (m) => m.tool_call_id === 'call_changelog',
      );
      assert.ok(denied, 'the second request carries the tool result of the denied call');
      assert.ok(contentText(denied.content).includes(reason), contentText(denied.content));
      await editor
        .run(prompt)
        .locator('.model-text', { hasText: 'Understood, I will not write CHANGELOG.md.' })
        .filter({ hasText: reason })
        .waitFor({ timeout: UI_TIMEOUT });
      assert.equal(readFile('CHANGELOG.md'), undefined);
      await editor.shot('denied-model-reply');
    },
  );

  scenario('3. edit, then approve: the amended proposal is what lands on disk', async () => {
    const prompt = 'e2e 3: write the plan';
    model.script(prompt, (request) => {
      const results = toolMessages(request.messages);
      if (results.length === 0) {
        return {
          toolCalls: [
            {
              id: 'call_plan',
              name: 'write_file',
              arguments: { path: 'notes/plan.txt', content: 'Step one: write the plan\n' },
            },
          ],
        };
      }
      return { text: `Plan written: ${contentText(results.at(-1)!.content)}` };
    });
    const typed = 'Step two: typed in the editor';

    await editor.startRun(prompt);
    const card = editor.card('Create notes/plan.txt (write_file)');
    await card.waitFor({ timeout: UI_TIMEOUT });
    await card.getByRole('button', { name: 'Edit notes/plan.txt, then approve' }).click();

    // The proposal opens in an ordinary, editable text editor.
    const tab = editor.page.locator('.tabs-container .tab.active');
    await tab.filter({ hasText: 'plan.txt' }).waitFor({ timeout: UI_TIMEOUT });
    const monaco = editor.page.locator('.editor-group-container .editor-instance .monaco-editor');
    await monaco.locator('.view-lines', { hasText: 'Step one' }).waitFor({ timeout: UI_TIMEOUT });
    // Once the sidebar has its reply (the card is no longer busy) the keyboard is still the
    // editor's: the developer types straight away, no click needed.
    await until('the card to settle', async () => (await card.getAttribute('aria-busy')) === null);
    await editor.page
      .locator('.editor-group-container .monaco-editor.focused')
      .waitFor({ timeout: UI_TIMEOUT });
    await editor.page.keyboard.press('Control+End');
    await editor.page.keyboard.type(typed);
    await editor.page.keyboard.press('Escape'); // a word suggestion, if one popped up
    await monaco
      .locator('.view-lines', { hasText: typed.replace(/ /g, '\u00a0') })
      .waitFor({ timeout: UI_TIMEOUT });
    // The editor title offers "Approve Edited Proposal" on this document only.
    await editor.page
      .locator('.editor-actions [aria-label*="Approve Edited Proposal"]')
      .waitFor({ timeout: UI_TIMEOUT });
    await editor.shot('edit-proposal');

    await editor.runCommand('Airlock: Approve Edited Proposal');
    const amended = `Step one: write the plan\n${typed}`;
    await fileHolds('notes/plan.txt', amended);
    await editor.waitForRunStatus(prompt, 'done');
    // The editing copy was closed once approved.
    await editor.page
      .locator('.tabs-container .tab', { hasText: 'plan.txt' })
      .waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    const results = toolMessages(model.requestsFor(prompt).at(-1)!.messages);
    assert.equal(results.length, 1);
    assert.match(contentText(results[0]!.content), /notes\/plan\.txt/);
    await editor.shot('edited-approved');
    // Its "then approve it" notification outlives the decision (VS Code cannot withdraw one): its
    // button, pressed late, decides nothing and says why.
    await editor.runCommand('Notifications: Show Notifications');
    const center = editor.page.locator('.notifications-center');
    await center
      .locator('.notification-list-item', { hasText: 'edit the proposal for notes/plan.txt' })
      .getByRole('button', { name: 'Approve Edited' })
      .click();
    // VS Code shows it as a toast when the button closed the notification center, and in the
    // center when it is still open (a busy machine): either way the developer reads it.
    await editor.page
      .locator(
        '.notification-toast.notification-fade-in-done, .notifications-center .notification-list-item',
        { hasText: 'This is no longer pending' },
      )
      .first()
      .waitFor({ timeout: UI_TIMEOUT });
    await editor.shot('edit-notice-late');
    assert.equal(readFile('notes/plan.txt'), amended);
    assert.equal(model.requestsFor(prompt).length, 2, 'the run did not move again');
    await editor.runCommand('Notifications: Clear All Notifications');
    await editor.page
      .locator('.notification-list-item')
      .first()
      .waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  });

  scenario('4. a question form: the answer reaches the model and the run continues', async () => {
    const prompt = 'e2e 4: style the banner';
    const question = 'Which colour should the banner be?';
    model.script(prompt, (request) => {
      const results = toolMessages(request.messages);
      if (results.length === 0) {
        return {
          toolCalls: [
            {
              id: 'call_ask',
              name: 'ask_user',
              arguments: { question, options: ['Red', 'Green', 'Blue'] },
            },
          ],
        };
      }
      return { text: `Making the banner ${contentText(results.at(-1)!.content)}.` };
    });

    await editor.startRun(prompt);
    const form = editor.card(`Question: ${question}`);
    await form.waitFor({ timeout: UI_TIMEOUT });
    for (const option of ['Red', 'Green', 'Blue']) {
      await form.getByRole('radio', { name: option }).waitFor();
    }
    await form.getByRole('radio', { name: 'Green' }).check();
    await editor.shot('question-form');
    await form.getByRole('button', { name: 'Send answer' }).click();

    await editor.waitForRunStatus(prompt, 'done');
    const requests = model.requestsFor(prompt);
    assert.equal(requests.length, 2);
    const answer = toolMessages(requests[1]!.messages).find((m) => m.tool_call_id === 'call_ask');
    assert.ok(answer, 'the second request carries the answer as the tool result');
    assert.match(contentText(answer.content), /Green/);
    await editor
      .run(prompt)
      .locator('.model-text', { hasText: 'Making the banner Green.' })
      .waitFor({ timeout: UI_TIMEOUT });
    await form.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    await editor.shot('question-answered');
  });

  scenario('4b. the palette takes an answer of the developer\'s own ("Other…")', async () => {
    const prompt = 'e2e 4b: name the banner colour';
    const question = 'Which colour for the footer?';
    model.script(prompt, (request) => {
      const results = toolMessages(request.messages);
      if (results.length === 0) {
        return {
          toolCalls: [
            { id: 'call_ask', name: 'ask_user', arguments: { question, options: ['Red', 'Blue'] } },
          ],
        };
      }
      return { text: `Footer: ${contentText(results.at(-1)!.content)}.` };
    });
    await editor.startRun(prompt);
    await editor.card(`Question: ${question}`).waitFor({ timeout: UI_TIMEOUT });

    const { page } = editor;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const row = (text: string) =>
      page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: text }).first();
    await page.keyboard.press('F1');
    await input.fill('>Airlock: Answer a Question');
    await row('Airlock: Answer a Question').click();
    await row(question).click(); // which question
    await row('Other…').click(); // the options are suggestions
    await page.locator('.quick-input-widget .quick-input-message', { hasText: question }).waitFor();
    await input.fill('Teal, like the logo');
    await input.press('Enter');

    await editor.waitForRunStatus(prompt, 'done');
    const answer = toolMessages(model.requestsFor(prompt)[1]!.messages).find(
      (m) => m.tool_call_id === 'call_ask',
    );
    assert.equal(contentText(answer!.content), 'Teal, like the logo');
  });

  scenario('5. a delete card shows the file; Approve deletes it', async () => {
    const prompt = 'e2e 5: remove the old todo list';
    model.script(prompt, (request) => {
      if (toolMessages(request.messages).length === 0) {
        return {
          toolCalls: [
            { id: 'call_rm', name: 'delete_file', arguments: { path: 'notes/old-todo.md' } },
          ],
        };
      }
      return { text: 'Removed the old todo list.' };
    });
    const size = fs.statSync(editor.file('notes/old-todo.md')).size;

    await editor.startRun(prompt);
    const card = editor.card('Delete notes/old-todo.md (delete_file)');
    await card.waitFor({ timeout: UI_TIMEOUT });
    const facts = (await card.locator('dl.facts').textContent()) ?? '';
    assert.match(facts, /notes\/old-todo\.md/);
    assert.match(facts, new RegExp(`${size} bytes`));
    const preview = card.getByRole('table', {
      name: 'Content of notes/old-todo.md, to be deleted',
    });
    assert.match((await preview.textContent()) ?? '', /Old TODO/);
    await editor.shot('delete-card');

    await card.getByRole('button', { name: 'Approve: Delete notes/old-todo.md?' }).click();
    await until(
      'notes/old-todo.md to be deleted',
      () => !fs.existsSync(editor.file('notes/old-todo.md')),
    );
    await editor.waitForRunStatus(prompt, 'done');
    await editor.shot('deleted');
  });

  scenario(
    '6. a gate survives a window reload; approving resumes the run and the handler runs once',
    async () => {
      const prompt = 'e2e 6: record the reload';
      model.script(prompt, (request) => {
        const results = toolMessages(request.messages);
        if (results.length === 0) {
          return {
            toolCalls: [
              {
                id: 'call_reload',
                name: 'write_file',
                arguments: { path: 'notes/reload.txt', content: 'written once\n' },
              },
            ],
          };
        }
        return { text: `After the reload: ${contentText(results.at(-1)!.content)}` };
      });

      await editor.startRun(prompt);
      const card = editor.card('Create notes/reload.txt (write_file)');
      await card.waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('before-reload');

      await editor.reload();
      await card.waitFor({ timeout: UI_TIMEOUT });
      await editor.waitForRunStatus(prompt, 'waiting for you (1)');
      await until('the badge after the reload', async () => (await editor.badge()) === '1');
      await editor.shot('after-reload');
      assert.equal(readFile('notes/reload.txt'), undefined, 'nothing was written before approval');

      await card.getByRole('button', { name: 'Approve: Create notes/reload.txt?' }).click();
      await fileHolds('notes/reload.txt', 'written once\n');
      await editor.waitForRunStatus(prompt, 'done');
      // The model was asked twice (the first turn, then with the result); the reload did not
      // replay the first turn, and the result of the call is there exactly once.
      const requests = model.requestsFor(prompt);
      assert.equal(requests.length, 2);
      const results = toolMessages(requests[1]!.messages).filter(
        (m) => m.tool_call_id === 'call_reload',
      );
      assert.equal(results.length, 1);
      // A second run of the handler would have found the content there and said so.
      assert.match(contentText(results[0]!.content), /^Created notes\/reload\.txt/);
      await editor
        .run(prompt)
        .locator('.model-text', { hasText: 'After the reload: Created notes/reload.txt' })
        .waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await editor.run(prompt).locator('.tool-line.ok').count(), 1);
      await editor.shot('reload-approved');
    },
  );

  scenario(
    '7. the host killed with SIGKILL while a card waits: it is restarted and the card still works',
    async () => {
      const prompt = 'e2e 7: survive a crash';
      model.script(prompt, (request) => {
        const results = toolMessages(request.messages);
        if (results.length === 0) {
          return {
            toolCalls: [
              {
                id: 'call_crash',
                name: 'write_file',
                arguments: { path: 'notes/crash.txt', content: 'after the crash\n' },
              },
            ],
          };
        }
        return { text: `Still here: ${contentText(results.at(-1)!.content)}` };
      });

      await editor.startRun(prompt);
      const card = editor.card('Create notes/crash.txt (write_file)');
      await card.waitFor({ timeout: UI_TIMEOUT });
      const [pid, ...others] = editor.hostPids();
      assert.ok(pid, 'the Airlock host process runs');
      assert.deepEqual(others, [], 'one Airlock host process');
      process.kill(pid, 'SIGKILL');

      const restarted = await until('a new Airlock host process', () => {
        const pids = editor.hostPids();
        return pids.length === 1 && pids[0] !== pid ? pids[0] : undefined;
      });
      assert.notEqual(restarted, pid);
      await editor.connected();
      await card.waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('host-restarted');

      await card.getByRole('button', { name: 'Approve: Create notes/crash.txt?' }).click();
      await fileHolds('notes/crash.txt', 'after the crash\n');
      await editor.waitForRunStatus(prompt, 'done');
      const requests = model.requestsFor(prompt);
      assert.equal(requests.length, 2, 'the restart did not replay the first turn');
      const results = toolMessages(requests[1]!.messages).filter(
        (m) => m.tool_call_id === 'call_crash',
      );
      assert.equal(results.length, 1);
      assert.match(contentText(results[0]!.content), /^Created notes\/crash\.txt/);
      await editor.shot('crash-approved');
    },
  );

  scenario(
    '9. a shell command: its card lists the sub-commands; the edited command runs, its output in a terminal',
    async () => {
      const prompt = 'e2e 9: count the notes';
      model.script(prompt, (request) => {
        const results = toolMessages(request.messages);
        if (results.length === 0) {
          return {
            toolCalls: [
              {
                id: 'call_cmd',
                name: 'run_command',
                arguments: { command: 'ls && rm -rf notes' },
              },
            ],
          };
        }
        return { text: `Ran it. ${contentText(results.at(-1)!.content)}` };
      });
      await editor.startRun(prompt);
      const card = editor.card('Command ls && rm -rf notes (run_command)');
      await card.waitFor({ timeout: UI_TIMEOUT });
      assert.deepEqual(await card.locator('li.subcommand code').allTextContents(), [
        'ls',
        'rm -rf notes',
      ]);
      await editor.shot('command-card');
      await card.getByText('Edit command…', { exact: true }).click();
      await card
        .getByLabel('Command to run instead')
        .fill('echo "counted by hand" | tee counted.txt');
      await card
        .getByRole('button', { name: 'Approve the edited command instead of the proposal' })
        .click();
      await fileHolds('counted.txt', 'counted by hand\n');
      await editor.waitForRunStatus(prompt, 'done');
      const result = toolMessages(model.requestsFor(prompt)[1]!.messages)[0]!;
      assert.equal(contentText(result.content), 'Exit code 0.\ncounted by hand\n');
      // The output went to a terminal named after the run, beside the sidebar's transcript.
      await editor.page
        .getByText(/Airlock run_/)
        .first()
        .waitFor({ timeout: UI_TIMEOUT });
      await editor.page
        .locator('.xterm-rows', { hasText: 'counted by hand' })
        .waitFor({ timeout: UI_TIMEOUT });
      await editor
        .run(prompt)
        .locator('pre.command-output', { hasText: 'counted by hand' })
        .waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('command-ran');
    },
  );

  scenario('8. the badge and the status bar count pending decisions', async () => {
    const prompt = 'e2e 8: write two files';
    model.script(prompt, (request) => {
      if (toolMessages(request.messages).length === 0) {
        return {
          toolCalls: [
            {
              id: 'call_a',
              name: 'write_file',
              arguments: { path: 'notes/a.txt', content: 'a\n' },
            },
            {
              id: 'call_b',
              name: 'write_file',
              arguments: { path: 'notes/b.txt', content: 'b\n' },
            },
          ],
        };
      }
      return { text: 'Both written.' };
    });
    // Nothing waits before this run.
    await until('no badge', async () => (await editor.badge()) === null);
    assert.doesNotMatch(await editor.statusBar(), /pending/);

    await editor.startRun(prompt);
    const cardA = editor.card('Create notes/a.txt (write_file)');
    const cardB = editor.card('Create notes/b.txt (write_file)');
    await cardA.waitFor({ timeout: UI_TIMEOUT });
    await cardB.waitFor({ timeout: UI_TIMEOUT });
    await until('badge 2', async () => (await editor.badge()) === '2');
    await until('"2 pending" in the status bar', async () =>
      (await editor.statusBar()).includes('2 pending'),
    );
    await editor.waitForRunStatus(prompt, 'waiting for you (2)');
    await editor.shot('two-pending');

    await cardA.getByRole('button', { name: 'Approve: Create notes/a.txt?' }).click();
    await until('badge 1', async () => (await editor.badge()) === '1');
    await until('"1 pending" in the status bar', async () =>
      (await editor.statusBar()).includes('1 pending'),
    );
    await editor.shot('one-pending');

    await cardB.getByRole('button', { name: 'Approve: Create notes/b.txt?' }).click();
    await until('no badge', async () => (await editor.badge()) === null);
    await until(
      'no pending count in the status bar',
      async () => !(await editor.statusBar()).includes('pending'),
    );
    await editor.waitForRunStatus(prompt, 'done');
    assert.equal(readFile('notes/a.txt'), 'a\n');
    assert.equal(readFile('notes/b.txt'), 'b\n');
    await editor.shot('none-pending');
  });

  scenario(
    '10. undo in the sidebar: Revert a change after a reload; Revert run on a file changed since shows before / applied / now, Restore puts it back',
    async () => {
      const prompt = 'e2e 10: draft two notes';
      fs.writeFileSync(editor.file('notes/undo-b.txt'), 'the original\n');
      model.script(prompt, (request) => {
        if (toolMessages(request.messages).length === 0) {
          return {
            toolCalls: [
              {
                id: 'call_undo_a',
                name: 'write_file',
                arguments: { path: 'notes/undo-a.txt', content: 'a, by the agent\n' },
              },
              {
                id: 'call_undo_b',
                name: 'write_file',
                arguments: { path: 'notes/undo-b.txt', content: 'b, by the agent\n' },
              },
            ],
          };
        }
        return { text: 'Both drafted.' };
      });
      await editor.startRun(prompt);
      const cardA = editor.card('Create notes/undo-a.txt (write_file)');
      const cardB = editor.card('Edit notes/undo-b.txt (write_file)');
      await cardA.waitFor({ timeout: UI_TIMEOUT });
      await cardA.getByRole('button', { name: 'Approve: Create notes/undo-a.txt?' }).click();
      await cardB.getByRole('button', { name: 'Approve: Overwrite notes/undo-b.txt?' }).click();
      await editor.waitForRunStatus(prompt, 'done');
      await fileHolds('notes/undo-b.txt', 'b, by the agent\n');

      // After a reload the stored transcript has each change with its Revert button.
      await editor.reload();
      const run = editor.run(prompt);
      const revertA = run.getByRole('button', { name: 'Revert the change to notes/undo-a.txt' });
      await revertA.waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('undo-changes');
      await revertA.click();
      await until(
        'notes/undo-a.txt to be gone',
        async () => readFile('notes/undo-a.txt') === undefined,
      );
      await run
        .getByRole('button', {
          name: 'Undo the revert of notes/undo-a.txt (apply the change again)',
        })
        .waitFor({ timeout: UI_TIMEOUT });
      assert.equal(model.requestsFor(prompt).length, 2, 'a finished run is not continued');

      // The developer changed b since: Revert run shows the comparison before touching it.
      fs.writeFileSync(editor.file('notes/undo-b.txt'), 'b, by the agent\nand by me\n');
      await run.getByRole('button', { name: /^Revert the changes of run/ }).click();
      const restore = editor.page
        .locator('.quick-input-widget')
        .getByText('Restore the content from before the agent');
      await restore.waitFor({ timeout: UI_TIMEOUT });
      await editor.page
        .locator('.tab', { hasText: "notes/undo-b.txt changed since the agent's change" })
        .waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('undo-comparison');
      assert.equal(readFile('notes/undo-b.txt'), 'b, by the agent\nand by me\n', 'not touched yet');
      await restore.click();
      await fileHolds('notes/undo-b.txt', 'the original\n');
      await run
        .getByRole('button', {
          name: 'Undo the revert of notes/undo-b.txt (apply the change again)',
        })
        .waitFor({ timeout: UI_TIMEOUT });
      await run
        .getByRole('button', { name: /^Revert the changes of run/ })
        .waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await editor.shot('undo-done');
      await editor.closeEditors();
    },
  );
});
