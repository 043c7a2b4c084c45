// Airlock in VS Code's Restricted Mode (SPEC §9), in a real VS Code: its own code-server launch
// with workspace trust on (no --disable-workspace-trust) and never prompting, so the sample
// workspace opens untrusted. The workspace carries an airlock.config.json that would loosen
// Airlock. Airlock must still activate and connect; its sidebar says what Restricted Mode changes,
// lists what the file asks for that is ignored, and offers nothing to trust; once the developer
// trusts the folder through the banner's "Manage Workspace Trust", the file's loosening rules are
// offered once in a notification, and "Trust This Version" applies them.
// Screenshots: test-results/restricted-mode/NN-name.png.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ModelByPrompt } from '../support/model-by-prompt.js';
import { until, UI_TIMEOUT } from '../support/until.js';
import { Editor } from './harness.js';

const CONFIG = {
  policy: [{ tool: 'write_file', paths: ['docs/**'], action: 'allow' }],
};

let model: ModelByPrompt;
let editor: Editor;

before(
  async () => {
    model = await ModelByPrompt.start();
    editor = await Editor.start({
      baseURL: model.baseURL,
      restricted: true,
      results: 'restricted-mode',
      workspaceFiles: { 'airlock.config.json': `${JSON.stringify(CONFIG, null, 2)}\n` },
    });
  },
  { timeout: 600_000 },
);

after(
  async () => {
    await editor?.close();
    await model?.close();
  },
  { timeout: 60_000 },
);

/** A notification toast of the workbench with this text. */
function toast(text: RegExp) {
  return editor.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text });
}

void it(
  'in Restricted Mode Airlock activates, says what is restricted and offers no trust; trusting the folder brings the one offer',
  { timeout: 900_000 },
  async () => {
    const { page, sidebar } = editor;
    try {
      // The window really is untrusted: VS Code's own indicator says so.
      await page
        .locator('.statusbar')
        .getByText('Restricted Mode', { exact: true })
        .waitFor({ timeout: UI_TIMEOUT });

      // Airlock activated (Editor.start opened its sidebar and waited for its host) and says what
      // Restricted Mode changes.
      const banner = sidebar.getByRole('region', { name: 'Restricted Mode' });
      await banner.waitFor();
      assert.match(
        (await banner.textContent()) ?? '',
        /Restricted Mode: this folder is not trusted\. Airlock still runs and still stops at its gates, but it will not offer to trust this folder's airlock\.config\.json/,
      );
      assert.ok(await banner.getByRole('button', { name: 'Manage Workspace Trust' }).isVisible());

      // The file's loosening rule is listed as ignored, with nothing to trust while restricted.
      const strip = sidebar.getByRole('region', { name: 'airlock.config.json: ignored rules' });
      await strip.waitFor();
      assert.match((await strip.locator('li').allTextContents()).join('\n'), /write_file/);
      assert.equal(await strip.getByRole('button', { name: /Review/ }).count(), 0);
      // The status that filled the strip is the one an offer would come from: none was made.
      assert.equal(
        await toast(/wants to loosen Airlock/).count(),
        0,
        'no offer in Restricted Mode',
      );
      await editor.shot('restricted-sidebar');

      // "Manage Workspace Trust" opens VS Code's Workspace Trust editor; trust the folder there.
      await banner.getByRole('button', { name: 'Manage Workspace Trust' }).click();
      const trustEditor = page.locator('.workspace-trust-editor');
      await trustEditor.waitFor({ timeout: UI_TIMEOUT });
      await editor.shot('workspace-trust-editor');
      await trustEditor.getByRole('button', { name: 'Trust', exact: true }).first().click();
      await until(
        'the window to be trusted',
        async () =>
          (await page
            .locator('.statusbar')
            .getByText('Restricted Mode', { exact: true })
            .count()) === 0,
      );

      // Airlock follows without a reload: the banner goes, and the offer comes, once.
      await editor.openSidebar();
      await sidebar.getByRole('region', { name: 'Restricted Mode' }).waitFor({ state: 'hidden' });
      const offer = toast(
        /This repository's airlock\.config\.json wants to loosen Airlock: .*write_file/,
      );
      await offer.waitFor({ timeout: UI_TIMEOUT });
      for (const name of ['Show File', 'Trust This Version', 'Keep Ignoring']) {
        assert.ok(await offer.getByRole('button', { name }).isVisible(), name);
      }
      await editor.shot('offer-after-trust');
      assert.equal(await toast(/wants to loosen Airlock/).count(), 1, 'one notification');

      // Trust this version: the host applies the file; nothing is listed as ignored any more.
      await offer.getByRole('button', { name: 'Trust This Version' }).click();
      await strip.waitFor({ state: 'hidden' });
      await toast(/trusted this version of airlock\.config\.json/).waitFor();
      await editor.shot('config-trusted');
    } catch (err) {
      await editor.shot('failed').catch(() => undefined);
      throw err;
    }
  },
);
