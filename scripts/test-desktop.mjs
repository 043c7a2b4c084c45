// `npm run test:desktop`: the extension-host suite (test/extension-host) in desktop VS Code, which
// @vscode/test-electron downloads into .vscode-test/ and starts with Airlock loaded from this
// folder (extensionDevelopmentPath) on a fresh copy of the sample workspace. The same cases run in
// code-server as part of `npm test` (test/editor/extension-host.test.ts).
//
// Environment: AIRLOCK_VSCODE_VERSION (default "stable"; e.g. "1.100.3", "insiders"),
// AIRLOCK_VSCODE_EXECUTABLE (an installed VS Code to use instead of downloading one).
// On Linux without a display, run it under Xvfb: `xvfb-run -a npm run test:desktop`.
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  console.error(
    'npm run test:desktop starts desktop VS Code, which needs a display: run `xvfb-run -a npm run test:desktop` (apt-get install xvfb).',
  );
  process.exit(2);
}

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'airlock-desktop-')));
const workspace = join(scratch, 'workspace');
cpSync(join(root, 'sample-workspace'), workspace, { recursive: true });
for (const dir of ['user-data', 'extensions', 'data']) mkdirSync(join(scratch, dir));

const version = process.env.AIRLOCK_VSCODE_VERSION || 'stable';
const executable = process.env.AIRLOCK_VSCODE_EXECUTABLE;
let code = 0;
try {
  await runTests({
    ...(executable ? { vscodeExecutablePath: executable } : { version }),
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out', 'extension-host', 'suite.js'),
    // (@vscode/test-electron adds --no-sandbox, --disable-workspace-trust, --skip-welcome, …)
    launchArgs: [
      workspace,
      '--disable-extensions', // only Airlock, from this folder
      `--user-data-dir=${join(scratch, 'user-data')}`,
      `--extensions-dir=${join(scratch, 'extensions')}`,
    ],
    // The Airlock host inherits the extension host's environment: its database goes to the
    // scratch folder, not the developer's ~/.local/share/airlock.
    extensionTestsEnv: { XDG_DATA_HOME: join(scratch, 'data'), AIRLOCK_DB: '' },
  });
} catch (err) {
  code = 1;
  const message = err instanceof Error ? err.message : String(err);
  console.error(`\nnpm run test:desktop failed: ${message}`);
  if (!executable && /download|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|fetch/i.test(message)) {
    console.error(
      `VS Code ${version} could not be downloaded from update.code.visualstudio.com. Point AIRLOCK_VSCODE_EXECUTABLE at an installed VS Code, or run \`npm test\`: it runs the same suite in code-server.`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(code);
