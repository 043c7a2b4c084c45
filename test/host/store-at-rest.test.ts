// Secrets at rest and the journal's growth (issue 10, findings 4 and 5; SPEC §2 "raw run state",
// §6): the database folder is the owner's alone whatever the umask, a finished run's raw state
// leaves every file of the folder once `airlock compact` ran, and a commit journals only what
// changed in the run's state, so the journal grows linearly in the number of tool calls.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { Model } from '../../host/model/model.js';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import { ScriptedModelServer, type Script } from '../../host/model/scripted-server.js';
import { Agent, DEFAULT_REDACT_PATTERNS, Tool, type RunEvent } from '../../host/runtime/index.js';
import { defaultDbPath } from '../../host/settings.js';
import { JournalWriter, readRecords } from '../../host/store/journal.js';
import { CorruptDatabaseError, SqlJsStore } from '../../host/store/sqljs-store.js';
import { applyStateDelta, StateBaseline } from '../../host/store/state-delta.js';
import type { RunRow, StoreOp } from '../../host/store/store.js';
import { fileTools } from '../../host/tools/files.js';
import { interactionTools } from '../../host/tools/interact.js';
import { cleanEnv, runProcess } from '../support/cli-process.js';
import { onCleanup, openFileStore, tempDir } from '../support/scratch.js';
import { runRow } from '../support/store-rows.js';

const ROOT = path.resolve(__dirname, '..', '..');

let umask: number;
before(() => {
  // The modes must not depend on a strict umask: the usual one lets group and others read.
  umask = process.umask(0o022);
});
after(() => {
  process.umask(umask);
});

/** Every file and folder under `dir` (itself excluded), recursively. */
function walk(dir: string): { file: string; isDir: boolean; mode: number }[] {
  const out: { file: string; isDir: boolean; mode: number }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const stat = fs.lstatSync(file);
    out.push({ file, isDir: stat.isDirectory(), mode: stat.mode & 0o777 });
    if (stat.isDirectory()) out.push(...walk(file));
  }
  return out;
}

function assertOwnerOnly(dir: string): void {
  const wrong = walk(dir)
    .filter((e) => e.mode !== (e.isDir ? 0o700 : 0o600))
    .map((e) => `${path.relative(dir, e.file)} ${e.mode.toString(8)}`);
  assert.deepEqual(wrong, [], `not owner-only in ${dir}`);
}

/** The files under `dir` whose bytes contain `needle` anywhere. */
function filesHolding(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle);
  return walk(dir)
    .filter((e) => !e.isDir && fs.readFileSync(e.file).includes(bytes))
    .map((e) => path.relative(dir, e.file));
}

/** A scripted model on loopback. */
async function scripted(script: Script): Promise<{ server: ScriptedModelServer; model: Model }> {
  const server = await ScriptedModelServer.start(script);
  onCleanup(() => server.close());
  const model = new OpenAIChatModel({
    model: 'scripted',
    baseURL: server.baseURL,
    apiKey: 'test-key',
    maxRetries: 0,
  });
  return { server, model };
}

async function collect(stream: ReturnType<Agent['run']>) {
  const events: RunEvent[] = [];
  const output = await stream.collect((e) => events.push(e));
  return { events, output };
}

/** Commits that change nothing, enough of them that the store writes a snapshot. */
function forceSnapshot(store: SqlJsStore, every: number): void {
  for (let i = 0; i < every; i++) {
    store.commit([{ op: 'revokeRule', rule_id: 'rule_none', at: 'now', by: null }]);
  }
}

/** `airlock ARGS --workspace WS` from source, a separate process inheriting nothing of the user's. */
async function airlock(args: string[], ws: string) {
  const home = tempDir('cli-home');
  return runProcess(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'host/cli/main.ts'), ...args, '--workspace', ws],
    {
      cwd: ROOT, // where tsx resolves
      env: cleanEnv({
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, 'config'),
        XDG_DATA_HOME: path.join(home, 'data'),
      }),
    },
  );
}

void describe('the database folder at rest', () => {
  void it('is 0700 with every file 0600 under umask 022: snapshot, FILE.prev, manifest, journal, blobs, lock, after snapshot rotations', async () => {
    const ws = tempDir('ws');
    fs.writeFileSync(path.join(ws, 'big.txt'), 'a line of a large file\n'.repeat(1200)); // 27 KB
    // The data folder as the CLI and the editor pick it, made by the store itself.
    const data = path.join(tempDir('xdg'), 'data');
    const dbFile = defaultDbPath(ws, { XDG_DATA_HOME: data });
    assert.equal(path.dirname(dbFile), path.join(data, 'airlock'));
    const store = await openFileStore(dbFile, { snapshotEvery: 3 });
    // A temp file left readable by a crash of an older Airlock: the next snapshot is written
    // through it and must not inherit its mode.
    const staleTmp = `${dbFile}.tmp-${process.pid}`;
    fs.writeFileSync(staleTmp, 'junk', { mode: 0o644 });
    const { model } = await scripted([
      {
        toolCalls: [
          { id: 'r', name: 'read_file', arguments: { path: 'big.txt' } },
          { id: 'w', name: 'write_file', arguments: { path: 'new.txt', content: 'hello\n' } },
        ],
      },
      { text: 'Done.' },
    ]);
    const agent = new Agent({ name: 'coder', model, tools: fileTools(ws), store, workspace: ws });
    const paused = await collect(agent.run({ prompt: 'read and write' }));
    assert.equal(paused.output.status.reason, 'approval_required', paused.output.status.message);
    // The lock file exists while this process holds its lease, right after a commit.
    forceSnapshot(store, 1);
    assert.equal(fs.statSync(`${dbFile}.lock`).mode & 0o777, 0o600, 'the lock file');

    const files = walk(data).map((e) => path.relative(data, e.file));
    for (const expected of ['airlock', `airlock/${path.basename(dbFile)}`]) {
      assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
    }
    for (const suffix of ['.prev', '.manifest', '.journal', '.blobs']) {
      assert.ok(fs.existsSync(`${dbFile}${suffix}`), `FILE${suffix} exists (the test covers it)`);
    }
    assert.ok(
      walk(`${dbFile}.blobs`).some((e) => !e.isDir),
      'a blob file exists',
    );
    assert.ok(!fs.existsSync(staleTmp), 'the stale temp file became the snapshot');
    assertOwnerOnly(data);
    assert.equal(fs.statSync(data).mode & 0o777, 0o700, 'the data home the store created');

    const approval = paused.events.find((e) => e.type === 'approval');
    assert.ok(approval?.type === 'approval');
    const done = await collect(
      agent.run({ runId: paused.output.run_id, resume: { [approval.approval_id]: true } }),
    );
    assert.equal(done.output.status.code, 'success', done.output.status.message);
    forceSnapshot(store, 3);
    store.scrub();
    assertOwnerOnly(data);
  });

  void it('files an older Airlock left readable are made owner-only: on open, blobs by compaction', async () => {
    const dir = tempDir('db');
    const dbFile = path.join(dir, 'old.db');
    const store = await SqlJsStore.open(dbFile, { snapshotEvery: 2 });
    store.commit([
      {
        op: 'appendEvents',
        run_id: 'r',
        segment_id: 's',
        events: [{ type: 'tool_result', output: 'x'.repeat(20_000) }],
      },
    ]);
    forceSnapshot(store, 2);
    store.close();
    for (const e of walk(dir)) fs.chmodSync(e.file, e.isDir ? 0o755 : 0o644);
    fs.chmodSync(dir, 0o700); // the folder is the caller's (--db): only Airlock's files are changed

    const reopened = await openFileStore(dbFile);
    for (const suffix of ['', '.prev', '.manifest', '.journal']) {
      assert.equal(fs.statSync(`${dbFile}${suffix}`).mode & 0o777, 0o600, `FILE${suffix}`);
    }
    reopened.scrub();
    assertOwnerOnly(dir);
  });
});

void describe('raw run state only while the run is live', () => {
  void it('a canary in tool arguments, a file read and an answer: in the files while paused, in no byte of the folder after the run finished and `airlock compact`', async () => {
    const CANARY = 'canary-7f3a9c51d2e84b06';
    const LIVE = 'canary-0b1c2d3e4f506172'; // in a run still paused at compaction
    const ws = tempDir('ws');
    fs.writeFileSync(path.join(ws, 'notes.txt'), `The deploy passphrase is ${CANARY}.\n`);
    const dbDir = tempDir('db');
    const dbFile = path.join(dbDir, 'airlock.db');
    const EVERY = 5;
    const store = await openFileStore(dbFile, { snapshotEvery: EVERY });
    const received: string[] = [];
    const deploy = Tool({
      name: 'deploy',
      description: 'Deploy with a note.',
      params: z.object({ target: z.string(), note: z.string() }),
      requiresApproval: true,
      handler: ({ note }) => {
        received.push(note);
        return `deployed (${note.length} characters of note)`;
      },
    });
    // The default patterns do not know this canary: masking it on the public surfaces is the
    // developer's own pattern (airlock.redactPatterns). The raw state is never redacted, so only
    // dropping it can take the canary out of the files.
    const redaction = { patterns: [...DEFAULT_REDACT_PATTERNS, String.raw`canary-[0-9a-f]{16}`] };
    const tools = [...fileTools(ws), ...interactionTools(), deploy];
    const first = await scripted([
      {
        toolCalls: [
          { id: 'read', name: 'read_file', arguments: { path: 'notes.txt' } },
          { id: 'ship', name: 'deploy', arguments: { target: 'prod', note: `use ${CANARY}` } },
          { id: 'ask', name: 'ask_user', arguments: { question: 'The passphrase again?' } },
        ],
      },
      { text: `Deployed with ${CANARY}.` }, // the final answer is kept (redacted) as the output
    ]);
    const agent = new Agent({
      name: 'ops',
      model: first.model,
      tools,
      store,
      workspace: ws,
      redaction,
    });
    const paused = await collect(agent.run({ prompt: 'deploy to prod' }));
    const runId = paused.output.run_id;
    assert.deepEqual(paused.output.pending.length, 2, paused.output.status.message);

    const second = await scripted([
      {
        toolCalls: [{ id: 'ship2', name: 'deploy', arguments: { target: 'staging', note: LIVE } }],
      },
      { text: 'Deployed to staging.' },
    ]);
    const liveAgent = new Agent({
      name: 'ops',
      model: second.model,
      tools,
      store,
      workspace: ws,
      redaction,
    });
    const live = await collect(liveAgent.run({ prompt: 'deploy to staging' }));
    assert.equal(live.output.status.reason, 'approval_required', live.output.status.message);

    // Public surfaces are masked; the raw state sits in the files (and in the next snapshot).
    for (const runs of [runId, live.output.run_id]) {
      const shown = JSON.stringify([store.events(runs), store.pending(runs)]);
      assert.ok(!shown.includes(CANARY) && !shown.includes(LIVE), `public rows mask it: ${shown}`);
    }
    forceSnapshot(store, EVERY);
    assert.ok(fs.readFileSync(dbFile).includes(CANARY), 'the snapshot holds the paused run raw');
    assert.ok(filesHolding(dbDir, CANARY).length, 'the files hold it while paused (0600)');

    const approval = paused.events.find((e) => e.type === 'approval');
    const question = paused.events.find((e) => e.type === 'interaction');
    assert.ok(approval?.type === 'approval' && question?.type === 'interaction');
    const done = await collect(
      agent.run({
        runId,
        resume: { [approval.approval_id]: true, [question.interaction_id]: `it is ${CANARY}` },
      }),
    );
    assert.equal(done.output.status.code, 'success', done.output.status.message);
    // While live the run had its raw conversation: the handler and the model saw the canary.
    assert.deepEqual(received, [`use ${CANARY}`]);
    const told = JSON.stringify(first.server.requests[1]?.messages);
    assert.ok(told.includes(`The deploy passphrase is ${CANARY}`), 'the model read the file raw');
    assert.ok(told.includes(`it is ${CANARY}`), 'the model read the answer raw');
    assert.ok(!JSON.stringify(done.events).includes(CANARY), 'events are masked');

    // Finished: its raw state is gone from the state, so the next snapshot holds none of it
    // (freed pages are zeroed), though FILE.prev and the journal still may until compaction.
    assert.ok(filesHolding(dbDir, CANARY).length, 'before compaction, older files still hold it');
    forceSnapshot(store, EVERY);
    assert.ok(!fs.readFileSync(dbFile).includes(CANARY), 'the next snapshot holds none of it');

    const compacted = await airlock(['compact', '--db', dbFile], ws);
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.deepEqual(filesHolding(dbDir, CANARY), [], 'no byte of the finished run raw');
    assertOwnerOnly(dbDir);
    // The live run keeps what it needs, and continues from the compacted files.
    assert.ok(filesHolding(dbDir, LIVE).length, 'the paused run keeps its raw state');
    const reopened = await openFileStore(dbFile);
    assert.equal(reopened.getRun(runId)?.row.status, 'success');
    assert.ok(reopened.events(runId).some((e) => e.event.type === 'tool_result'));
    const liveApproval = live.events.find((e) => e.type === 'approval');
    assert.ok(liveApproval?.type === 'approval');
    const liveDone = await collect(
      new Agent({
        name: 'ops',
        model: second.model,
        tools,
        store: reopened,
        workspace: ws,
        redaction,
      }).run({
        runId: live.output.run_id,
        resume: { [liveApproval.approval_id]: true },
      }),
    );
    assert.equal(liveDone.output.status.code, 'success', liveDone.output.status.message);
    assert.deepEqual(received, [`use ${CANARY}`, LIVE]);
    reopened.scrub();
    assert.deepEqual(filesHolding(dbDir, LIVE), [], 'finished too: gone after compaction');
  });
});

void describe('the journal grows with the work, not with the state per commit', () => {
  /** Journal record bytes of one run whose model asks for `n` read_file calls in one reply. */
  async function journalBytes(n: number): Promise<number> {
    const ws = tempDir('ws');
    fs.writeFileSync(path.join(ws, 'a.txt'), 'const answer = 42;\n'.repeat(20));
    const dbFile = path.join(tempDir('db'), 'airlock.db');
    // No snapshot trims the journal while it is measured.
    const store = await openFileStore(dbFile, { snapshotBytes: 2 ** 40 });
    const { model } = await scripted([
      {
        toolCalls: Array.from({ length: n }, (_, i) => ({
          id: `call_${i}`,
          name: 'read_file',
          arguments: { path: 'a.txt' },
        })),
      },
      { text: 'Read them all.' },
    ]);
    const agent = new Agent({
      name: 'reader',
      model,
      tools: fileTools(ws),
      store,
      workspace: ws,
      limits: { maxToolCalls: 10_000 }, // past the default limit of calls per turn, on purpose
    });
    const done = await collect(agent.run({ prompt: `read a.txt ${n} times` }));
    assert.equal(done.output.status.code, 'success', done.output.status.message);
    assert.equal(done.events.filter((e) => e.type === 'tool_result').length, n);
    return readRecords(`${dbFile}.journal`, 0).end;
  }

  /** The same for `n` calls of a gated tool: the run pauses with `n` approvals pending. */
  async function gatedJournalBytes(n: number): Promise<number> {
    const dbFile = path.join(tempDir('db'), 'airlock.db');
    // No snapshot trims the journal while it is measured.
    const store = await openFileStore(dbFile, { snapshotBytes: 2 ** 40 });
    const { model } = await scripted([
      {
        toolCalls: Array.from({ length: n }, (_, i) => ({
          id: `call_${i}`,
          name: 'ship',
          arguments: { n: i },
        })),
      },
    ]);
    const ship = Tool({
      name: 'ship',
      description: 'Ship one thing.',
      params: z.object({ n: z.number() }),
      requiresApproval: true,
      handler: () => 'shipped',
    });
    const agent = new Agent({
      name: 'shipper',
      model,
      tools: [ship],
      store,
      limits: { maxToolCalls: 10_000 },
    });
    const paused = await collect(agent.run({ prompt: `ship ${n} things` }));
    assert.equal(paused.output.pending.length, n, paused.output.status.message);
    return readRecords(`${dbFile}.journal`, 0).end;
  }

  function assertLinear(what: string, b1: number, b2: number, b4: number, n: number): void {
    // What each call adds, measured twice: equal when the journal is linear in the calls, twice
    // as much in the second step when every commit rewrites the whole state (quadratic).
    const early = (b2 - b1) / n;
    const late = (b4 - b2) / (2 * n);
    const report = `${what}: journal bytes ${b1} / ${b2} / ${b4}; per call ${early.toFixed(0)} then ${late.toFixed(0)}`;
    console.log(report);
    assert.ok(late < 1.25 * early, `per-call cost grows with the number of calls: ${report}`);
    assert.ok(b4 < 2.5 * b2, report);
  }

  void it('100, 200 and 400 gated calls in one turn, every one pending: the same bytes per call', async () => {
    const [b1, b2, b4] = [
      await gatedJournalBytes(100),
      await gatedJournalBytes(200),
      await gatedJournalBytes(400),
    ];
    assertLinear('gated calls', b1, b2, b4, 100);
  });

  void it('150, 300 and 600 tool calls in one turn: each added call costs the same journal bytes', async () => {
    const [b1, b2, b4] = [
      await journalBytes(150),
      await journalBytes(300),
      await journalBytes(600),
    ];
    assertLinear('read_file calls', b1, b2, b4, 150);
  });
});

void describe('state deltas', () => {
  void it('a delta turns the committed state into the new one: fields set and removed, arrays grown, shrunk and changed', () => {
    const before = {
      v: 1,
      messages: [{ role: 'user', content: 'hi' }],
      calls: [
        { call_id: 'a', answers: {} },
        { call_id: 'b', answers: {} },
      ],
      output: null,
      gone: 'x',
    };
    const after = {
      v: 1,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'yes' },
      ],
      calls: [{ call_id: 'a', answers: {}, done: { ok: true, output: 'o' } }],
      output: 'yes',
      added: { k: [1, 2] },
    };
    const { delta } = StateBaseline.of(before).diff(after);
    assert.deepEqual(delta, {
      set: { output: 'yes', added: { k: [1, 2] } },
      unset: ['gone'],
      items: {
        messages: { length: 2, set: { 1: { role: 'assistant', content: 'yes' } } },
        calls: {
          length: 1,
          set: { 0: { call_id: 'a', answers: {}, done: { ok: true, output: 'o' } } },
        },
      },
    });
    assert.deepEqual(applyStateDelta(structuredClone(before), delta), after);
    assert.deepEqual(StateBaseline.of(after).diff(after).delta, {}, 'nothing changed: empty');
    // Emptied arrays (a finished run dropping its conversation).
    const emptied = { ...after, messages: [], calls: [] };
    assert.deepEqual(
      applyStateDelta(structuredClone(after), StateBaseline.of(after).diff(emptied).delta),
      emptied,
    );
  });

  void it('a delta that does not fit the stored state is refused', () => {
    const { delta } = StateBaseline.of({ m: [1] }).diff({ m: [1, 2, 3] });
    assert.deepEqual(delta, { items: { m: { length: 3, set: { 1: 2, 2: 3 } } } });
    assert.throws(() => applyStateDelta({ m: [] }, delta), /without item 0/);
  });

  function row(version: number): RunRow {
    return runRow('r1', { status: 'running', reason: 'running', version });
  }

  void it('the store applies deltas on commit and on replay; a stale writer is refused; a delta made on another version is damage', async () => {
    const dir = tempDir('db');
    const file = path.join(dir, 'd.db');
    const a = await SqlJsStore.open(file);
    const b = await SqlJsStore.open(file);
    const s1 = { messages: ['one'], calls: [] as string[], n: 1 };
    const s2 = { messages: ['one', 'two'], calls: ['c'], n: 2 };
    const d2 = StateBaseline.of(s1).diff(s2).delta;
    type PutRun = Extract<StoreOp, { op: 'putRun' }>;
    const put = (
      version: number,
      extra: Pick<PutRun, 'state'> | Pick<PutRun, 'delta'>,
    ): StoreOp => ({
      op: 'putRun',
      row: row(version),
      expect_version: version === 1 ? null : version - 1,
      ...extra,
    });
    assert.deepEqual(a.commit([put(1, { state: s1 })]), { ok: true });
    assert.deepEqual(b.getRun('r1')?.state, s1);
    assert.deepEqual(a.commit([put(2, { delta: d2 })]), { ok: true });
    // b read version 1 and did not see a's commit when it built its change: refused.
    assert.deepEqual(b.commit([put(2, { delta: { set: { n: 9 } } })]), {
      ok: false,
      conflict: 'version',
      run_id: 'r1',
    });
    assert.deepEqual(b.getRun('r1')?.state, s2, 'the other process replayed the delta');
    const reopened = await SqlJsStore.open(file);
    assert.deepEqual(reopened.getRun('r1')?.state, s2, 'replayed from the journal');
    reopened.close();

    // A record whose delta names a version the run is not at: refused on open, not guessed.
    const journal = `${file}.journal`;
    const end = readRecords(journal, 0).end;
    const seq = readRecords(journal, 0).records.length + 1;
    const writer = JournalWriter.open(journal);
    writer.append(
      Buffer.from(JSON.stringify({ seq, ops: [put(9, { delta: { set: { n: 3 } } })] })),
      end,
    );
    writer.close();
    a.close();
    b.close();
    await assert.rejects(SqlJsStore.open(file), (err: unknown) => {
      assert.ok(err instanceof CorruptDatabaseError, String(err));
      assert.match(err.message, /made on version 8, but the run is at version 2/);
      return true;
    });
  });
});
