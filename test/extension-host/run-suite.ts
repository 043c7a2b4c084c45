// Runs the extension-host cases with Mocha inside the extension host. The cases are bundled into
// this file (no test files to load from disk), so Mocha's BDD functions are set up by hand with
// its `pre-require` event, the way `mocha.loadFiles` does for each file.
import Mocha from 'mocha';
import { registerCases } from './cases.js';
import type { CaseResult } from './report.js';

export async function runSuite(reporter: 'spec' | 'dot' = 'spec'): Promise<CaseResult[]> {
  // AIRLOCK_SUITE_GREP: only the cases whose title matches (while working on a few of them).
  const grep = process.env.AIRLOCK_SUITE_GREP;
  const mocha = new Mocha({
    ui: 'bdd',
    reporter,
    color: false,
    timeout: 600_000,
    ...(grep ? { grep } : {}),
  });
  mocha.suite.emit('pre-require', globalThis, 'extension-host/cases', mocha);
  registerCases();
  const results: CaseResult[] = [];
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', (test) => results.push({ title: test.fullTitle(), state: 'passed' }));
    runner.on('pending', (test) => results.push({ title: test.fullTitle(), state: 'pending' }));
    runner.on('fail', (test, err: unknown) =>
      results.push({
        title: test.fullTitle(),
        state: 'failed',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    );
  });
  return results;
}
