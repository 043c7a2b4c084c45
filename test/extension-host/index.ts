// The extension-host suite's one entry module, loaded two ways:
// - as `extensionTestsPath` by @vscode/test-electron (npm run test:desktop): VS Code calls `run()`
//   in the extension host of the window it opened on the sample workspace; a rejection fails it;
// - as the `main` of a test-only extension that test/editor/extension-host.test.ts installs beside
//   Airlock in code-server (which has no --extensionTestsPath): `activate()` runs the same cases
//   when the window starts with AIRLOCK_SUITE_RESULTS set, and writes the results there as JSON.
import * as fs from 'node:fs';
import type { SuiteReport } from './report.js';
import { runSuite } from './run-suite.js';

export async function run(): Promise<void> {
  const results = await runSuite('spec');
  const failed = results.filter((r) => r.state === 'failed');
  if (results.length === 0) throw new Error('The extension-host suite ran no cases.');
  if (failed.length > 0) throw new Error(`${failed.length} extension-host case(s) failed.`);
}

export function activate(): void {
  const out = process.env.AIRLOCK_SUITE_RESULTS;
  if (!out) return;
  void runSuite('dot')
    .then((results): SuiteReport => ({ results }))
    .catch((err: unknown): SuiteReport => ({ results: [], error: String(err) }))
    .then((report) => {
      // Written whole, then renamed: the driver never reads half a report.
      fs.writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2));
      fs.renameSync(`${out}.tmp`, out);
    });
}

export function deactivate(): void {}
