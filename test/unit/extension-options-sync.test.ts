// Settings reach the host before the next run (extension/options-sync.ts), with fakes for the
// editor's settings and the host: a run started right after a settings change never overtakes
// the change's airlock/configure, even when reading the options (SecretStorage) is slow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OptionsSync } from '../../extension/options-sync.js';

interface Options {
  baseURL: string;
}

/** A deferred step the test releases by hand, so every interleaving is chosen, not timed. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The editor's settings, a host that logs what reaches it, and a "run" that reads that log. */
function world(initial: string) {
  const settings: Options = { baseURL: initial };
  const host: string[] = []; // what the host received, in order
  let running = true;
  let slowRead: Promise<void> | undefined; // reading the options waits on this when set
  let failSend = false;
  const sync = new OptionsSync<Options>({
    read: async () => {
      const snapshot = { ...settings }; // read now, returned later (like SecretStorage)
      if (slowRead) await slowRead;
      return snapshot;
    },
    send: async (options) => {
      await Promise.resolve();
      if (!running) return false;
      if (failSend) throw new Error('the host did not answer');
      host.push(`configure ${options.baseURL}`);
      return true;
    },
  });
  /** What HostClient does for airlock/startRun: refresh, then the request. */
  const startRun = async (name: string) => {
    await sync.refresh();
    host.push(`start ${name}`);
  };
  return {
    settings,
    host,
    sync,
    startRun,
    set slowRead(p: Promise<void> | undefined) {
      slowRead = p;
    },
    set running(r: boolean) {
      running = r;
    },
    set failSend(f: boolean) {
      failSend = f;
    },
  };
}

void describe('OptionsSync', () => {
  void it('a run started right after a change waits for that change to reach the host', async () => {
    const w = world('http://a/v1');
    w.sync.initializing(); // no options read yet: the host holds none we know of
    await w.sync.refresh();
    assert.deepEqual(w.host, ['configure http://a/v1']);
    w.host.length = 0;

    // The settings change; its handler starts a slow refresh; the run starts at once.
    w.settings.baseURL = 'http://b/v1';
    const slow = gate();
    w.slowRead = slow.wait;
    const changed = w.sync.refresh(); // onDidChangeConfiguration
    const run = w.startRun('r1'); // the command, right after update() resolved
    await Promise.resolve();
    assert.deepEqual(w.host, [], 'nothing reaches the host while the change is being read');
    slow.open();
    await Promise.all([changed, run]);
    assert.deepEqual(
      w.host,
      ['configure http://b/v1', 'start r1'],
      'the new options first, once; then the run',
    );
  });

  void it('a run re-reads the options even when no change event has been handled yet', async () => {
    const w = world('http://a/v1');
    await w.sync.refresh();
    w.host.length = 0;
    w.settings.baseURL = 'http://b/v1'; // the event has not fired in this window yet
    await w.startRun('r1');
    assert.deepEqual(w.host, ['configure http://b/v1', 'start r1']);
  });

  void it('sends nothing when the host already holds the options', async () => {
    const w = world('http://a/v1');
    await w.sync.refresh();
    w.host.length = 0;
    await w.startRun('r1');
    await w.startRun('r2');
    assert.deepEqual(w.host, ['start r1', 'start r2']);
  });

  void it('configures in the order asked, whatever each read takes', async () => {
    const w = world('http://a/v1');
    const first = gate();
    w.slowRead = first.wait;
    w.settings.baseURL = 'http://b/v1';
    const one = w.sync.refresh();
    await new Promise(setImmediate); // its read has begun (and waits)
    w.slowRead = undefined;
    w.settings.baseURL = 'http://c/v1';
    const two = w.sync.refresh();
    const run = w.startRun('r1');
    first.open();
    await Promise.all([one, two, run]);
    assert.deepEqual(w.host, ['configure http://b/v1', 'configure http://c/v1', 'start r1']);
  });

  void it('no host running: nothing is sent, and a starting host gets the newest options', async () => {
    const w = world('http://a/v1');
    w.running = false;
    w.settings.baseURL = 'http://b/v1';
    await w.sync.refresh();
    assert.deepEqual(w.host, []);
    assert.deepEqual(w.sync.initializing(), { baseURL: 'http://b/v1' });
    // The started host holds them: the next run sends nothing more.
    w.running = true;
    await w.startRun('r1');
    assert.deepEqual(w.host, ['start r1']);
  });

  void it('a read for a host start never replaces options configured meanwhile', async () => {
    const w = world('http://a/v1');
    w.running = false;
    const slow = gate();
    w.slowRead = slow.wait;
    const starting = w.sync.readForStart(); // reads http://a/v1, slowly
    w.slowRead = undefined;
    await w.sync.configure({ baseURL: 'http://b/v1' });
    slow.open();
    await starting;
    assert.deepEqual(w.sync.initializing(), { baseURL: 'http://b/v1' });
  });

  void it('after a failed send the options count as not delivered and go again', async () => {
    const w = world('http://a/v1');
    w.settings.baseURL = 'http://b/v1';
    w.failSend = true;
    await assert.rejects(w.startRun('r1'), /did not answer/);
    assert.deepEqual(w.host, [], 'the run did not start on options the host may not have');
    w.failSend = false;
    await w.startRun('r2');
    assert.deepEqual(w.host, ['configure http://b/v1', 'start r2']);
  });

  void it('an explicit configure is sent even when unchanged, and a stopped host holds nothing', async () => {
    const w = world('http://a/v1');
    await w.sync.refresh();
    await w.sync.configure({ baseURL: 'http://a/v1' });
    assert.deepEqual(w.host, ['configure http://a/v1', 'configure http://a/v1']);
    w.sync.stopped();
    await w.sync.refresh();
    assert.equal(w.host.length, 3, 'after a stop the options are sent again');
  });
});
