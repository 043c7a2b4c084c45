// The model client end to end: the real `openai` client against a real scripted
// OpenAI-compatible server on loopback (never a stubbed client).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SAMPLE_FILES, startDemoModel } from '../../host/model/demo.js';
import {
  ModelError,
  type ChatMessage,
  type Model,
  type ModelChunk,
  type ModelRequest,
  type ModelTurn,
} from '../../host/model/model.js';
import { modelError, streamAll } from '../support/model-stream.js';
import { OpenAIChatModel, type OpenAIChatModelOptions } from '../../host/model/openai-model.js';
import { resolveModel } from '../../host/model/resolve.js';
import { ScriptedModelServer, type Script } from '../../host/model/scripted-server.js';

const KEY = 'sk-test-secret-key-1234567890';
const TOOLS = [
  {
    name: 'read_file',
    description: 'Read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } } },
  },
  { name: 'edit_file', description: 'Edit a file', parameters: { type: 'object', properties: {} } },
];
const REQ: ModelRequest = { messages: [{ role: 'user', content: 'hi' }], tools: TOOLS };

function run(
  model: Model,
  request: ModelRequest = REQ,
): Promise<{ chunks: ModelChunk[]; turn: ModelTurn }> {
  return streamAll(model, request);
}

async function withServer(
  script: Script,
  opts: Partial<OpenAIChatModelOptions>,
  body: (server: ScriptedModelServer, model: OpenAIChatModel) => Promise<void>,
): Promise<void> {
  const server = await ScriptedModelServer.start(script);
  try {
    const model = new OpenAIChatModel({
      model: 'test-model',
      baseURL: server.baseURL,
      apiKey: KEY,
      ...opts,
    });
    await body(server, model);
  } finally {
    await server.close();
  }
}

void test('streamed text arrives in several deltas and concatenates', async () => {
  const text = 'Hello there, this is a streamed reply.';
  await withServer(
    [{ text, chunkSize: 5, usage: { prompt_tokens: 11, completion_tokens: 7 } }],
    {},
    async (server, model) => {
      const { chunks, turn } = await run(model);
      assert.ok(chunks.length >= 5, `got ${chunks.length} deltas`);
      assert.equal(chunks.map((c) => c.text).join(''), text);
      assert.equal(turn.text, text);
      assert.deepEqual(turn.toolCalls, []);
      assert.deepEqual(turn.usage, { prompt_tokens: 11, completion_tokens: 7 });
      // What was sent: streaming with usage, tools as functions, the model name.
      const sent = server.requests[0];
      assert.ok(sent);
      assert.equal(sent.model, 'test-model');
      assert.equal(sent.stream, true);
      assert.deepEqual(sent.stream_options, { include_usage: true });
      assert.deepEqual(
        sent.tools?.map((t) => (t.type === 'function' ? t.function.name : '')),
        ['read_file', 'edit_file'],
      );
    },
  );
});

void test('no tools → the request omits `tools`; default usage is estimated', async () => {
  await withServer([{ text: 'ok' }], {}, async (server, model) => {
    const { turn } = await run(model, { messages: REQ.messages, tools: [] });
    assert.equal(server.requests[0]?.tools, undefined);
    assert.ok(turn.usage.prompt_tokens > 0);
  });
});

void test('parallel tool calls with arguments streamed in pieces are assembled', async () => {
  const script: Script = [
    {
      text: 'Reading both.',
      chunkSize: 3,
      toolCalls: [
        { id: 'call_a', name: 'read_file', arguments: { path: 'src/a-long-file-name.ts' } },
        { id: 'call_b', name: 'read_file', arguments: '{"path": "docs/b.md"}' },
        { name: 'edit_file', arguments: '' },
      ],
    },
  ];
  await withServer(script, {}, async (_server, model) => {
    const { turn } = await run(model);
    assert.equal(turn.text, 'Reading both.');
    assert.equal(turn.toolCalls.length, 3);
    const [a, b, c] = turn.toolCalls;
    assert.deepEqual(a, {
      id: 'call_a',
      name: 'read_file',
      arguments: '{"path":"src/a-long-file-name.ts"}',
    });
    assert.deepEqual(b, { id: 'call_b', name: 'read_file', arguments: '{"path": "docs/b.md"}' });
    assert.equal(c?.name, 'edit_file');
    assert.equal(c?.arguments, '{}', 'empty arguments count as {}');
    assert.ok(c?.id);
    assert.ok(turn.usage.completion_tokens > 0);
  });
});

void test('401 → auth error that says how to fix, without the key', async () => {
  await withServer(
    [{ status: 401, error: `Incorrect API key provided: ${KEY}` }],
    {},
    async (server, model) => {
      const err = await modelError(run(model));
      assert.equal(err.kind, 'auth');
      assert.match(err.message, /401/);
      assert.match(err.message, /OPENAI_API_KEY/);
      assert.match(err.message, /Airlock: Set API Key/);
      assert.ok(err.message.includes(server.baseURL));
      assert.ok(!err.message.includes(KEY));
      assert.equal(server.requests.length, 1, '401 is not retried');
    },
  );
});

void test('429 then success is retried by the client and succeeds', async () => {
  await withServer(
    [{ status: 429, retryAfterMs: 5 }, { text: 'done' }],
    { maxRetries: 2 },
    async (server, model) => {
      const { turn } = await run(model);
      assert.equal(turn.text, 'done');
      assert.equal(server.requests.length, 2);
    },
  );
});

void test('429 until retries run out → rate_limit', async () => {
  const r = { status: 429, retryAfterMs: 1 };
  await withServer([r, r], { maxRetries: 1 }, async (server, model) => {
    const err = await modelError(run(model));
    assert.equal(err.kind, 'rate_limit');
    assert.match(err.message, /429/);
    assert.equal(server.requests.length, 2);
  });
});

void test('500 repeated → server error after retries', async () => {
  const r = { status: 500, error: 'upstream exploded', retryAfterMs: 1 };
  await withServer([r, r, r], { maxRetries: 2 }, async (server, model) => {
    const err = await modelError(run(model));
    assert.equal(err.kind, 'server');
    assert.match(err.message, /500/);
    assert.match(err.message, /upstream exploded/);
    assert.equal(server.requests.length, 3);
  });
});

void test('404 → names the model and the settings to change', async () => {
  await withServer([{ status: 404 }], {}, async (_server, model) => {
    const err = await modelError(run(model));
    assert.equal(err.kind, 'bad_request');
    assert.match(err.message, /"test-model"/);
    assert.match(err.message, /AIRLOCK_MODEL/);
    assert.match(err.message, /airlock\.model/);
  });
});

void test('a reply slower than timeoutMs → timeout', async () => {
  await withServer(
    [{ delayMs: 2000, then: { text: 'late' } }],
    { timeoutMs: 100, maxRetries: 0 },
    async (_s, model) => {
      const err = await modelError(run(model));
      assert.equal(err.kind, 'timeout');
    },
  );
});

void test('a stream that stalls longer than timeoutMs between chunks → timeout', async () => {
  const script: Script = [{ text: 'abcdefgh', chunkSize: 2, chunkDelayMs: 2000 }];
  await withServer(script, { timeoutMs: 100, maxRetries: 0 }, async (_s, model) => {
    const err = await modelError(run(model));
    assert.equal(err.kind, 'timeout');
  });
});

void test('aborting the signal ends the stream with an AbortError, not a partial turn', async () => {
  await withServer(
    [{ text: 'abcdefgh', chunkSize: 2, chunkDelayMs: 50 }],
    {},
    async (_s, model) => {
      const ctl = new AbortController();
      const gen = model.stream(REQ, ctl.signal);
      const first = await gen.next();
      assert.equal(first.done, false);
      ctl.abort();
      await assert.rejects(
        async () => {
          for (let r = await gen.next(); !r.done; r = await gen.next());
        },
        { name: 'AbortError' },
      );
    },
  );
});

void test('malformed tool-call arguments → malformed, naming the tool', async () => {
  await withServer(
    [{ toolCalls: [{ name: 'edit_file', arguments: '{"path": "a.txt", ' }] }],
    {},
    async (_s, model) => {
      const err = await modelError(run(model));
      assert.equal(err.kind, 'malformed');
      assert.match(err.message, /edit_file/);
      assert.match(err.message, /invalid tool-call JSON/);
    },
  );
});

void test('garbage in the stream → a clear ModelError', async () => {
  await withServer([{ garbage: 'data: {"choices": [oops\n\n' }], {}, async (_s, model) => {
    const err = await modelError(run(model));
    assert.equal(err.kind, 'malformed');
    assert.match(err.message, /OpenAI-compatible/);
  });
});

void test('a stream with no choices → a clear ModelError', async () => {
  await withServer(
    [{ garbage: 'data: {"id": "x"}\n\ndata: [DONE]\n\n' }],
    {},
    async (_s, model) => {
      const err = await modelError(run(model));
      assert.equal(err.kind, 'malformed');
      assert.match(err.message, /no choices/);
    },
  );
});

void test('nothing listening → connection error naming the base URL setting', async () => {
  const server = await ScriptedModelServer.start([]);
  const baseURL = server.baseURL;
  await server.close();
  const model = new OpenAIChatModel({ model: 'm', baseURL, apiKey: KEY, maxRetries: 0 });
  const err = await modelError(run(model));
  assert.equal(err.kind, 'connection');
  assert.match(err.message, /OPENAI_BASE_URL/);
});

void test('no key for a remote endpoint → auth error; loopback works without one', () => {
  assert.throws(
    () => new OpenAIChatModel({ model: 'gpt-4o-mini', env: {} }),
    (err: unknown) =>
      err instanceof ModelError && err.kind === 'auth' && /OPENAI_API_KEY/.test(err.message),
  );
  assert.doesNotThrow(
    () => new OpenAIChatModel({ model: 'llama3', baseURL: 'http://localhost:11434/v1', env: {} }),
  );
});

void test('resolveModel: demo by default, env and flags otherwise', async () => {
  const demo = await resolveModel({}, {});
  try {
    assert.equal(demo.model.name, 'demo');
  } finally {
    await demo.close();
  }
  const viaEnv = await resolveModel({}, { OPENAI_API_KEY: KEY });
  assert.equal(viaEnv.model.name, 'gpt-4o-mini');
  const named = await resolveModel(
    { model: 'm1' },
    { AIRLOCK_MODEL: 'm2', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
  );
  assert.equal(named.model.name, 'm1');
  const fromEnv = await resolveModel(
    {},
    { AIRLOCK_MODEL: 'm2', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
  );
  assert.equal(fromEnv.model.name, 'm2');
});

void test('demo walk-through: edit, question, delete, summary', async () => {
  const { model, close } = await startDemoModel();
  try {
    const tools = ['edit_file', 'ask_user', 'delete_file'].map((name) => ({
      name,
      description: name,
      parameters: {},
    }));
    const messages: ChatMessage[] = [{ role: 'user', content: 'Show me the demo' }];
    const step = async (): Promise<ModelTurn> => {
      const { turn } = await run(model, { messages: [...messages], tools });
      messages.push({
        role: 'assistant',
        content: turn.text,
        tool_calls: turn.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.arguments },
        })),
      });
      return turn;
    };
    const reply = (id: string | undefined, content: string): void => {
      assert.ok(id);
      messages.push({ role: 'tool', tool_call_id: id, content });
    };

    // First it looks at the sample files (no gate), so its changes fit them as they are.
    const t0 = await step();
    assert.match(
      t0.text,
      /offline demo model: scripted replies, no AI, nothing leaves your machine/,
    );
    assert.deepEqual(
      t0.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [
        ['read_file', { path: 'src/greet.js' }],
        ['list_files', { path: 'notes' }],
      ],
    );
    reply(t0.toolCalls[0]?.id, SAMPLE_FILES['src/greet.js']);
    reply(t0.toolCalls[1]?.id, 'notes/old-todo.md');

    const t1 = await step();
    assert.match(t1.text, /typo/);
    assert.equal(t1.toolCalls.length, 1);
    assert.equal(t1.toolCalls[0]?.name, 'edit_file');
    assert.deepEqual(JSON.parse(t1.toolCalls[0]?.arguments ?? ''), {
      path: 'src/greet.js',
      old_string: "'Helo, '",
      new_string: "'Hello, '",
    });
    reply(t1.toolCalls[0]?.id, 'Denied by the user. Reason: I want to see the question first');

    const t2 = await step();
    assert.match(t2.text, /you denied it/i);
    assert.match(t2.text, /I want to see the question first/);
    assert.equal(t2.toolCalls[0]?.name, 'ask_user');
    assert.deepEqual(JSON.parse(t2.toolCalls[0]?.arguments ?? ''), {
      question: 'Which greeting style should the README mention?',
      options: ['Friendly', 'Formal'],
    });
    reply(t2.toolCalls[0]?.id, 'Formal');

    const t3 = await step();
    assert.match(t3.text, /Formal/);
    assert.equal(t3.toolCalls[0]?.name, 'delete_file');
    assert.deepEqual(JSON.parse(t3.toolCalls[0]?.arguments ?? ''), { path: 'notes/old-todo.md' });
    reply(t3.toolCalls[0]?.id, 'Deleted notes/old-todo.md');

    const t4 = await step();
    assert.deepEqual(t4.toolCalls, []);
    assert.match(t4.text, /Formal/);
    assert.match(t4.text, /Edit of src\/greet\.js \('Helo, ' → 'Hello, '\): you denied it/);
    assert.match(t4.text, /I want to see the question first/);
    assert.match(t4.text, /Delete of notes\/old-todo\.md: applied \(Deleted notes\/old-todo\.md\)/);
  } finally {
    await close();
  }
});

void test('demo: an unrelated prompt still gets the walk-through, and says so', async () => {
  const { model, close } = await startDemoModel();
  try {
    const { turn } = await run(model, {
      messages: [{ role: 'user', content: 'Refactor the database layer' }],
      tools: [],
    });
    assert.match(turn.text, /offline demo model/);
    assert.match(turn.text, /Refactor the database layer/);
    assert.match(turn.text, /walk-through instead/);
    assert.equal(turn.toolCalls[0]?.name, 'read_file', 'it starts by looking at the files');
  } finally {
    await close();
  }
});
