// V8's code caches of the CLI and the host (host/code-cache.ts): real `node dist/cli.js`
// processes (built by `node esbuild.mjs`) on the offline demo model and real `dist/host.js`
// processes, each with its own cache folder (XDG_CACHE_HOME). A process leaves V8's cache of
// what it compiled in a folder only its user can change; the next one reads it; a damaged cache
// costs nothing but a compile, and a folder others could write to is never used.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { cacheVariant } from '../../host/cli/cache-name.js';
import { cacheName } from '../../host/code-cache.js';
import { USAGE } from '../../host/cli/args.js';
import {
  cleanEnv,
  CLI,
  runProcess,
  SAMPLE,
  sandboxEnv,
  type Result,
} from '../support/cli-process.js';
import { scriptedOptions } from '../support/host-client.js';
import { tempDir } from '../support/scratch.js';

/** A workspace copy, its database and config, and `cache` as XDG_CACHE_HOME. */
function sandbox(): { dir: string; cache: string; airlock: (args: string[]) => Promise<Result> } {
  const dir = tempDir('code-cache');
  const ws = path.join(dir, 'ws');
  fs.cpSync(SAMPLE, ws, { recursive: true });
  const cache = path.join(dir, 'cache');
  const env = sandboxEnv(dir, { XDG_CACHE_HOME: cache });
  return {
    dir,
    cache,
    airlock: (args) =>
      runProcess(process.execPath, [CLI, ...args, '--db', path.join(dir, 'airlock.db')], {
        cwd: ws,
        env,
      }),
  };
}

/** The cache files in the folder, by name: their bytes. */
function caches(folder: string): Map<string, Buffer> {
  if (!fs.existsSync(folder)) return new Map();
  return new Map(
    fs
      .readdirSync(folder)
      .filter((f) => f.endsWith('.cache'))
      .map((f) => [f, fs.readFileSync(path.join(folder, f))]),
  );
}

const demoRun = ['run', 'fix the greeting', '--model', 'demo', '--json'];

void describe('the CLI and the host keep V8 code caches in their own folder', () => {
  void it('a command leaves its cache (0600 in a 0700 folder); the next one reads it and leaves it as it was', async () => {
    const box = sandbox();
    const first = await box.airlock(demoRun);
    assert.equal(
      first.code,
      3,
      `the demo run pauses at its gate\n${first.stdout}\n${first.stderr}`,
    );
    const folder = path.join(box.cache, 'airlock');
    const made = caches(folder);
    assert.equal(made.size, 1, `one cache, for \`run\`: ${[...made.keys()].join(', ')}`);
    const [name] = [...made.keys()];
    assert.match(name!, /^cli-[0-9a-f]{16}-run-v8-.+\.cache$/);
    assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(folder, name!)).mode & 0o777, 0o600);

    const second = await box.airlock(demoRun);
    assert.equal(second.code, 3, second.stderr);
    assert.deepEqual(caches(folder), made, 'read, not written again');
    const runs = await box.airlock(['runs', '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal((JSON.parse(runs.stdout) as unknown[]).length, 2, 'both runs are there');
    assert.ok(caches(folder).has(name!.replace('-run-', '-runs-')), '`runs` keeps its own');
  });

  void it('a damaged cache is compiled past and replaced; the command does what it always does', async () => {
    const box = sandbox();
    assert.equal((await box.airlock(demoRun)).code, 3);
    const folder = path.join(box.cache, 'airlock');
    const [name] = [...caches(folder).keys()];
    const file = path.join(folder, name!);
    const good = fs.readFileSync(file);
    // Not a cache at all; then a real one with a few bytes changed in the middle of V8's data,
    // which V8 alone does not notice (it crashed the process at every start).
    const flipped = Buffer.from(good);
    for (const at of [0.3, 0.5, 0.7, 0.9])
      flipped.writeUInt32LE(0xffffffff, Math.floor(flipped.length * at));
    for (const damaged of [Buffer.from('not a code cache'.repeat(1000)), flipped]) {
      fs.writeFileSync(file, damaged);
      const again = await box.airlock(demoRun);
      assert.equal(again.code, 3, `${again.stdout}\n${again.stderr}`);
      const replaced = caches(folder).get(name!);
      assert.ok(replaced && !replaced.equals(damaged), 'the damaged file was replaced by a cache');
      assert.equal((await box.airlock(demoRun)).code, 3);
      assert.ok(caches(folder).get(name!)?.equals(replaced), 'and that cache is read as it is');
    }
  });

  void it('a cache folder others can write to is never read or written', async () => {
    const box = sandbox();
    fs.mkdirSync(box.cache, { mode: 0o777 });
    fs.chmodSync(box.cache, 0o777); // whatever the umask made of it
    const folder = path.join(box.cache, 'airlock');
    // Left there by someone else: a command must not run it.
    fs.mkdirSync(folder, { mode: 0o700 });
    const planted = path.join(folder, cacheName('cli', '0'.repeat(16), cacheVariant(['run'])));
    fs.writeFileSync(planted, 'planted');
    const r = await box.airlock(demoRun);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      [...caches(folder).keys()],
      [path.basename(planted)],
      'nothing written beside what was there',
    );
    assert.equal(fs.readFileSync(planted, 'utf8'), 'planted', 'and nothing there removed');
  });

  void it('every command of the usage keeps its own cache; anything else shares one', () => {
    const commands = [...USAGE.matchAll(/^\s+airlock (\w+)/gm)].map((m) => m[1]!);
    assert.ok(commands.length >= 8, `commands found in the usage: ${commands.join(', ')}`);
    for (const command of new Set(commands)) {
      assert.match(
        cacheName('cli', 'k', cacheVariant([command, 'x'])),
        new RegExp(`^cli-k-${command}-v8-`),
      );
    }
    assert.match(cacheName('cli', 'k', cacheVariant(['--help'])), /^cli-k-other-v8-/);
    assert.match(cacheName('cli', 'k', cacheVariant(['../../etc'])), /^cli-k-other-v8-/);
    assert.match(cacheName('cli', 'k', cacheVariant([])), /^cli-k-other-v8-/);
  });

  void it('the host keeps its own cache, written when it shuts down and read by the next one', async () => {
    const box = sandbox();
    /** dist/host.js over stdio: initialize, the pending list, shutdown and exit. */
    const startAndStop = async (): Promise<number | null> => {
      const child = spawn(process.execPath, [path.resolve('dist/host.js'), '--stdio'], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: cleanEnv({ XDG_CACHE_HOME: box.cache }),
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const connection = createMessageConnection(
        new StreamMessageReader(child.stdout),
        new StreamMessageWriter(child.stdin),
      );
      connection.onError(() => undefined);
      connection.onClose(() => undefined);
      connection.listen();
      await connection.sendRequest('initialize', {
        processId: null,
        rootUri: null,
        capabilities: {},
        initializationOptions: scriptedOptions(
          path.join(box.dir, 'ws'),
          path.join(box.dir, 'airlock.db'),
          'http://127.0.0.1:9/v1',
        ),
      });
      const pending = await connection.sendRequest('airlock/pending', {});
      assert.deepEqual(pending, { approvals: [], interactions: [], interrupted: [] });
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
      const code = await exited;
      connection.dispose();
      return code;
    };
    assert.equal(await startAndStop(), 0);
    const folder = path.join(box.cache, 'airlock');
    const made = caches(folder);
    assert.deepEqual(
      [...made.keys()].map((n) => n.replace(/^host-[0-9a-f]{16}-v8-.+\.cache$/, 'host')),
      ['host'],
    );
    assert.equal(await startAndStop(), 0);
    assert.deepEqual(caches(folder), made, 'read, not written again');
  });
});
