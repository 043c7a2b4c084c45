// Rules and trust in the sidebar: "Always…" controls naming the exact rule they make, protected
// paths that offer no always-allow, the standing rules list with Revoke, and Restricted Mode with
// the ignored lines of airlock.config.json.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleRow } from '../../webview/protocol.js';
import { XSS_IMG, XSS_SCRIPT } from './host-events.js';
import {
  body,
  c,
  card,
  idOf,
  request,
  run,
  shotOf,
  sidebar,
  stateWith,
  text,
  useSidebarHarness,
} from './sidebar-support.js';

useSidebarHarness();

void describe('sidebar webview (headless Chromium, real host events)', () => {
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
});
