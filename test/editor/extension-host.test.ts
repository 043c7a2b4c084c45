// The extension-host suite (test/extension-host/cases.ts) in a real VS Code on this machine:
// code-server with Airlock's .vsix and the test-only runner extension installed beside it. The
// runner runs the cases in the extension host as soon as the window starts and writes a JSON
// report; this file waits for it and reports each case. The same cases run on desktop VS Code
// through @vscode/test-electron (`npm run test:desktop`).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { SuiteReport } from '../extension-host/report.js';
import { until } from '../support/until.js';
import { Editor, packageSuiteExtension } from './harness.js';

let editor: Editor;
let reportDir: string;
let reportFile: string;

before(
  async () => {
    reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-suite-'));
    reportFile = path.join(reportDir, 'report.json');
    editor = await Editor.start({
      // The suite points Airlock at its own scripted server through the settings API.
      baseURL: 'http://127.0.0.1:9/v1',
      extraVsix: [packageSuiteExtension()],
      env: {
        AIRLOCK_SUITE_RESULTS: reportFile,
        ...(process.env.AIRLOCK_SUITE_GREP
          ? { AIRLOCK_SUITE_GREP: process.env.AIRLOCK_SUITE_GREP }
          : {}),
      },
      results: 'extension-host',
    });
  },
  { timeout: 600_000 },
);

after(async () => {
  await editor?.close();
  if (reportDir) fs.rmSync(reportDir, { recursive: true, force: true });
});

void it('the extension-host suite passes in code-server', { timeout: 2_400_000 }, async (t) => {
  const text = await until(
    'the extension-host suite to report',
    () => fs.existsSync(reportFile) && fs.readFileSync(reportFile, 'utf8'),
    2_300_000,
  );
  await editor.shot('after-suite');
  const report = SuiteReport.parse(JSON.parse(text));
  assert.equal(report.error, undefined, report.error);
  const least = process.env.AIRLOCK_SUITE_GREP ? 1 : 6;
  assert.ok(report.results.length >= least, `the suite ran its cases (${report.results.length})`);
  for (const result of report.results) {
    await t.test(result.title, () => {
      assert.equal(result.state, 'passed', result.error ?? result.state);
    });
  }
});
