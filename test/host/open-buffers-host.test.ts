// Open documents through the host (SPEC §7): a window reports its unsaved files, the host reads
// them from the window and applies an approved change there; the real CLI, which has no editor,
// leaves a file the window holds dirty alone and asks again. The window is a JSON-RPC client
// answering airlock/readBuffer and airlock/applyBuffer as extension/open-documents.ts does.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ScriptedModelServer } from '../../host/model/scripted-server.js';
import type { ApprovalEvent } from '../../host/protocol/events.js';
import {
  ApplyBuffer,
  DirtyBuffers,
  GetPending,
  ReadBuffer,
  Resume,
  StartRun,
} from '../../host/protocol/rpc.js';
import { registryDir } from '../../host/tools/open-buffers.js';
import { CLI, cleanEnv, jsonLines, runProcess } from '../support/cli-process.js';
import { initialize, inMemoryHost, scriptedOptions } from '../support/host-client.js';
import { onCleanup, tempDir } from '../support/scratch.js';
import { until } from '../support/until.js';

const TYPED = '// typed by the developer, not saved\n';

/** A model that fixes the sample's greeting with one edit_file call, then reports the result. */
async function greetingFixer(): Promise<ScriptedModelServer> {
  const model = await ScriptedModelServer.start((request) => {
    const results = request.messages.filter((m) => m.role === 'tool');
    if (results.length === 0) {
      return {
        toolCalls: [
          {
            id: 'call_edit',
            name: 'edit_file',
            arguments: { path: 'src/greet.js', old_string: "'Helo, '", new_string: "'Hello, '" },
          },
        ],
      };
    }
    return { text: `Done: ${String(results.at(-1)?.content)}` };
  });
  onCleanup(() => model.close());
  return model;
}

void describe('a window with unsaved changes, through the host', () => {
  void it('gets the edit in its buffer; the CLI meanwhile writes nothing and asks again', async () => {
    const model = await greetingFixer();
    const ws = fs.realpathSync(tempDir('ws'));
    fs.cpSync(path.resolve('sample-workspace'), ws, { recursive: true });
    const db = path.join(tempDir('db'), 'runs.db');
    const target = path.join(ws, 'src/greet.js');
    const onDisk = fs.readFileSync(target, 'utf8');

    // The window: src/greet.js open with a typed, unsaved first line.
    const buffers = new Map<string, string>([[target, TYPED + onDisk]]);
    const applied: { path: string; expected: string; text: string }[] = [];
    const client = inMemoryHost();
    client.connection.onRequest(ReadBuffer.method, (raw: unknown) => {
      const { path: p } = ReadBuffer.params.parse(raw);
      return { text: buffers.get(p) ?? null };
    });
    client.connection.onRequest(ApplyBuffer.method, (raw: unknown) => {
      const params = ApplyBuffer.params.parse(raw);
      if (!buffers.has(params.path)) return { status: 'clean' };
      if (buffers.get(params.path) !== params.expected) return { status: 'changed' };
      applied.push(params);
      buffers.set(params.path, params.text);
      return { status: 'applied' };
    });
    await initialize(client, scriptedOptions(ws, db, model.baseURL));
    await client.connection.sendNotification(DirtyBuffers.type, {
      buffers: [
        { path: target, version: 2 },
        { path: '/elsewhere/not-in-the-workspace.js', version: 1 },
      ],
    });

    const { run_id } = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'fix the greeting' }),
    );
    const gate = (await client.waitFor((e) => e.type === 'approval')) as ApprovalEvent;
    await client.waitFor((e) => e.type === 'output' && e.run_id === run_id);
    assert.equal(gate.preview?.unsaved, true, 'the card says the diff is against the buffer');
    assert.match(gate.preview?.diff ?? '', /^ \/\/ typed by the developer, not saved$/m);

    // Listed for other processes: only workspace paths, privately.
    const entry = path.join(registryDir(db), `${process.pid}.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(entry, 'utf8')).paths, ['src/greet.js']);
    assert.equal(fs.statSync(entry).mode & 0o777, 0o600);

    // The CLI has no editor: approving there writes nothing and asks again, saying why.
    const cli = await runProcess(
      process.execPath,
      [CLI, 'resume', run_id, '--approve', gate.approval_id, '--db', db, '--json'],
      { cwd: ws, env: cleanEnv({ OPENAI_BASE_URL: model.baseURL, AIRLOCK_MODEL: 'scripted' }) },
    );
    assert.equal(cli.code, 3, `exit 3 at the fresh gate:\n${cli.stdout}\n${cli.stderr}`);
    const lines = jsonLines(cli.stdout);
    assert.ok(
      lines.some(
        (l) =>
          l.type === 'warning' &&
          /has unsaved changes in a VS Code window; nothing was written/.test(String(l.message)),
      ),
      cli.stdout,
    );
    assert.equal(fs.readFileSync(target, 'utf8'), onDisk, 'the CLI wrote nothing');

    // The CLI's fresh gate shows the disk: approved in the window, it is asked once more with
    // the diff against the buffer (nobody approves a diff they did not see).
    const pendingGate = async () => {
      const pending = GetPending.result.parse(
        await client.connection.sendRequest(GetPending.type, {}),
      );
      const found = pending.approvals.find((a) => a.run_id === run_id);
      assert.ok(found, 'a gate of the run is pending');
      return found;
    };
    const fromCli = await pendingGate();
    assert.equal(fromCli.preview?.unsaved, undefined);
    const outputs = () => client.events.filter((e) => e.type === 'output').length;
    const before = outputs();
    await client.connection.sendRequest(Resume.type, {
      run_id,
      resume: { [fromCli.approval_id]: { approved: true } },
    });
    await until('the run to pause again', () => outputs() > before);
    const fresh = await pendingGate();
    assert.equal(fresh.preview?.stale, true);
    assert.equal(fresh.preview?.unsaved, true);
    assert.equal(fs.readFileSync(target, 'utf8'), onDisk);
    assert.deepEqual(applied, []);

    // Decided on the buffer's diff: the edit lands in the buffer, not on disk.
    await client.connection.sendRequest(Resume.type, {
      run_id,
      resume: { [fresh.approval_id]: { approved: true } },
    });
    const result = await client.waitFor((e) => e.type === 'tool_result' && e.run_id === run_id);
    assert.match(
      result.type === 'tool_result' ? result.output : '',
      /Edited src\/greet.js in the open editor/,
    );
    assert.deepEqual(applied, [
      {
        path: target,
        expected: TYPED + onDisk,
        text: TYPED + onDisk.replace("'Helo, '", "'Hello, '"),
      },
    ]);
    assert.equal(fs.readFileSync(target, 'utf8'), onDisk, 'the disk is not written');

    // Saved and clean: the entry goes.
    await client.connection.sendNotification(DirtyBuffers.type, { buffers: [] });
    await client.connection.sendRequest(GetPending.type, {}); // handled after the notification
    assert.equal(fs.existsSync(entry), false);
  });

  void it('a pending card goes stale with a fresh diff when its file changes on disk or in the buffer', async () => {
    const model = await greetingFixer();
    const ws = fs.realpathSync(tempDir('ws'));
    fs.cpSync(path.resolve('sample-workspace'), ws, { recursive: true });
    const target = path.join(ws, 'src/greet.js');
    const buffers = new Map<string, string>();
    const client = inMemoryHost();
    client.connection.onRequest(ReadBuffer.method, (raw: unknown) => ({
      text: buffers.get(ReadBuffer.params.parse(raw).path) ?? null,
    }));
    client.connection.onRequest(ApplyBuffer.method, () => ({ status: 'changed' }));
    await initialize(
      client,
      scriptedOptions(ws, path.join(tempDir('db'), 'runs.db'), model.baseURL),
    );
    const { run_id } = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'fix the greeting' }),
    );
    await client.waitFor((e) => e.type === 'output' && e.run_id === run_id);
    const shown = async () => {
      const pending = GetPending.result.parse(
        await client.connection.sendRequest(GetPending.type, {}),
      );
      return pending.approvals.find((a) => a.run_id === run_id);
    };
    const recorded = await shown();
    assert.equal(recorded?.preview?.stale, undefined);

    // Someone changes the file on disk: the card turns stale with the diff against it.
    const changedOnDisk = `// reformatted by a tool\n${fs.readFileSync(target, 'utf8')}`;
    fs.writeFileSync(target, changedOnDisk);
    const onDisk = await until('the card to go stale', async () => {
      const gate = await shown();
      return gate?.preview?.stale ? gate : undefined;
    });
    assert.equal(onDisk.approval_id, recorded?.approval_id, 'the same gate, a fresh diff');
    assert.match(onDisk.preview?.diff ?? '', /^ \/\/ reformatted by a tool$/m);
    assert.ok(client.changed > 0, 'clients were told to read pending again');

    // The developer then types in the open file: the card follows the buffer.
    buffers.set(target, `// typed\n${changedOnDisk}`);
    await client.connection.sendNotification(DirtyBuffers.type, {
      buffers: [{ path: target, version: 7 }],
    });
    const onBuffer = await until('the card to follow the buffer', async () => {
      const gate = await shown();
      return gate?.preview?.unsaved ? gate : undefined;
    });
    assert.equal(onBuffer.preview?.stale, true);
    assert.match(onBuffer.preview?.diff ?? '', /^ \/\/ typed$/m);

    // Put back as proposed: the card is what the run recorded again.
    buffers.clear();
    await client.connection.sendNotification(DirtyBuffers.type, { buffers: [] });
    fs.writeFileSync(target, changedOnDisk.replace('// reformatted by a tool\n', ''));
    await until('the card to be as recorded again', async () => {
      const gate = await shown();
      return gate && !gate.preview?.stale ? gate : undefined;
    });
  });
});
