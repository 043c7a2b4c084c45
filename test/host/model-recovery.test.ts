// A model call that fails never loses the run, and what a provider sends beside its answer is
// handled as SPEC §3 says (issue 11, the engine's half): provider fields kept and sent back
// verbatim, reasoning shown collapsed and never passed on, a failed model call (retries
// exhausted) leaving the run resumable with reason `model_error`, a retry repeating only that
// call, and the client's notices reaching the editor's log.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { printEvent } from '../../host/cli/transcript.js';
import type {
  ChatMessage,
  Model,
  ModelChunk,
  ModelRequest,
  ModelTurn,
} from '../../host/model/model.js';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import {
  ScriptedModelServer,
  type Reply,
  type ScriptRequest,
} from '../../host/model/scripted-server.js';
import type { ResolveModelOptions } from '../../host/model/resolve.js';
import type { RunEvent } from '../../host/protocol/events.js';
import { ResumeRefusedError, Tool } from '../../host/runtime/index.js';
import { parseRunState } from '../../host/runtime/run-state.js';
import { HostSession } from '../../host/server/session.js';
import { Settings } from '../../host/settings-schema.js';
import { fileTools } from '../../host/tools/files.js';
import { z } from 'zod';
import {
  agentIn,
  approvalFor,
  assertPaused,
  assertSuccess,
  call,
  drain,
  ofType,
  world,
  type Outcome,
  type World,
} from '../support/agent-world.js';
import { CLI, jsonLines, outputOf, runProcess, sandboxEnv } from '../support/cli-process.js';
import { onCleanup, openStore, tempDir } from '../support/scratch.js';

const SECRET = `sk-${'Zy9Xw8Vu7T'.repeat(3)}`;

/** One scripted step of an in-test model: chunks streamed, then the turn; or a failure. */
type Step = { chunks?: ModelChunk[]; turn: Partial<ModelTurn> } | Error;

/**
 * A model without HTTP: what the engine does with a turn does not depend on any client. Keeps a
 * deep copy of every request's messages, as the wire would carry them.
 */
class InTestModel implements Model {
  readonly name = 'in-test';
  readonly requests: ChatMessage[][] = [];

  constructor(private readonly script: (messages: ChatMessage[], index: number) => Step) {}

  async *stream(request: ModelRequest): AsyncGenerator<ModelChunk, ModelTurn> {
    const messages = JSON.parse(JSON.stringify(request.messages)) as ChatMessage[];
    this.requests.push(messages);
    const step = this.script(messages, this.requests.length - 1);
    if (step instanceof Error) throw step;
    for (const chunk of step.chunks ?? []) {
      await Promise.resolve();
      yield chunk;
    }
    return {
      text: '',
      toolCalls: [],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
      ...step.turn,
    };
  }
}

function lastUser(messages: readonly { role: string; content?: unknown }[]): string {
  return String(messages.filter((m) => m.role === 'user').at(-1)?.content);
}

function assistants(messages: ChatMessage[]) {
  return messages.filter(
    (m): m is Extract<ChatMessage, { role: 'assistant' }> => m.role === 'assistant',
  );
}

function deltas(events: readonly (RunEvent | Record<string, unknown>)[], thinking: boolean) {
  return events
    .filter((e) => e.type === 'delta' && !!(e as { thinking?: boolean }).thinking === thinking)
    .map((e) => (e as { text: string }).text);
}

/** A tool that counts its runs (no gate). */
function counter(name: string) {
  let runs = 0;
  const tool = Tool({
    name,
    description: `Counts (${name}).`,
    params: z.object({}).passthrough(),
    handler: () => `${name} ran ${++runs} time(s)`,
  });
  return { tool, runs: () => runs };
}

// ---------------------------------------------------------------------------------------------

void describe('provider fields', () => {
  void it('are kept in the run state and sent back verbatim, across a pause in another process', async () => {
    // What DeepSeek / Kimi (reasoning_content) and Gemini 3 (thought_signature) require back.
    const REASONING_CONTENT = 'The user wants the weather.\nCall lookup — 東京 ✓';
    const SIGNATURE = 'CiQB0e2Kb+/x9=\u00e9Zz==';
    const extraContent = { google: { thought_signature: SIGNATURE } };
    const model = new InTestModel((messages, i) =>
      i === 0
        ? {
            chunks: [{ type: 'reasoning', text: 'The user wants the weather.' }],
            turn: {
              reasoning: 'The user wants the weather.',
              extra: { reasoning_content: REASONING_CONTENT, reasoning_details: [{ n: 1 }] },
              toolCalls: [
                {
                  id: 'c1',
                  name: 'lookup',
                  arguments: '{"city":"Tokyo"}',
                  extra: { extra_content: extraContent },
                },
              ],
            },
          }
        : { turn: { text: `It is sunny (${messages.length} messages).` } },
    );
    const w = await world([]);
    const lookup = Tool({
      name: 'lookup',
      description: 'Weather.',
      params: z.object({ city: z.string() }),
      requiresApproval: true,
      handler: ({ city }) => `sunny in ${city}`,
    });
    const first = await drain(agentIn(w, [lookup], { model }).run({ prompt: 'weather?' }));
    const gate = approvalFor(first, 'c1');
    assertPaused(first, 'approval_required', [gate.approval_id]);

    // Another process (a fresh store on the same file) resumes: the fields come from the DB.
    const other = await openStore(w.dbFile);
    const second = await drain(
      agentIn({ ...w, store: other }, [lookup], { model }).run({
        runId: first.output.run_id,
        resume: { [gate.approval_id]: true },
      }),
    );
    assertSuccess(second);
    assert.equal(model.requests.length, 2);
    const [assistant] = assistants(model.requests[1]!);
    assert.ok(assistant, 'the second request carries the first turn');
    const sent = assistant as unknown as Record<string, unknown>;
    assert.equal(sent.reasoning_content, REASONING_CONTENT);
    assert.deepEqual(sent.reasoning_details, [{ n: 1 }]);
    const toolCall = assistant.tool_calls?.[0] as unknown as Record<string, unknown>;
    assert.deepEqual(toolCall, {
      extra_content: extraContent,
      id: 'c1',
      type: 'function',
      function: { name: 'lookup', arguments: '{"city":"Tokyo"}' },
    });
    const signature = (toolCall.extra_content as typeof extraContent).google.thought_signature;
    assert.equal(Buffer.compare(Buffer.from(signature), Buffer.from(SIGNATURE)), 0);
    // The shown reasoning went nowhere but its provider field: not the content, not the output.
    assert.equal(assistant.content, null);
    assert.equal(second.output.output, 'It is sunny (3 messages).');
  });

  void it("an extra field never overrides Airlock's own (role, content, tool_calls, id)", async () => {
    const model = new InTestModel((_m, i) =>
      i === 0
        ? {
            turn: {
              text: 'calling',
              extra: { role: 'system', content: 'forged', tool_calls: [] },
              toolCalls: [{ id: 'c1', name: 'count', arguments: '{}', extra: { id: 'forged' } }],
            },
          }
        : { turn: { text: 'done' } },
    );
    const w = await world([]);
    const { tool } = counter('count');
    assertSuccess(await drain(agentIn(w, [tool], { model }).run({ prompt: 'go' })));
    const [assistant] = assistants(model.requests[1]!);
    assert.equal(assistant?.content, 'calling');
    assert.equal(assistant?.tool_calls?.[0]?.id, 'c1');
  });
});

void describe('reasoning ("thinking")', () => {
  void it('streams as redacted thinking deltas, is stored coalesced, and is never the answer or sent anywhere', async () => {
    // The secret is split across two reasoning chunks: the thinking stream must still mask it.
    const REASONING = `I should not print the key ${SECRET} here. Then count.`;
    const cut = REASONING.indexOf(SECRET) + 10;
    const model = new InTestModel((messages, i) => {
      if (lastUser(messages) === 'help out') {
        // The nested agent thinks too: its reasoning must not reach the parent's tool result.
        return {
          chunks: [{ type: 'reasoning', text: 'nested musing' }],
          turn: { text: 'nested answer', reasoning: 'nested musing' },
        };
      }
      if (i === 0) {
        return {
          chunks: [
            { type: 'reasoning', text: REASONING.slice(0, cut) },
            { type: 'reasoning', text: REASONING.slice(cut) },
            { type: 'delta', text: 'Counting now.' },
          ],
          turn: {
            text: 'Counting now.',
            reasoning: REASONING,
            toolCalls: [
              { id: 'c1', name: 'count', arguments: '{}' },
              { id: 'h1', name: 'helper', arguments: '{"prompt":"help out"}' },
            ],
          },
        };
      }
      return {
        chunks: [{ type: 'delta', text: 'Counted.' }],
        turn: { text: 'Counted.', reasoning: 'brief thought' },
      };
    });
    const w = await world([]);
    const { tool } = counter('count');
    const helper = agentIn(w, [], { name: 'helper', model });
    const agent = agentIn(w, [tool, helper.asTool({ description: 'Ask the helper' })], { model });
    const out = await drain(agent.run({ prompt: 'count' }));
    assertSuccess(out);

    const shownReasoning = REASONING.replace(SECRET, '***');
    const live = deltas(out.events, true).join('');
    assert.equal(live, shownReasoning, 'the live thinking deltas are the redacted reasoning');
    assert.ok(!JSON.stringify(out.events).includes(SECRET));
    assert.equal(deltas(out.events, false).join(''), 'Counting now.Counted.');
    // Thinking streams before the answer of its turn.
    const firstAnswer = out.events.findIndex((e) => e.type === 'delta' && !e.thinking);
    const thinkingAt = out.events.flatMap((e, n) => (e.type === 'delta' && e.thinking ? [n] : []));
    assert.ok(Math.max(...thinkingAt) < firstAnswer);

    // Stored: one thinking delta per turn (coalesced), redacted.
    const stored = w.store.events(out.output.run_id).map((e) => e.event);
    assert.deepEqual(deltas(stored, true), [shownReasoning, 'brief thought']);
    assert.deepEqual(deltas(stored, false), ['Counting now.', 'Counted.']);
    assert.ok(!JSON.stringify(stored).includes(SECRET));

    // The answer is the answer; no request (nor the parent's tool result) carries reasoning.
    assert.equal(out.output.output, 'Counted.');
    const wire = JSON.stringify(model.requests);
    for (const thought of ['I should not print', 'nested musing', 'brief thought']) {
      assert.ok(!wire.includes(thought), `a request carries the reasoning "${thought}"`);
    }
    assert.ok(wire.includes('nested answer'), "the helper's answer reached the parent");
  });

  void it('the CLI transcript prints it as one dim collapsed line, never the text', () => {
    let text = '';
    const out = { write: (t: string) => void (text += t), color: false };
    const state = { midLine: false };
    const events: RunEvent[] = [
      { type: 'delta', run_id: 'r', text: 'Let me think\nabout ', thinking: true },
      { type: 'delta', run_id: 'r', text: 'this carefully.', thinking: true },
      { type: 'delta', run_id: 'r', text: 'The answer.' },
      { type: 'tool_call', run_id: 'r', call_id: 'c', tool: 'count', input: {} },
    ];
    for (const e of events) printEvent(out, e, state);
    assert.equal(text, 'thinking… (34 chars)\nThe answer.\n→ count {}\n');

    let colored = '';
    const tty = { write: (t: string) => void (colored += t), color: true };
    printEvent(tty, events[0]!, { midLine: false });
    assert.equal(colored, '\x1b[2mthinking…\x1b[0m', 'dim');
  });
});

// ---------------------------------------------------------------------------------------------

/** The world of the recovery tests: a read, a gated write, then an endpoint that can be down. */
async function flakyWorld(): Promise<
  World & { down: { on: boolean }; failing: () => number; model: OpenAIChatModel }
> {
  const down = { on: false };
  let failures = 0;
  const w = await world((request: ScriptRequest): Reply => {
    const results = request.messages.filter((m) => m.role === 'tool');
    if (!results.length) {
      return {
        text: 'Reading, then writing.',
        toolCalls: [
          call('r1', 'read_file', { path: 'a.txt' }),
          call('w1', 'write_file', { path: 'out.txt', content: 'written once\n' }),
        ],
      };
    }
    if (down.on) {
      failures++;
      return { status: 500, error: 'The upstream is overloaded.', retryAfterMs: 1 };
    }
    return { text: 'All done.' };
  });
  fs.writeFileSync(path.join(w.dir, 'a.txt'), 'alpha\n');
  // Retries with backoff first (SPEC §3): a failure is one that outlasted them.
  const model = new OpenAIChatModel({
    model: 'scripted',
    baseURL: w.server.baseURL,
    apiKey: 'test-key',
    maxRetries: 2,
  });
  return { ...w, model, down, failing: () => failures };
}

/** The file tools, with write_file's handler counted. */
function countedFileTools(dir: string) {
  let writes = 0;
  const tools = fileTools(dir).map((t) =>
    t.name === 'write_file'
      ? {
          ...t,
          handler: (input: unknown, ctx: Parameters<typeof t.handler>[1]) => {
            writes++;
            return t.handler(input, ctx);
          },
        }
      : t,
  );
  return { tools, writes: () => writes };
}

function assertModelError(o: Outcome): void {
  assert.equal(o.output.status.code, 'error', o.output.status.message);
  assert.equal(o.output.status.reason, 'model_error', o.output.status.message);
  assert.deepEqual(o.output.pending, []);
}

void describe('a failed model call', () => {
  void it('leaves the run resumable: a retry repeats only that call, no tool runs again, compact keeps it', async () => {
    const w = await flakyWorld();
    const { tools, writes } = countedFileTools(w.dir);
    const agent = agentIn(w, tools, { model: w.model });
    const first = await drain(agent.run({ prompt: 'copy' }));
    const runId = first.output.run_id;
    const gate = approvalFor(first, 'w1');
    assertPaused(first, 'approval_required', [gate.approval_id]);

    // The write is approved and runs; then every try of the next model call gets a 500.
    w.down.on = true;
    const failed = await drain(agent.run({ runId, resume: { [gate.approval_id]: true } }));
    assertModelError(failed);
    assert.match(failed.output.status.message, /overloaded/, 'quotes the server');
    assert.equal(w.failing(), 3, 'the client retried twice before giving up');
    assert.equal(writes(), 1);
    const out = path.join(w.dir, 'out.txt');
    assert.equal(fs.readFileSync(out, 'utf8'), 'written once\n');
    const mtime = fs.statSync(out).mtimeMs;

    // Stored as SPEC §2 says: `error` / `model_error`, its raw state kept (it is live).
    const row = w.store.getRun(runId)!;
    assert.equal(row.row.status, 'error');
    assert.equal(row.row.reason, 'model_error');
    assert.equal(w.store.listRuns().find((r) => r.run_id === runId)?.status, 'error');
    const kept = parseRunState(row.state, runId);
    assert.deepEqual(
      kept.messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id),
      ['r1', 'w1'],
    );

    // Still down: a retry fails the same way and runs nothing.
    const again = await drain(agent.run({ runId, resume: {} }));
    assertModelError(again);
    assert.equal(writes(), 1);

    // `airlock compact` scrubs the files: a live (resumable) run's raw state survives it.
    const compacting = await openStore(w.dbFile);
    compacting.scrub();
    compacting.close();

    // The endpoint recovers; another process retries with no decisions.
    w.down.on = false;
    const other = await openStore(w.dbFile);
    const requestsBefore = w.server.requests.length;
    const retried = await drain(
      agentIn({ ...w, store: other }, tools, { model: w.model }).run({ runId, resume: {} }),
    );
    assertSuccess(retried);
    assert.equal(retried.output.output, 'All done.');
    assert.equal(writes(), 1, 'the approved write did not run again');
    assert.equal(fs.statSync(out).mtimeMs, mtime);
    assert.equal(ofType(retried, 'tool_call').length, 0, 'no tool call was proposed again');
    assert.equal(ofType(retried, 'tool_result').length, 0, 'no tool ran again');
    // Exactly the failed call was repeated: same conversation as the failed tries.
    assert.equal(w.server.requests.length, requestsBefore + 1);
    assert.deepEqual(w.server.requests.at(-1)?.messages, w.server.requests.at(-2)?.messages);
    const stored = other.events(runId).map((e) => e.event);
    const results = stored.filter((e) => e.type === 'tool_result');
    assert.deepEqual(results.map((e) => e.call_id).sort(), ['r1', 'w1']);

    // Finished for real now: the raw state is dropped and a further resume is refused.
    const done = other.getRun(runId)!;
    assert.equal(done.row.status, 'success');
    assert.deepEqual(parseRunState(done.state, runId).messages, []);
    await assert.rejects(
      drain(agentIn({ ...w, store: other }, tools).run({ runId, resume: {} })),
      ResumeRefusedError,
    );
  });

  void it('is a finished run for retention: keepRuns drops it (and its raw state) like any failed run', async () => {
    const w = await flakyWorld();
    const { tools } = countedFileTools(w.dir);
    w.down.on = true;
    const agent = agentIn(w, tools, {
      model: w.model,
      policy: [{ tool: 'write_file', action: 'allow' }],
    });
    const failed = await drain(agent.run({ prompt: 'copy' }));
    assertModelError(failed);
    assert.equal(w.store.compact({ keepRuns: 0 }), 1);
    assert.equal(w.store.getRun(failed.output.run_id), undefined);
  });

  void it('of a nested agent ends the parent model_error too; retrying the parent resumes the nested run', async () => {
    const down = { on: true };
    const w = await world((request: ScriptRequest): Reply => {
      const results = request.messages.filter((m) => m.role === 'tool');
      if (lastUser(request.messages) === 'help out') {
        if (!results.length) return { toolCalls: [call('n1', 'count', {})] };
        if (down.on) return { status: 500, error: 'Nested endpoint down.' };
        return { text: 'helped' };
      }
      if (!results.length) return { toolCalls: [call('p1', 'helper', { prompt: 'help out' })] };
      return { text: `parent done: ${[...results].pop()?.content as string}` };
    });
    const { tool, runs } = counter('count');
    const helper = agentIn(w, [tool], { name: 'helper' });
    const parent = agentIn(w, [helper.asTool({ description: 'Ask the helper' })]);
    const failed = await drain(parent.run({ prompt: 'delegate' }));
    assertModelError(failed);
    assert.match(failed.output.status.message, /Nested endpoint down/);
    assert.equal(runs(), 1);

    down.on = false;
    const retried = await drain(parent.run({ runId: failed.output.run_id, resume: {} }));
    assertSuccess(retried);
    assert.equal(retried.output.output, 'parent done: helped');
    assert.equal(runs(), 1, "the nested agent's tool did not run again");
  });

  void it('that returns unreadable tool-call arguments changes nothing; the retry asks the same question', async () => {
    let broken = true;
    const model = new InTestModel((_m, i) =>
      i === 0 || broken
        ? { turn: { text: 'x', toolCalls: [{ id: 'c1', name: 'count', arguments: '{"a":' }] } }
        : { turn: { text: 'fine' } },
    );
    const w = await world([]);
    const { tool, runs } = counter('count');
    const agent = agentIn(w, [tool], { model });
    const failed = await drain(agent.run({ prompt: 'go' }));
    assertModelError(failed);
    const state = parseRunState(w.store.getRun(failed.output.run_id)!.state, failed.output.run_id);
    assert.deepEqual(
      state.messages.map((m) => m.role),
      ['user'],
      'the broken turn left no half-stored assistant message behind',
    );
    assert.equal(state.turns, 0);
    broken = false;
    const retried = await drain(agent.run({ runId: failed.output.run_id, resume: {} }));
    assertSuccess(retried);
    assert.deepEqual(model.requests[1], model.requests[0]);
    assert.equal(runs(), 0);
  });

  void it('any failure of the call (not only ModelError) is model_error and resumable', async () => {
    let fail = true;
    const model = new InTestModel(() =>
      fail ? new TypeError('fetch failed') : { turn: { text: 'back' } },
    );
    const w = await world([]);
    const agent = agentIn(w, [], { model });
    const failed = await drain(agent.run({ prompt: 'go' }));
    assertModelError(failed);
    assert.match(failed.output.status.message, /fetch failed/);
    fail = false;
    assertSuccess(await drain(agent.run({ runId: failed.output.run_id, resume: {} })));
  });
});

// ---------------------------------------------------------------------------------------------

void describe('the editor host (HostSession)', () => {
  void it("logs the model client's notices (redacted) and retries a model_error run with an empty resume", async () => {
    const workspace = tempDir('ws');
    const db = path.join(tempDir('db'), 'airlock.db');
    const logs: string[] = [];
    const outputs: Extract<RunEvent, { type: 'output' }>[] = [];
    let settle: (() => void) | undefined;
    const notify = {
      event: (e: RunEvent) => {
        if (e.type !== 'output') return;
        outputs.push(e);
        settle?.();
      },
      changed: () => undefined,
      log: (m: string) => void logs.push(m),
    };
    let up = false;
    const resolver = (opts: ResolveModelOptions) => {
      const model = new InTestModel(() => {
        opts.onNotice?.(`stream_options dropped for this endpoint (key ${SECRET})`);
        return up ? { turn: { text: 'recovered' } } : new Error('The endpoint is down.');
      });
      return Promise.resolve({ model, close: () => Promise.resolve() });
    };
    const session = await HostSession.open(
      {
        workspace,
        db,
        settings: Settings.parse({ model: 'in-test', baseURL: 'http://127.0.0.1:9/v1' }),
        apiKey: 'k',
        restricted: false,
      },
      notify,
      resolver,
    );
    try {
      const ended = () => new Promise<void>((resolve) => (settle = resolve));
      let done = ended();
      const runId = await session.startRun('hello');
      await done;
      assert.equal(
        outputs.at(-1)?.type === 'output' && outputs.at(-1)?.status.reason,
        'model_error',
      );
      assert.ok(
        logs.some((l) => l === 'stream_options dropped for this endpoint (key ***)'),
        `the notice reached the log, redacted: ${JSON.stringify(logs)}`,
      );
      assert.ok(!logs.join('\n').includes(SECRET));
      const listed = session.listRuns().find((r) => r.run_id === runId);
      assert.equal(listed?.status, 'error');
      assert.equal(listed?.reason, 'model_error');

      // The sidebar's Retry: the extension resumes with an empty map.
      up = true;
      done = ended();
      await session.resume(runId, {});
      await done;
      const last = outputs.at(-1);
      assert.equal(last?.status.code, 'success');
      assert.equal(last?.output, 'recovered');
    } finally {
      await session.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------

void describe('the CLI (real `node dist/cli.js` processes)', () => {
  void it('says how to retry a model_error run, lists it, keeps it through compact, and `resume RUN` finishes it', async () => {
    const down = { on: false };
    const server = await ScriptedModelServer.start((request: ScriptRequest): Reply => {
      if (!request.messages.some((m) => m.role === 'tool')) {
        return {
          toolCalls: [
            call('r1', 'read_file', { path: 'a.txt' }),
            call('w1', 'write_file', { path: 'out.txt', content: 'written once\n' }),
          ],
        };
      }
      // 500s past the client's retries (Retry-After keeps the test quick).
      if (down.on) return { status: 500, error: 'The upstream is overloaded.', retryAfterMs: 1 };
      return { text: 'All done.' };
    });
    onCleanup(() => server.close());
    const home = tempDir('cli');
    const ws = path.join(home, 'ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'a.txt'), 'alpha\n');
    const db = path.join(home, 'airlock.db');
    const env = sandboxEnv(home, { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: 'x' });
    const cli = (args: string[]) =>
      runProcess(process.execPath, [CLI, ...args, '--db', db], { cwd: ws, env });

    const first = await cli(['run', 'copy a to out', '--model', 'scripted', '--json']);
    assert.equal(first.code, 3, first.stderr);
    const paused = outputOf(first);
    const runId = String(paused.run_id);
    const approvalId = paused.pending[0]!;

    down.on = true;
    const failed = await cli(['resume', runId, '--approve', approvalId]);
    assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`);
    assert.match(failed.stdout, /overloaded/);
    assert.ok(
      failed.stdout.includes(`airlock resume ${runId} --db ${db}\n`),
      `the transcript says how to retry:\n${failed.stdout}`,
    );
    const out = path.join(ws, 'out.txt');
    assert.equal(fs.readFileSync(out, 'utf8'), 'written once\n');
    const mtime = fs.statSync(out).mtimeMs;

    const pending = await cli(['pending']);
    // The hint reaches the same database (--db repeated).
    const retryHint = `(retry with: airlock resume ${runId} --db ${db})`;
    const listed = pending.stdout.split('\n').find((l) => l.startsWith(`${runId}  model_error  `));
    assert.ok(listed?.includes('overloaded') && listed.endsWith(retryHint), pending.stdout);
    const pendingJson = JSON.parse((await cli(['pending', '--json'])).stdout) as {
      model_error: string[];
    };
    assert.deepEqual(pendingJson.model_error, [runId]);
    const runs = await cli(['runs']);
    const row = runs.stdout.split('\n').find((l) => l.startsWith(`${runId}  error `));
    assert.ok(row?.endsWith(retryHint), runs.stdout);

    const compact = await cli(['compact']);
    assert.equal(compact.code, 0, compact.stderr);

    down.on = false;
    const retried = await cli(['resume', runId, '--json']);
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    const done = outputOf(retried);
    assert.equal((done.status as { code: string }).code, 'success');
    assert.equal(done.output, 'All done.');
    assert.equal(fs.statSync(out).mtimeMs, mtime, 'the write did not run again');
    assert.equal(jsonLines(retried.stdout).filter((e) => e.type === 'tool_result').length, 0);
    const shown = JSON.parse((await cli(['show', runId, '--json'])).stdout) as {
      events: { type: string; call_id?: string }[];
    };
    const results = shown.events.filter((e) => e.type === 'tool_result').map((e) => e.call_id);
    assert.deepEqual(results.sort(), ['r1', 'w1']);
    assert.equal((await cli(['pending'])).stdout, 'Nothing is waiting for a decision.\n');
  });
});
