// `npm run bench` step 1: installs the benchmark-only peers (bench/package.json) when missing, so
// a plain `npm install` never compiles better-sqlite3 or fetches @openai/agents.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = __dirname;
const needed = ['@openai/agents', 'better-sqlite3', 'openai'];
const missing = needed.filter(
  (name) => !fs.existsSync(path.join(dir, 'node_modules', name, 'package.json')),
);
if (missing.length > 0) {
  console.log(`Installing the benchmark's peers (${missing.join(', ')}) into bench/node_modules…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
