// The JSON-RPC surface of the host: every method over two real MessageConnections on an
// in-memory duplex, malformed input, and the real host process (dist/host.js) killed with
// SIGKILL and started again on the same database.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ScriptedModelServer, type Script } from '../../host/model/scripted-server.js';
import {
  CancelRun,
  Configure,
  GetPending,
  GetProposal,
  GetRun,
  ListRuns,
  Resume,
  RpcErrors,
  StartRun,
} from '../../host/protocol/rpc.js';
import * as rpc from '../../host/protocol/rpc.js';
import { Settings } from '../../host/settings-schema.js';
import { onCleanup, tempDir } from '../support/scratch.js';
import { hostProcess, initialize, inMemoryHost, scriptedOptions } from '../support/host-client.js';

function workspace(): string {
  const dir = tempDir('ws');
  fs.cpSync(path.resolve('sample-workspace'), dir, { recursive: true });
  return dir;
}

async function scripted(script: Script): Promise<ScriptedModelServer> {
  const server = await ScriptedModelServer.start(script);
  onCleanup(() => server.close());
  return server;
}

function editScript(): Script {
  return (request) => {
    const results = request.messages.filter((m) => m.role === 'tool');
    const prompt = String(request.messages.find((m) => m.role === 'user')?.content);
    if (!results.length && prompt === 'again') {
      return {
        toolCalls: [
          { id: 'call_w', name: 'write_file', arguments: { path: 'notes/again.md', content: 'x' } },
        ],
      };
    }
    if (!results.length) {
      return {
        text: 'Fixing the greeting.',
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
  };
}

async function rpcError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; message: string };
  }
  assert.fail('expected the request to fail');
}

void describe('JSON-RPC host over two MessageConnections', () => {
  void it('answers every method: start, pending, proposal, resume, runs, trace, cancel, configure', async () => {
    const model = await scripted(editScript());
    const ws = workspace();
    const client = inMemoryHost();
    await initialize(client, scriptedOptions(ws, path.join(tempDir('db'), 'a.db'), model.baseURL));

    const { run_id } = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'fix the greeting' }),
    );
    const gate = await client.waitFor((e) => e.type === 'approval');
    assert.equal(gate.run_id, run_id);
    await client.waitFor((e) => e.type === 'output');

    const pending = GetPending.result.parse(
      await client.connection.sendRequest(GetPending.type, {}),
    );
    assert.equal(pending.approvals.length, 1);
    const approval = pending.approvals[0]!;
    assert.equal(approval.tool, 'edit_file');

    const proposal = GetProposal.result.parse(
      await client.connection.sendRequest(GetProposal.type, {
        run_id,
        approval_id: approval.approval_id,
      }),
    );
    assert.equal(proposal.path, 'src/greet.js');
    assert.match(proposal.current ?? '', /'Helo, '/);
    assert.match(proposal.proposed ?? '', /'Hello, '/);
    assert.equal(proposal.masked, false);

    await client.connection.sendRequest(Resume.type, {
      run_id,
      resume: { [approval.approval_id]: { approved: true, comment: 'ok' } },
    });
    const done = await client.waitFor(
      (e) => e.type === 'output' && e.status.code === 'success' && e.run_id === run_id,
    );
    assert.equal(done.type, 'output');
    assert.match(fs.readFileSync(path.join(ws, 'src/greet.js'), 'utf8'), /'Hello, '/);

    const runs = ListRuns.result.parse(await client.connection.sendRequest(ListRuns.type, {}));
    assert.deepEqual(
      runs.runs.map((r) => [r.run_id, r.status]),
      [[run_id, 'success']],
    );
    const trace = GetRun.result.parse(await client.connection.sendRequest(GetRun.type, { run_id }));
    assert.equal(trace.segments.length, 2);
    assert.equal(trace.segments[1]!.parent_segment_id, trace.segments[0]!.segment_id);
    assert.ok(trace.events.some((e) => e.type === 'tool_result' && e.ok));
    assert.equal(trace.decisions.length, 1);

    // A second run, cancelled while paused.
    const second = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'again' }),
    );
    await client.waitFor((e) => e.type === 'output' && e.run_id === second.run_id);
    await client.connection.sendRequest(CancelRun.type, {
      run_id: second.run_id,
      reason: 'not now',
    });
    const cancelled = await client.waitFor(
      (e) => e.type === 'output' && e.run_id === second.run_id && e.status.reason === 'cancelled',
    );
    assert.equal(cancelled.type === 'output' && cancelled.status.message, 'not now');

    await client.connection.sendRequest(Configure.type, {
      settings: Settings.parse({ model: 'scripted', baseURL: model.baseURL, maxTurns: 3 }),
      apiKey: 'other',
      restricted: false,
    });
    assert.ok(client.changed > 0, 'database changes are announced');
  });

  void it('a run cancelled the moment its pause is announced ends cancelled, every time', async () => {
    const model = await scripted(editScript());
    const client = inMemoryHost();
    await initialize(
      client,
      scriptedOptions(workspace(), path.join(tempDir('db'), 'c.db'), model.baseURL),
    );
    for (let i = 0; i < 10; i++) {
      const { run_id } = StartRun.result.parse(
        await client.connection.sendRequest(StartRun.type, { prompt: 'again' }),
      );
      // The pause is out while the run's stream may still be closing: cancel at once.
      await client.waitFor((e) => e.type === 'output' && e.run_id === run_id);
      await client.connection.sendRequest(CancelRun.type, { run_id, reason: `no ${i}` });
      const ended = await client.waitFor(
        (e) => e.type === 'output' && e.run_id === run_id && e.status.reason === 'cancelled',
      );
      assert.equal(ended.type === 'output' && ended.status.message, `no ${i}`);
    }
    const pending = GetPending.result.parse(
      await client.connection.sendRequest(GetPending.type, {}),
    );
    assert.deepEqual(pending.approvals, [], 'nothing is left pending');
  });

  void it('the host answers every client → host request the protocol module declares (none is MethodNotFound)', async () => {
    const model = await scripted(editScript());
    const client = inMemoryHost();
    await initialize(
      client,
      scriptedOptions(workspace(), path.join(tempDir('db'), 'a.db'), model.baseURL),
    );
    const requests = Object.values(rpc).filter(
      (m): m is typeof StartRun =>
        typeof m === 'object' && m !== null && 'direction' in m && 'result' in m,
    );
    const toHost = requests.filter((m) => m.direction === 'client → host');
    assert.ok(toHost.length >= 12, `found the requests (${toHost.length})`);
    for (const m of toHost) {
      // Empty params: most are refused as invalid params, which proves a handler read them.
      const code = await client.connection.sendRequest(m.method, {}).then(
        () => 0,
        (err: { code: number }) => err.code,
      );
      assert.notEqual(code, -32601, `${m.method} has a handler`);
    }
    const toClient = requests.filter((m) => m.direction === 'host → client');
    assert.deepEqual(toClient.map((m) => m.method).sort(), [
      'airlock/applyBuffer',
      'airlock/readBuffer',
    ]);
  });

  void it('malformed and invalid input gets a JSON-RPC error naming the fix; the host keeps working', async () => {
    const model = await scripted(editScript());
    const client = inMemoryHost();
    const early = await rpcError(client.connection.sendRequest(ListRuns.type, {}));
    assert.equal(early.code, RpcErrors.NotConfigured);
    const badInit = await rpcError(
      client.connection.sendRequest('initialize', {
        processId: null,
        rootUri: null,
        capabilities: {},
        initializationOptions: { workspace: 42 },
      }),
    );
    assert.equal(badInit.code, RpcErrors.InvalidParams);
    assert.match(badInit.message, /workspace/);

    await initialize(
      client,
      scriptedOptions(workspace(), path.join(tempDir('db'), 'b.db'), model.baseURL),
    );
    const noPrompt = await rpcError(client.connection.sendRequest(StartRun.type, { prompt: '  ' }));
    assert.equal(noPrompt.code, RpcErrors.InvalidParams);
    assert.match(noPrompt.message, /Type a prompt first/);
    const extra = await rpcError(
      client.connection.sendRequest(StartRun.method, { prompt: 'x', rm: '-rf /' }),
    );
    assert.equal(extra.code, RpcErrors.InvalidParams);
    const wrongType = await rpcError(client.connection.sendRequest(GetRun.method, { run_id: 7 }));
    assert.equal(wrongType.code, RpcErrors.InvalidParams);
    const unknown = await rpcError(
      client.connection.sendRequest(GetRun.type, { run_id: 'run_nope' }),
    );
    assert.equal(unknown.code, RpcErrors.UnknownRun);
    const noMethod = await rpcError(client.connection.sendRequest('airlock/format', {}));
    assert.equal(noMethod.code, -32601);

    // An invalid resolution is refused and nothing changes.
    const { run_id } = StartRun.result.parse(
      await client.connection.sendRequest(StartRun.type, { prompt: 'fix' }),
    );
    await client.waitFor((e) => e.type === 'output' && e.run_id === run_id);
    const gate = GetPending.result.parse(await client.connection.sendRequest(GetPending.type, {}))
      .approvals[0]!;
    const refused = await rpcError(
      client.connection.sendRequest(Resume.type, {
        run_id,
        resume: { [gate.approval_id]: { approved: true, override_input: { new_string: 5 } } },
      }),
    );
    assert.equal(refused.code, RpcErrors.ResumeRefused);
    assert.match(refused.message, /still pending/);
    const still = GetPending.result.parse(await client.connection.sendRequest(GetPending.type, {}));
    assert.deepEqual(
      still.approvals.map((a) => a.approval_id),
      [gate.approval_id],
    );
  });
});

void describe('the real host process', () => {
  void it('killed with SIGKILL while a card is pending: a new host reads it back and resuming runs it once', async () => {
    assert.ok(fs.existsSync('dist/host.js'), 'build first: node esbuild.mjs');
    const model = await scripted(editScript());
    const ws = workspace();
    const db = path.join(tempDir('db'), 'host.db');
    const first = hostProcess();
    await initialize(first.client, scriptedOptions(ws, db, model.baseURL));
    const { run_id } = StartRun.result.parse(
      await first.client.connection.sendRequest(StartRun.type, { prompt: 'fix the greeting' }),
    );
    const gate = await first.client.waitFor((e) => e.type === 'approval');
    await first.client.waitFor((e) => e.type === 'output');
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    first.client.connection.dispose();

    const second = hostProcess();
    await initialize(second.client, scriptedOptions(ws, db, model.baseURL));
    const pending = GetPending.result.parse(
      await second.client.connection.sendRequest(GetPending.type, {}),
    );
    assert.deepEqual(
      pending.approvals.map((a) => a.approval_id),
      [gate.type === 'approval' ? gate.approval_id : ''],
    );
    await second.client.connection.sendRequest(Resume.type, {
      run_id,
      resume: { [pending.approvals[0]!.approval_id]: true },
    });
    await second.client.waitFor((e) => e.type === 'output' && e.status.code === 'success');
    const results = second.client.events.filter((e) => e.type === 'tool_result');
    assert.equal(results.length, 1, 'the handler ran once');
    assert.match(fs.readFileSync(path.join(ws, 'src/greet.js'), 'utf8'), /'Hello, '/);
    await second.client.connection.sendRequest('shutdown');
    second.client.connection.dispose();
  });
});
