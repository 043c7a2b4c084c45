// Undo (issue 16): every applied change is recorded with its before-content in the result's
// commit and can be reverted exactly; a file changed since is left alone (a conflict with
// before / applied / now); a revert is itself a change, recorded once, and can be reverted; the
// model of a run still going is told. Real agents, a real loopback model, real database files.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sharedRedactor } from '../../host/runtime/redact.js';
import { fileTools } from '../../host/tools/files.js';
import { standingChanges } from '../../host/protocol/change-chain.js';
import { revert, type RevertDeps } from '../../host/tools/revert.js';
import { Workspace } from '../../host/tools/workspace.js';
import type { Store } from '../../host/store/store.js';
import { ScriptedModelServer } from '../../host/model/scripted-server.js';
import { ListChanges, Resume, RevertChanges, StartRun } from '../../host/protocol/rpc.js';
import { CLI, cleanEnv, jsonLines, runProcess } from '../support/cli-process.js';
import { hostProcess, initialize, scriptedOptions } from '../support/host-client.js';
import { onPostgres } from '../support/postgres.js';
import { onCleanup, openStore, storeLocation, tempDir } from '../support/scratch.js';
import {
  agentIn,
  assertPaused,
  assertSuccess,
  call,
  calls,
  drain,
  ofType,
  say,
  world,
  type World,
} from '../support/agent-world.js';

const BINARY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff, 0xfe]);

function deps(w: World, store: Store = w.store): RevertDeps {
  return { store, workspace: new Workspace(w.dir), redactor: sharedRedactor(), by: 'ana via test' };
}

/** A run that creates, edits, deletes and overwrites (a binary file), every gate approved. */
async function fourChanges() {
  const w = await world([
    calls(
      call('c_create', 'write_file', { path: 'src/new.txt', content: 'brand new\n' }),
      call('c_edit', 'edit_file', { path: 'notes.md', old_string: 'two', new_string: 'TWO' }),
      call('c_delete', 'delete_file', { path: 'old.txt' }),
      call('c_over', 'write_file', { path: 'logo.bin', content: 'now text\n' }),
    ),
    say('All four done.'),
  ]);
  await writeFile(path.join(w.dir, 'notes.md'), 'one\ntwo\nthree\n');
  await writeFile(path.join(w.dir, 'old.txt'), 'keep me\n', { mode: 0o755 });
  await chmod(path.join(w.dir, 'old.txt'), 0o755); // whatever the umask
  await writeFile(path.join(w.dir, 'logo.bin'), BINARY);
  const agent = agentIn(w, fileTools(w.dir));
  const first = await drain(agent.run({ prompt: 'Do the four changes' }));
  const gates = ofType(first, 'approval').map((a) => a.approval_id);
  assertPaused(first, 'approval_required', gates);
  const resume = Object.fromEntries(gates.map((id) => [id, true]));
  const second = await drain(agent.run({ runId: first.output.run_id, resume }));
  assertSuccess(second);
  return { w, runId: first.output.run_id, applied: second };
}

const read = (w: World, rel: string) => readFile(path.join(w.dir, rel), 'utf8');

void describe('undo: recording and reverting applied changes', () => {
  void it('records each change with the result and reverts a whole run exactly', async () => {
    const { w, runId, applied } = await fourChanges();
    // Each applied change is in the transcript, with the lines it changed.
    const shown = ofType(applied, 'file_change');
    assert.deepEqual(
      shown.map((e) => [e.path, e.kind, e.added, e.removed]),
      [
        ['src/new.txt', 'create', 1, 0],
        ['notes.md', 'edit', 1, 1],
        ['old.txt', 'delete', 0, 1],
        ['logo.bin', 'edit', 1, 1],
      ],
    );
    const changes = w.store.changes(runId);
    assert.equal(changes.length, 4);
    assert.equal(await read(w, 'notes.md'), 'one\nTWO\nthree\n');

    const outcomes = await revert(deps(w), runId);
    // Newest first, every one restored.
    assert.deepEqual(
      outcomes.map((o) => [o.path, o.status]),
      [
        ['logo.bin', 'reverted'],
        ['old.txt', 'reverted'],
        ['notes.md', 'reverted'],
        ['src/new.txt', 'reverted'],
      ],
    );
    assert.deepEqual(await readFile(path.join(w.dir, 'logo.bin')), BINARY, 'binary, byte for byte');
    assert.equal(await read(w, 'old.txt'), 'keep me\n', 'the deleted file is back');
    assert.equal((await stat(path.join(w.dir, 'old.txt'))).mode & 0o777, 0o755, 'executable again');
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
    assert.ok(!existsSync(path.join(w.dir, 'src/new.txt')), 'the created file is gone');

    // Each revert is a change of its own, named in the transcript and linked to what it undid.
    const after = w.store.changes(runId);
    assert.equal(after.length, 8);
    for (const original of after.slice(0, 4)) {
      const by = after.find((c) => c.change_id === original.reverted_by);
      assert.equal(by?.reverts, original.change_id);
      assert.equal(by?.by, 'ana via test');
    }
    const reverts = w.store
      .events(runId)
      .map((e) => e.event)
      .filter((e) => e.type === 'file_change' && e.reverts);
    assert.equal(reverts.length, 4);
    assert.deepEqual(standingChanges(after), [], 'nothing of the run stands');

    // A second revert of a change reverts nothing.
    // A run of another workspace (a shared database) is never reverted into this one.
    const elsewhere = { ...deps(w), workspace: new Workspace(tempDir('other-ws')) };
    await assert.rejects(
      revert(elsewhere, runId, { changeId: changes[1]!.change_id }),
      /changed files in .*, not in .*: revert it from that folder's window/,
    );
    const again = await revert(deps(w), runId, { changeId: changes[1]!.change_id });
    assert.equal(again[0]!.status, 'already_reverted');
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
  });

  void it('reverts a revert (the change applies again), also from a reopened database', async () => {
    const { w, runId } = await fourChanges();
    const edit = w.store.changes(runId).find((c) => c.path === 'notes.md')!;
    const [undone] = await revert(deps(w), runId, { changeId: edit.change_id });
    assert.equal(undone!.status, 'reverted');
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
    w.store.close();
    // Another process (a window after a reload, the CLI) reads the same undo data.
    const reopened = await openStore(w.dbFile);
    const revertId = undone!.status === 'reverted' ? undone!.revert_id : '';
    const [redone] = await revert(deps(w, reopened), runId, { changeId: revertId });
    assert.equal(redone!.status, 'reverted');
    assert.equal(await read(w, 'notes.md'), 'one\nTWO\nthree\n', 'the edit is back');
    // "Revert the run" now undoes the edit again (through the last revert) and the other three.
    const standing = standingChanges(reopened.changes(runId)).map((c) => c.path);
    assert.deepEqual(standing.sort(), ['logo.bin', 'notes.md', 'old.txt', 'src/new.txt']);
  });

  void it('leaves a file changed since alone and shows before / applied / now', async () => {
    const { w, runId } = await fourChanges();
    await writeFile(path.join(w.dir, 'notes.md'), 'one\nTWO\nthree\nmine, typed later\n');
    const edit = w.store.changes(runId).find((c) => c.path === 'notes.md')!;
    const [conflict] = await revert(deps(w), runId, { changeId: edit.change_id });
    assert.equal(conflict!.status, 'conflict');
    if (conflict?.status !== 'conflict') return;
    assert.equal(conflict.before, 'one\ntwo\nthree\n');
    assert.equal(conflict.applied, 'one\nTWO\nthree\n');
    assert.equal(conflict.now, 'one\nTWO\nthree\nmine, typed later\n');
    assert.equal(await read(w, 'notes.md'), 'one\nTWO\nthree\nmine, typed later\n', 'untouched');
    assert.equal(w.store.change(edit.change_id)?.reverted_by, null);

    // The developer chose to restore anyway; their version is kept as the revert's "before".
    const [forced] = await revert(deps(w), runId, { changeId: edit.change_id, force: true });
    assert.equal(forced!.status, 'reverted');
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
    const revertId = forced!.status === 'reverted' ? forced!.revert_id : '';
    await revert(deps(w), runId, { changeId: revertId });
    assert.equal(await read(w, 'notes.md'), 'one\nTWO\nthree\nmine, typed later\n');
  });

  void it('masks secrets in what a conflict shows, restores the real bytes', async () => {
    const secret = 'sk-proj-' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
    const w = await world([
      calls(call('c1', 'write_file', { path: '.env.example', content: `KEY=${secret}\nB=2\n` })),
      say('done'),
    ]);
    await writeFile(path.join(w.dir, '.env.example'), `KEY=${secret}\n`);
    const agent = agentIn(w, fileTools(w.dir));
    const first = await drain(agent.run({ prompt: 'add B' }));
    const gate = ofType(first, 'approval')[0]!.approval_id;
    assertSuccess(await drain(agent.run({ runId: first.output.run_id, resume: { [gate]: true } })));
    await writeFile(path.join(w.dir, '.env.example'), `KEY=${secret}\nB=3\n`);
    const [conflict] = await revert(deps(w), first.output.run_id);
    assert.equal(conflict!.status, 'conflict');
    if (conflict?.status !== 'conflict') return;
    assert.ok(!JSON.stringify(conflict).includes(secret), 'no secret in the conflict');
    assert.equal(conflict.masked, true);
    await revert(deps(w), first.output.run_id, { force: true });
    assert.equal(await read(w, '.env.example'), `KEY=${secret}\n`);
  });

  void it('tells the model of a run still going, once, and nothing to a finished run', async () => {
    const w = await world([
      calls(call('c1', 'write_file', { path: 'a.txt', content: 'from the agent\n' })),
      calls(call('c2', 'write_file', { path: 'b.txt', content: 'second\n' })),
      say('Done.'),
    ]);
    const agent = agentIn(w, fileTools(w.dir));
    const first = await drain(agent.run({ prompt: 'write a then b' }));
    const runId = first.output.run_id;
    const gate1 = ofType(first, 'approval')[0]!.approval_id;
    const second = await drain(agent.run({ runId, resume: { [gate1]: true } }));
    const gate2 = ofType(second, 'approval')[0]!.approval_id;
    assertPaused(second, 'approval_required', [gate2]);
    // The run waits at its second gate; the developer reverts the first change meanwhile.
    const [undone] = await revert(deps(w), runId);
    assert.equal(undone!.status, 'reverted');
    assert.ok(!existsSync(path.join(w.dir, 'a.txt')));
    assertSuccess(await drain(agent.run({ runId, resume: { [gate2]: true } })));
    const notes = (n: number) =>
      w.server.requests[n]!.messages.filter(
        (m) => m.role === 'user' && String(m.content).startsWith('Note from Airlock'),
      );
    assert.equal(notes(1).length, 0, 'nothing reverted before the second turn');
    assert.equal(notes(2).length, 1, 'the third turn is told');
    assert.match(
      String(notes(2)[0]!.content),
      /a\.txt: reverted \(the file you created was removed\)/,
    );
    // The run finished: a later revert is recorded, the model is not called again.
    const requests = w.server.requests.length;
    await revert(deps(w), runId);
    assert.ok(!existsSync(path.join(w.dir, 'b.txt')));
    assert.equal(w.server.requests.length, requests);
  });

  void it('retention frees the undo data of the runs it drops', async () => {
    const big = 'x'.repeat(40_000) + '\n';
    const w = await world([
      calls(call('c1', 'write_file', { path: 'big.txt', content: big + 'more\n' })),
      say('done'),
    ]);
    await writeFile(path.join(w.dir, 'big.txt'), big);
    const agent = agentIn(w, fileTools(w.dir));
    const first = await drain(agent.run({ prompt: 'grow it' }));
    const gate = ofType(first, 'approval')[0]!.approval_id;
    assertSuccess(await drain(agent.run({ runId: first.output.run_id, resume: { [gate]: true } })));
    const [change] = w.store.changes(first.output.run_id);
    assert.equal(w.store.content(change!.before!)?.toString(), big);
    if (!onPostgres) {
      const blobFile = path.join(`${w.dbFile}.blobs`, change!.before!.slice(0, 2), change!.before!);
      assert.ok(existsSync(blobFile), 'a large content is a file of its own');
    }
    assert.equal(w.store.compact({ keepRuns: 0 }), 1);
    assert.equal(w.store.content(change!.before!), undefined);
    assert.deepEqual(w.store.changes(first.output.run_id), []);
  });
});

void describe('undo from the CLI: airlock revert', () => {
  const cliRevert = async (w: World, ...args: string[]) =>
    runProcess(
      'node',
      [CLI, 'revert', ...args, '--db', await storeLocation(w.dbFile), '--workspace', w.dir],
      { cwd: w.dir, env: cleanEnv({ XDG_CONFIG_HOME: tempDir('xdg') }) },
    );

  void it('8 processes revert the same change at once: one reverts, 7 are told it is done', async () => {
    const { w, runId } = await fourChanges();
    const edit = w.store.changes(runId).find((c) => c.path === 'notes.md')!;
    w.store.close();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => cliRevert(w, runId, '--change', edit.change_id, '--json')),
    );
    const statuses = results.map((r) => {
      const [line] = jsonLines(r.stdout);
      // A process that printed no result is named with what it said, so a failure here on a
      // busy machine says why (a lock wait that ran out, a crash) instead of a TypeError.
      assert.ok(line, `exit ${r.code}, no JSON on stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      const [outcome] = (line as { results: { status: string }[] }).results;
      return [outcome!.status, r.code];
    });
    const winners = statuses.filter(([s]) => s === 'reverted');
    assert.equal(winners.length, 1, JSON.stringify(statuses));
    assert.deepEqual(winners[0], ['reverted', 0]);
    assert.equal(statuses.filter(([s, code]) => s === 'already_reverted' && code === 4).length, 7);
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
    const store = await openStore(w.dbFile);
    const reverts = store.changes(runId).filter((c) => c.reverts === edit.change_id);
    assert.equal(reverts.length, 1, 'one revert recorded');
    assert.equal(store.claims(runId).filter((c) => c.id.startsWith('revert:')).length, 1);
  });

  void it('lists the changes, shows a conflict with what changed since, --force restores', async () => {
    const { w, runId } = await fourChanges();
    w.store.close();
    const list = await cliRevert(w, runId, '--list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /chg_\w+ {2}edit {4}notes\.md {2}applied/);
    assert.match(list.stdout, /chg_\w+ {2}delete {2}old\.txt {2}applied/);
    await writeFile(path.join(w.dir, 'notes.md'), 'one\nTWO\nthree\nmine\n');
    const conflict = await cliRevert(w, runId);
    assert.equal(conflict.code, 1, conflict.stdout);
    assert.match(conflict.stdout, /conflict +notes\.md {2}notes\.md changed since/);
    assert.match(conflict.stdout, /\n\+mine\n/, 'what changed since it was applied');
    assert.match(conflict.stdout, /airlock revert run_\w+ --change chg_\w+ --force/);
    assert.equal(await read(w, 'notes.md'), 'one\nTWO\nthree\nmine\n', 'left alone');
    // The other three were reverted by the same command.
    assert.equal(await read(w, 'old.txt'), 'keep me\n');
    const forced = await cliRevert(w, runId, '--force');
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(forced.stdout, /reverted +notes\.md {2}Reverted: restored notes\.md/);
    assert.equal(await read(w, 'notes.md'), 'one\ntwo\nthree\n');
    const none = await cliRevert(w, runId);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /Nothing to revert/);
    const unknown = await cliRevert(w, runId, '--change', 'chg_nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /has no change chg_nope; `airlock revert run_\w+ --list` lists/);
  });
});

void describe('undo through the host: after the host process is killed', () => {
  void it('a new host lists and reverts the change, and the paused run is told when it goes on', async () => {
    assert.ok(existsSync('dist/host.js'), 'build first: node esbuild.mjs');
    const server = await ScriptedModelServer.start((request) => {
      const results = request.messages.filter((m) => m.role === 'tool').length;
      if (results === 0) {
        return {
          toolCalls: [
            { id: 'c1', name: 'write_file', arguments: { path: 'a.txt', content: 'A\n' } },
          ],
        };
      }
      if (results === 1) {
        return {
          toolCalls: [
            { id: 'c2', name: 'write_file', arguments: { path: 'b.txt', content: 'B\n' } },
          ],
        };
      }
      return { text: 'Done.' };
    });
    onCleanup(() => server.close());
    const ws = tempDir('ws');
    const db = await storeLocation(path.join(tempDir('db'), 'host.db'));
    const first = hostProcess();
    await initialize(first.client, scriptedOptions(ws, db, server.baseURL));
    const { run_id: runId } = StartRun.result.parse(
      await first.client.connection.sendRequest(StartRun.type, { prompt: 'write a then b' }),
    );
    const gate = (client: typeof first.client, callId: string) =>
      client.waitFor((e) => e.type === 'approval' && e.call_id === callId);
    const gate1 = await gate(first.client, 'c1');
    await first.client.connection.sendRequest(Resume.type, {
      run_id: runId,
      resume: { [gate1.type === 'approval' ? gate1.approval_id : '']: true },
    });
    const gate2 = await gate(first.client, 'c2');
    assert.equal(await read({ dir: ws } as World, 'a.txt'), 'A\n');
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    first.client.connection.dispose();

    const second = hostProcess();
    await initialize(second.client, scriptedOptions(ws, db, server.baseURL));
    const { changes } = ListChanges.result.parse(
      await second.client.connection.sendRequest(ListChanges.type, { run_id: runId }),
    );
    assert.deepEqual(
      changes.map((c) => [c.path, c.kind, c.standing]),
      [['a.txt', 'create', true]],
    );
    const { results } = RevertChanges.result.parse(
      await second.client.connection.sendRequest(RevertChanges.type, {
        run_id: runId,
        change_id: changes[0]!.change_id,
        approver: 'Dana',
      }),
    );
    assert.equal(results[0]?.status, 'reverted');
    assert.ok(!existsSync(path.join(ws, 'a.txt')));
    const shown = await second.client.waitFor((e) => e.type === 'file_change' && !!e.reverts);
    assert.equal(shown.type === 'file_change' ? shown.by : '', 'Dana via VS Code');
    // Unknown ids are a clear error, and change nothing.
    await assert.rejects(
      second.client.connection.sendRequest(RevertChanges.type, {
        run_id: runId,
        change_id: 'chg_x',
      }),
      /has no change chg_x/,
    );

    await second.client.connection.sendRequest(Resume.type, {
      run_id: runId,
      resume: { [gate2.type === 'approval' ? gate2.approval_id : '']: true },
    });
    await second.client.waitFor((e) => e.type === 'output' && e.status.code === 'success');
    const last = server.requests.at(-1)!;
    const note = last.messages.find(
      (m) => m.role === 'user' && String(m.content).startsWith('Note from Airlock'),
    );
    assert.match(String(note?.content), /a\.txt: reverted \(the file you created was removed\)/);
  });
});
