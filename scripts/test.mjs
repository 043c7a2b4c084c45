// `npm test`: type-check, lint, build, then every test tier this machine can run, in one
// node:test run so there is one summary. Tiers by folder: test/unit (no I/O), test/host (real
// processes, loopback model server), test/webview (Chromium), test/editor (real VS Code).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  if (result.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${result.status}).`);
    process.exit(result.status ?? 1);
  }
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
run(npx, ['tsc', '--noEmit', '-p', '.']);
run(npx, ['eslint', '.']);
run(npx, ['prettier', '--check', '.']);
run(process.execPath, ['esbuild.mjs']);

const tiers = (process.env.AIRLOCK_TEST_TIERS ?? 'unit,host,webview,editor').split(',');
const files = tiers.flatMap((tier) => testFiles(join('test', tier)));
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files]);
