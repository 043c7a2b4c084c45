// Waiting for the database lock never blocks the event loop (docs/store.md, "Waiting for the
// lock"): opening a database another live process has locked waits with timers, so the host
// keeps answering the editor meanwhile, and takes the lock the moment it is given up.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { FileLock } from '../../host/store/file-lock.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import type { StandingRule } from '../../host/runtime/policy.js';
import { tempDir } from '../support/scratch.js';

/** A lock file naming a live process that is not this lock's holder (this very pid will do). */
function lockedByLiveProcess(lock: string): void {
  fs.writeFileSync(lock, `${os.hostname()}:${process.pid}`, { mode: 0o600 });
}

/** Resolves after `n` turns of the event loop. */
function loopTurns(n: number): Promise<void> {
  return new Promise((resolve) => {
    const turn = (left: number): void => {
      if (left === 0) resolve();
      else setImmediate(() => turn(left - 1));
    };
    turn(n);
  });
}

/** Counts event-loop turns (setImmediate) until stopped. */
function turnCounter(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let stopped = false;
  const turn = (): void => {
    if (stopped) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return { turns: () => turns, stop: () => (stopped = true) };
}

/** Another process that takes `lock`, says `held`, then keeps it (`keep`) or gives it up and exits. */
function otherProcess(lock: string, keep: boolean): { child: ChildProcess; held: Promise<void> } {
  const lockModule = pathToFileURL(path.resolve(__dirname, '../../host/store/file-lock.ts')).href;
  const code = `const mod = await import(${JSON.stringify(lockModule)});
    const { FileLock } = mod.FileLock ? mod : mod.default;
    const lock = FileLock.for(${JSON.stringify(lock)});
    await lock.acquire();
    console.log('held');
    if (${keep}) setInterval(() => {}, 1000); else lock.release();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const held = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('held')) resolve();
    });
    child.on('exit', (code) =>
      out.includes('held') ? resolve() : reject(new Error(`exit ${code}`)),
    );
  });
  return { child, held };
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

const rule: StandingRule = {
  rule_id: 'rule_1',
  workspace: 'w',
  run_id: null,
  tool: 't',
  action: 'allow',
  cover: 'tool',
  created_by: null,
  created_at: 'x',
  approval_id: null,
};

void describe('waiting for the database lock', () => {
  void it('opening a locked database waits asynchronously, then opens when the lock is given up', async () => {
    const file = path.join(tempDir('lock-wait'), 'airlock.db');
    const first = await SqlJsStore.open(file);
    first.commit([{ op: 'addRule', rule }]);
    first.close();
    lockedByLiveProcess(`${file}.lock`);

    let settled = false;
    const opening = SqlJsStore.open(file).finally(() => (settled = true));
    // A synchronous wait would hold the event loop until it timed out (15 s) and then reject:
    // here the loop turns, timers fire, and the open is still waiting for the lock.
    try {
      await loopTurns(50);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(settled, false, 'the lock is held: the open waits, and nothing else does');
    } finally {
      fs.rmSync(`${file}.lock`, { force: true }); // the other process gives it up
    }
    const store = await opening;
    assert.deepEqual(store.rules('w'), [rule]);
    store.close();
  });

  void it('acquire waits with timers and times out with a message naming the lock file', async () => {
    const lock = path.join(tempDir('lock-timeout'), 'airlock.db.lock');
    lockedByLiveProcess(lock);
    const counter = turnCounter();
    const started = Date.now();
    try {
      await assert.rejects(
        new FileLock(lock, 250).acquire(),
        (err: Error) => err.message.includes(lock) && /Timed out/.test(err.message),
      );
    } finally {
      counter.stop();
    }
    assert.ok(Date.now() - started >= 250);
    assert.ok(counter.turns() >= 3, `the event loop kept turning (${counter.turns()} turns)`);
    assert.equal(
      fs.readFileSync(lock, 'utf8'),
      `${os.hostname()}:${process.pid}`,
      'a live lock is left alone',
    );
  });

  void it('acquire takes a free lock at once and leases it to the synchronous `with` that follows', async () => {
    const lock = path.join(tempDir('lock-lease'), 'airlock.db.lock');
    const fileLock = new FileLock(lock);
    await fileLock.acquire();
    assert.ok(fs.existsSync(lock), 'the lock file exists while leased');
    assert.equal(
      fileLock.with(() => 42),
      42,
    );
    fileLock.release();
    assert.ok(!fs.existsSync(lock), 'released');
    // A dead owner's lock is broken at once, without waiting.
    fs.writeFileSync(lock, `${os.hostname()}:4194399:1`);
    const started = Date.now();
    await fileLock.acquire();
    assert.ok(Date.now() - started < 1000);
    fileLock.release();
  });

  void it("a run's commits wait for another process's lock with the event loop turning", async () => {
    const file = path.join(tempDir('lock-commit'), 'airlock.db');
    const store = await SqlJsStore.open(file);
    try {
      await store.ready();
      store.commit([{ op: 'addRule', rule }]);
      FileLock.for(`${file}.lock`).release();
      lockedByLiveProcess(`${file}.lock`);
      let ready = false;
      const waiting = store.ready().then(() => (ready = true));
      const counter = turnCounter();
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(ready, false, 'the lock is held: ready() waits');
        assert.ok(counter.turns() >= 3, `the event loop kept turning (${counter.turns()} turns)`);
      } finally {
        counter.stop();
        fs.rmSync(`${file}.lock`, { force: true }); // the other process gives it up
      }
      await waiting;
      // Leased by ready(): the commit right after takes it without waiting.
      store.commit([{ op: 'revokeRule', rule_id: 'rule_1', at: 'y', by: null }]);
      assert.deepEqual(store.rules('w'), []);
    } finally {
      store.close();
    }
  });

  void it("a process's lock files go with it: none left when it exits, a killed one's removed by the next to take the lock", async () => {
    const dir = tempDir('lock-files');
    const lock = path.join(dir, 'airlock.db.lock');
    const clean = otherProcess(lock, false);
    await clean.held;
    await exited(clean.child);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing left by a process that exited');

    const killed = otherProcess(lock, true);
    await killed.held;
    const theirs = `airlock.db.lock-${killed.child.pid}`;
    assert.deepEqual(fs.readdirSync(dir).sort(), ['airlock.db.lock', theirs]);
    assert.equal(fs.readFileSync(lock, 'utf8').split(':')[1], String(killed.child.pid));
    killed.child.kill('SIGKILL');
    await exited(killed.child);

    const mine = new FileLock(lock, 60_000);
    await mine.acquire(); // the dead process's lock is broken at once
    assert.equal(fs.readFileSync(lock, 'utf8').split(':')[1], String(process.pid));
    mine.release();
    assert.deepEqual(
      fs.readdirSync(dir),
      [`airlock.db.lock-${process.pid}`],
      "only this process's own",
    );
    const next = otherProcess(lock, false);
    await next.held; // free again for another process
    await exited(next.child);
  });

  void it('a lock whose owner file cannot be made still works (a lock file made at each take)', async () => {
    const dir = tempDir('lock-no-owner');
    const lock = path.join(dir, 'airlock.db.lock');
    // Something this process cannot replace where its owner file would go.
    fs.mkdirSync(`${lock}-${process.pid}`);
    fs.writeFileSync(path.join(`${lock}-${process.pid}`, 'x'), 'x');
    const fileLock = new FileLock(lock, 60_000);
    await fileLock.acquire();
    assert.equal(fs.readFileSync(lock, 'utf8').split(':')[1], String(process.pid));
    assert.equal(fs.statSync(lock).mode & 0o777, 0o600);
    fileLock.release();
    assert.ok(!fs.existsSync(lock), 'released');
    const other = otherProcess(lock, false);
    await other.held; // another process takes it after
    await exited(other.child);
  });
});
