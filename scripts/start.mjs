// `npm start`: build the .vsix, install it into a real VS Code and open it on a fresh copy of
// the sample workspace. Uses the `code` command when installed; otherwise code-server (VS Code
// in the browser, installed once into .cache/). Without OPENAI_API_KEY the offline demo model
// walks you through an edit approval, a question and a delete approval.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCodeServer, OFFLINE_SETTINGS, serveArgs, serveEnv } from './code-server.mjs';

function run(cmd, args, env = process.env) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function freePort(preferred) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(freePort(0)));
    server.listen(preferred, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

run('npm', ['run', 'package', '--silent']);
const home = mkdtempSync(join(tmpdir(), 'airlock-start-'));
const workspace = join(home, 'sample-workspace');
cpSync('sample-workspace', workspace, { recursive: true });
const model =
  process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL
    ? 'your configured model'
    : 'the offline demo model';

const code = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' }).stdout.trim();
if (code) {
  run(code, ['--install-extension', 'airlock.vsix', '--force']);
  run(code, ['--new-window', workspace]);
  console.log(
    `\nOpened ${workspace} in VS Code with Airlock (${model}). Click the Airlock shield in the activity bar.`,
  );
  process.exit(0);
}

const binary = ensureCodeServer();
const userData = join(home, 'user-data');
const extensions = join(home, 'extensions');
mkdirSync(join(userData, 'User'), { recursive: true });
writeFileSync(
  join(userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      // No port forwarding, no gallery lookups, no telemetry: see scripts/code-server.mjs.
      ...OFFLINE_SETTINGS,
    },
    null,
    2,
  ),
);
run(
  binary,
  [
    '--extensions-dir',
    extensions,
    '--user-data-dir',
    userData,
    '--install-extension',
    'airlock.vsix',
  ],
  serveEnv(),
);
const port = await freePort(8080);
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
const log = join(home, 'code-server.log');
const server = spawn(binary, serveArgs({ port, userData, extensions, workspace }), {
  stdio: ['ignore', openSync(log, 'a'), 'inherit'],
  env: serveEnv({ ...process.env, XDG_DATA_HOME: join(home, 'data') }),
});
console.log(`\nAirlock is running in VS Code (code-server) with ${model}.`);
console.log(`Open ${url}`);
console.log(`code-server's output: ${log}; VS Code's logs: ${join(userData, 'logs')}`);
console.log(
  'Click the Airlock shield in the activity bar, type a task, press Run. Ctrl+C stops.\n',
);
process.on('SIGINT', () => server.kill('SIGTERM'));
server.on('exit', (status) => process.exit(status ?? 0));
