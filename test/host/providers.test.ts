// Real providers' wire formats, replayed byte for byte from test/fixtures/providers/ (each fixture
// names the public source that documents its shape) by a loopback server. The first part drives
// the model client directly; the second drives each provider through the `airlock` CLI (built by
// `node esbuild.mjs`): the run pauses on the write, is approved from a second process, writes
// the file once and finishes, with the provider's usage counted.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { forgetEndpointCapabilities } from '../../host/model/endpoint-capabilities.js';
import { serverExplanation } from '../../host/model/error-text.js';
import {
  type ChatMessage,
  type ModelChunk,
  type ModelRequest,
  type ModelTurn,
} from '../../host/model/model.js';
import { modelError, streamAll } from '../support/model-stream.js';
import { OpenAIChatModel, type OpenAIChatModelOptions } from '../../host/model/openai-model.js';
import {
  CLI,
  jsonLines,
  outputOf,
  runProcess,
  SAMPLE,
  sandboxEnv,
  type Json,
  type Result,
} from '../support/cli-process.js';
import {
  loadFixture,
  PROVIDER_FIXTURES,
  ReplayServer,
  type ReplayScript,
  type RequestBody,
} from '../support/replay-server.js';

const TOOLS = ['read_file', 'write_file'].map((name) => ({
  name,
  description: name,
  parameters: { type: 'object', properties: {} },
}));
const REQ: ModelRequest = {
  messages: [{ role: 'user', content: 'Write the note.' }],
  tools: TOOLS,
};

// The values the fixtures carry, which must come back verbatim.
const GEMINI_SIGNATURE =
  'CiQBjz1rX2Hc5Ylq0s4pQ3dVt8mBf1uKcW9eRgTnA7yZxLs2dPoSUgGPPWtfNdVbL4qZ2Xr6mJkH3sE1cYaT0uW9iOp8lDf5gRbN7hVz=';
const GEMINI_PARALLEL_SIGNATURE =
  'EjQKMgEMOdbHJChLX75QUCJjyYlmPq8sWz4nRt1xKe6LbD2gHfVo9uAi3MyN0cTq5Jk7Sh8=';
const DEEPSEEK_REASONING =
  'The user wants a note. I will create notes/deepseek.md with write_file.';
const KIMI_REASONING = '用户想要一个笔记。I will write notes/kimi.md.';
const UTF8_CONTENT = 'Grüße aus Köln — ✓ 日本語 🙂\n';

interface Replay {
  server: ReplayServer;
  notices: string[];
  model(opts?: Partial<OpenAIChatModelOptions>): OpenAIChatModel;
}

async function withReplay(script: ReplayScript, body: (r: Replay) => Promise<void>): Promise<void> {
  const server = await ReplayServer.start(script);
  const notices: string[] = [];
  try {
    await body({
      server,
      notices,
      model: (opts = {}) =>
        new OpenAIChatModel({
          model: 'replayed',
          baseURL: server.baseURL,
          apiKey: 'sk-replay-key-0000',
          onNotice: (m) => notices.push(m),
          retryDelayMs: () => 1,
          ...opts,
        }),
    });
  } finally {
    await server.close();
  }
}

function run(
  model: OpenAIChatModel,
  request: ModelRequest = REQ,
): Promise<{ chunks: ModelChunk[]; turn: ModelTurn }> {
  return streamAll(model, request);
}

const textOf = (chunks: ModelChunk[], type: ModelChunk['type']): string =>
  chunks
    .filter((c) => c.type === type)
    .map((c) => c.text)
    .join('');

const argsOf = (turn: ModelTurn, i = 0): unknown => JSON.parse(turn.toolCalls[i]?.arguments ?? '');

// ---------------------------------------------------------------------------------------------
// Request refusals, the way each provider words them (validating what was sent back).

/** Mistral: any `stream_options` is an extra input (422 extra_forbidden). */
const mistralRefuses = (body: RequestBody): string | null =>
  'stream_options' in body ? 'mistral/422-stream-options.http' : null;

function assistantCalls(body: RequestBody): Record<string, unknown>[] {
  return (body.messages as Record<string, unknown>[]).filter(
    (m) => m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0,
  );
}

/** DeepSeek and Kimi (thinking): an assistant tool-call message must carry its reasoning_content. */
const reasoningRequired =
  (expected: string, refusal: string) =>
  (body: RequestBody): string | null =>
    assistantCalls(body).every((m) => m.reasoning_content === expected) ? null : refusal;

/** Gemini 3: the first call of each assistant tool-call message must carry its signature. */
const signatureRequired =
  (expected: string) =>
  (body: RequestBody): string | null =>
    assistantCalls(body).every((m) => {
      const first = (m.tool_calls as Record<string, unknown>[])[0] as {
        extra_content?: { google?: { thought_signature?: unknown } };
      };
      return first.extra_content?.google?.thought_signature === expected;
    })
      ? null
      : 'gemini/400-missing-thought-signature.http';

/** Strict providers: one tool result per call id, every id distinct. */
function distinctToolIds(body: RequestBody): string | null {
  const messages = body.messages as Record<string, unknown>[];
  const callIds = assistantCalls(body).flatMap((m) =>
    (m.tool_calls as { id: string }[]).map((c) => c.id),
  );
  const resultIds = messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id);
  const unique = (ids: unknown[]): boolean => new Set(ids).size === ids.length;
  const paired = resultIds.every((id) => callIds.includes(id as string));
  return unique(callIds) && unique(resultIds) && paired
    ? null
    : 'duplicate-ids/400-duplicate-tool-call-id.http';
}

// ---------------------------------------------------------------------------------------------

void describe('the replay corpus', () => {
  void it('every fixture names its public source and parses as an HTTP response', () => {
    const files = fs
      .readdirSync(PROVIDER_FIXTURES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.http'));
    assert.ok(files.length >= 40, `${files.length} fixtures`);
    for (const file of files) {
      const f = loadFixture(file);
      assert.ok(
        f.sources.every((s) => /^https:\/\/\S+/.test(s)),
        `${file}: each source is a public address`,
      );
      if (f.status === 200) {
        assert.match(f.body.toString('utf8'), /^(data|:)/m, `${file}: server-sent events`);
      }
    }
  });
});

void describe('the model client against replayed providers', () => {
  void it('OpenAI: arguments by index, usage from the chunk with choices: []', async () => {
    await withReplay({ steps: ['openai/tool-call.http'] }, async ({ model, server }) => {
      const { turn } = await run(model());
      assert.equal(turn.toolCalls.length, 1);
      assert.equal(turn.toolCalls[0]?.id, 'call_DdmO9pD3xa9XTPNJ32zg2hcA');
      assert.deepEqual(argsOf(turn), { path: 'notes/openai.md', content: 'Hello from OpenAI.\n' });
      assert.deepEqual(turn.usage, { prompt_tokens: 812, completion_tokens: 41 });
      assert.deepEqual(server.requests[0]?.stream_options, { include_usage: true });
    });
  });

  void it('Azure: filter chunks with empty choices or no delta are skipped', async () => {
    await withReplay({ steps: ['azure/final.http'] }, async ({ model }) => {
      const { chunks, turn } = await run(model());
      assert.equal(turn.text, 'I wrote notes/azure.md.');
      assert.equal(textOf(chunks, 'delta'), 'I wrote notes/azure.md.');
      assert.deepEqual(turn.usage, { prompt_tokens: 1010, completion_tokens: 10 });
      assert.equal(turn.extra, undefined, 'content_filter_results are not message fields');
    });
  });

  void it('Gemini: the thought_signature is kept on its call', async () => {
    await withReplay({ steps: ['gemini/tool-call.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.equal(turn.toolCalls.length, 1);
      assert.deepEqual(turn.toolCalls[0]?.extra, {
        extra_content: { google: { thought_signature: GEMINI_SIGNATURE } },
      });
      assert.equal(turn.toolCalls[0]?.id, 'function-call-14736532917391750341');
      assert.deepEqual(turn.usage, { prompt_tokens: 1204, completion_tokens: 96 });
    });
  });

  void it('Gemini: parallel calls one per chunk without index stay two calls', async () => {
    await withReplay({ steps: ['gemini/parallel-calls.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.deepEqual(
        turn.toolCalls.map((c) => [c.name, c.id]),
        [
          ['read_file', 'function-call-5419732208193004521'],
          ['write_file', 'function-call-5419732208193004522'],
        ],
      );
      assert.deepEqual(argsOf(turn, 0), { path: 'README.md' });
      assert.deepEqual(argsOf(turn, 1), {
        path: 'notes/gemini.md',
        content: 'Hello from Gemini, in parallel.\n',
      });
      assert.deepEqual(turn.toolCalls[0]?.extra, {
        extra_content: { google: { thought_signature: GEMINI_PARALLEL_SIGNATURE } },
      });
      assert.equal(turn.toolCalls[1]?.extra, undefined, 'only the first call has a signature');
    });
  });

  void it('Gemini: the same tool twice with index 0 and no id: two calls, two ids', async () => {
    await withReplay({ steps: ['gemini/same-tool-index-0.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.deepEqual(
        turn.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
        [
          ['read_file', { path: 'docs/guide.md' }],
          ['read_file', { path: 'src/greet.js' }],
        ],
      );
      const [a, b] = turn.toolCalls;
      assert.ok(a?.id && b?.id && a.id !== b.id, 'each call has its own id');
    });
  });

  void it('a {} placeholder followed by the full arguments gives the full arguments', async () => {
    await withReplay({ steps: ['placeholder/tool-call.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.equal(turn.toolCalls.length, 1);
      assert.deepEqual(argsOf(turn), {
        path: 'notes/placeholder.md',
        content: 'Written after a {} placeholder.\n',
      });
    });
  });

  void it('two calls with one id: the later one gets a distinct id of the same shape', async () => {
    await withReplay({ steps: ['duplicate-ids/tool-calls.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      const [first, second] = turn.toolCalls;
      assert.equal(first?.id, 'call_8e1c52a4f7b34d0e', 'the first keeps the provider id');
      assert.ok(second && second.id !== first?.id, `distinct ids: ${second?.id}`);
      assert.equal(second.id.length, first?.id.length);
      assert.match(second.id, /^call_8e1c52a4f7[0-9a-z]{6}$/);
      assert.equal(second.name, 'write_file');
    });
  });

  void it('Mistral: a refused stream_options is dropped, said once, and remembered', async () => {
    forgetEndpointCapabilities();
    await withReplay(
      { steps: ['mistral/tool-call.http', 'mistral/final.http'], reject: mistralRefuses },
      async ({ model, server, notices }) => {
        const { turn } = await run(model());
        assert.deepEqual(argsOf(turn), {
          path: 'notes/mistral.md',
          content: 'Hello from Mistral.\n',
        });
        assert.equal(turn.toolCalls[0]?.id, 'D681PevKs');
        assert.deepEqual(turn.usage, { prompt_tokens: 702, completion_tokens: 43 });
        assert.deepEqual(server.answered, [
          'mistral/422-stream-options.http',
          'mistral/tool-call.http',
        ]);
        assert.equal(notices.length, 1);
        assert.match(notices[0]!, /stream_options/);
        assert.match(notices[0]!, /Extra inputs are not permitted/);
        // Another model for the same endpoint, later in the process: not sent, not said again.
        const again = await run(model());
        assert.equal(again.turn.text, 'I wrote notes/mistral.md.');
        assert.equal(server.requests.length, 3);
        assert.equal('stream_options' in server.requests[2]!, false);
        assert.equal(notices.length, 1);
      },
    );
  });

  void it('DeepSeek: reasoning_content streams as reasoning and is kept to send back', async () => {
    await withReplay({ steps: ['deepseek/tool-call.http'] }, async ({ model }) => {
      const { chunks, turn } = await run(model());
      assert.equal(textOf(chunks, 'reasoning'), DEEPSEEK_REASONING);
      assert.equal(textOf(chunks, 'delta'), '', 'reasoning is not the answer');
      assert.equal(turn.reasoning, DEEPSEEK_REASONING);
      assert.deepEqual(turn.extra, { reasoning_content: DEEPSEEK_REASONING });
      assert.equal(turn.text, '');
      assert.deepEqual(argsOf(turn), {
        path: 'notes/deepseek.md',
        content: 'Hello from DeepSeek.\n',
      });
      assert.deepEqual(turn.usage, { prompt_tokens: 733, completion_tokens: 68 });
    });
  });

  void it('Kimi: reasoning_content kept; usage read from inside the finish choice', async () => {
    await withReplay({ steps: ['kimi/tool-call.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.deepEqual(turn.extra, { reasoning_content: KIMI_REASONING });
      assert.equal(turn.toolCalls[0]?.id, 'write_file:0');
      assert.deepEqual(turn.usage, { prompt_tokens: 688, completion_tokens: 57 });
    });
  });

  void it('Ollama: the `reasoning` field, a whole call in one chunk', async () => {
    await withReplay({ steps: ['ollama/tool-call.http'] }, async ({ model }) => {
      const { chunks, turn } = await run(model());
      assert.equal(textOf(chunks, 'reasoning'), 'Okay, the user wants a note.');
      assert.deepEqual(turn.extra, { reasoning: 'Okay, the user wants a note.' });
      assert.deepEqual(argsOf(turn), { path: 'notes/ollama.md', content: 'Hello from Ollama.\n' });
      assert.deepEqual(turn.usage, { prompt_tokens: 512, completion_tokens: 49 });
    });
  });

  void it('vLLM: a name chunk without arguments, then argument pieces', async () => {
    await withReplay({ steps: ['vllm/tool-call.http'] }, async ({ model }) => {
      const { turn } = await run(model());
      assert.equal(turn.toolCalls[0]?.name, 'write_file');
      assert.deepEqual(argsOf(turn), { path: 'notes/vllm.md', content: 'Hello from vLLM.\n' });
      assert.deepEqual(turn.extra, { reasoning_content: '\nThe user wants a note.\n' });
    });
  });

  for (const [provider, content, usage] of [
    ['llamacpp', 'Hello from llama.cpp.\n', [685, 49]],
    ['lmstudio', 'Hello from LM Studio.\n', [566, 47]],
    ['fireworks', 'Hello from Fireworks.\n', [719, 52]],
    ['openrouter', 'Hello from OpenRouter.\n', [834, 45]],
    ['groq', 'Hello from Groq.\n', [590, 35]],
  ] as const) {
    void it(`${provider}: one call, its arguments whole, usage counted`, async () => {
      await withReplay({ steps: [`${provider}/tool-call.http`] }, async ({ model }) => {
        const { turn } = await run(model());
        assert.equal(turn.toolCalls.length, 1);
        assert.equal(turn.toolCalls[0]?.name, 'write_file');
        assert.deepEqual(argsOf(turn), { path: `notes/${provider}.md`, content });
        assert.deepEqual(turn.usage, { prompt_tokens: usage[0], completion_tokens: usage[1] });
        assert.equal(turn.toolCalls[0]?.extra, undefined);
      });
    });
  }

  void it('a finish chunk with the connection left open ends the reply', async () => {
    await withReplay({ steps: ['finish-no-done/tool-call.http'] }, async ({ model }) => {
      // A stall would take the whole timeout and fail as a timeout; the finish idle ends it.
      const { turn } = await run(model({ timeoutMs: 120_000, maxRetries: 0 }));
      assert.deepEqual(argsOf(turn), {
        path: 'notes/finish.md',
        content: 'The stream never closed.\n',
      });
      assert.deepEqual(turn.usage, { prompt_tokens: 644, completion_tokens: 39 });
    });
  });

  void it('a stream dropped mid-reply is retried; the text is shown once', async () => {
    await withReplay(
      { steps: ['dropped/cut-mid-stream.http', 'dropped/tool-call.http'] },
      async ({ model, server, notices }) => {
        const { chunks, turn } = await run(model());
        assert.equal(server.requests.length, 2);
        assert.equal(textOf(chunks, 'delta'), 'Writing the note.', 'no text repeated');
        assert.equal(turn.text, 'Writing the note.');
        assert.deepEqual(argsOf(turn), {
          path: 'notes/dropped.md',
          content: 'Written after a retry.\n',
        });
        assert.equal(notices.length, 1);
        assert.match(notices[0]!, /cut mid-stream.*Retrying \(1 of 3\)/);
      },
    );
  });

  void it('a response that ends cleanly inside a tool call is asked for again', async () => {
    await withReplay(
      { steps: ['dropped/closed-mid-call.http', 'dropped/tool-call.http'] },
      async ({ model, server, notices }) => {
        const { turn } = await run(model());
        assert.equal(server.requests.length, 2);
        assert.deepEqual(argsOf(turn), {
          path: 'notes/dropped.md',
          content: 'Written after a retry.\n',
        });
        assert.match(notices[0] ?? '', /in the middle of a tool call/);
      },
    );
  });

  void it('dropped again and again: a connection ModelError once retries run out', async () => {
    const cut = 'dropped/cut-mid-stream.http';
    await withReplay({ steps: [cut, cut, cut] }, async ({ model, server }) => {
      const err = await modelError(run(model({ maxRetries: 2 })));
      assert.equal(err.kind, 'connection');
      assert.match(err.message, /cut mid-reply/);
      assert.match(err.message, /nothing of the reply ran/);
      assert.equal(server.requests.length, 3);
    });
  });

  void it('OpenRouter: an error event mid-stream is retried, and quoted when it persists', async () => {
    const error = 'openrouter/error-mid-stream.http';
    await withReplay(
      { steps: [error, 'openrouter/tool-call.http'] },
      async ({ model, notices }) => {
        const { turn } = await run(model());
        assert.equal(turn.toolCalls[0]?.name, 'write_file');
        assert.match(notices[0] ?? '', /Provider disconnected unexpectedly/);
      },
    );
    await withReplay({ steps: [error, error] }, async ({ model }) => {
      const err = await modelError(run(model({ maxRetries: 1 })));
      assert.equal(err.kind, 'server');
      assert.match(err.message, /Provider disconnected unexpectedly/);
    });
  });

  void it('429 with Retry-After, then success', async () => {
    await withReplay(
      { steps: ['errors/429-retry-after.http', 'openai/tool-call.http'] },
      async ({ model, server }) => {
        const { turn } = await run(model());
        assert.equal(turn.toolCalls[0]?.name, 'write_file');
        assert.equal(server.requests.length, 2);
      },
    );
  });

  void it('500, then success', async () => {
    await withReplay(
      { steps: ['errors/500-server-error.http', 'openai/final.http'] },
      async ({ model, server }) => {
        const { turn } = await run(model());
        assert.equal(turn.text, 'I wrote notes/openai.md.');
        assert.equal(server.requests.length, 2);
      },
    );
  });

  void it('server-sent events split inside multi-byte characters decode intact', async () => {
    await withReplay(
      { steps: ['utf8-split/tool-call.http', 'utf8-split/final.http'] },
      async ({ model }) => {
        const first = await run(model());
        assert.deepEqual(argsOf(first.turn), { path: 'notes/utf8.md', content: UTF8_CONTENT });
        const second = await run(model());
        assert.equal(second.turn.text, 'Ich schrieb notes/utf8.md — fertig ✓');
        assert.ok(!second.turn.text.includes('\uFFFD'));
      },
    );
  });

  void it('provider fields on messages and tool calls are sent as given', async () => {
    await withReplay({ steps: ['openai/final.http'] }, async ({ model, server }) => {
      const assistant = {
        role: 'assistant',
        content: null,
        reasoning_content: 'kept as is',
        reasoning_details: [{ type: 'reasoning.text', text: 'x', index: 0 }],
        tool_calls: [
          {
            id: 'function-call-1',
            type: 'function',
            function: { name: 'read_file', arguments: '{"path":"README.md"}' },
            extra_content: { google: { thought_signature: 'c2ln' } },
          },
        ],
      };
      const messages = [
        { role: 'user', content: 'hi' },
        assistant,
        { role: 'tool', tool_call_id: 'function-call-1', content: '# readme' },
      ] as unknown as ChatMessage[];
      await run(model(), { messages, tools: TOOLS });
      assert.deepEqual(server.requests[0]?.messages, messages);
    });
  });
});

void describe('error messages quote the server, whatever its body, and name what to fix', () => {
  const cases: [fixture: string, kind: string, said: RegExp, fix: RegExp][] = [
    [
      'gemini/400-missing-thought-signature.http',
      'bad_request',
      /Function call is missing a thought_signature/,
      /airlock\.model/,
    ],
    [
      'deepseek/400-missing-reasoning-content.http',
      'bad_request',
      /Missing `reasoning_content` field/,
      /AIRLOCK_MODEL/,
    ],
    [
      'kimi/400-missing-reasoning-content.http',
      'bad_request',
      /reasoning_content is missing in assistant tool call/,
      /airlock\.baseURL/,
    ],
    [
      'duplicate-ids/400-duplicate-tool-call-id.http',
      'bad_request',
      /Duplicate value for 'tool_call_id'/,
      /airlock\.model/,
    ],
    ['errors/400-message-only.http', 'bad_request', /No models loaded/, /airlock\.model/],
    ['errors/404-fastapi-detail.http', 'bad_request', /said: "Not Found"/, /airlock\.baseURL/],
    [
      'errors/404-ollama-error-string.http',
      'bad_request',
      /not found, try pulling it first/,
      /AIRLOCK_MODEL/,
    ],
    ['errors/502-html.http', 'server', /said: "502 Bad Gateway"/, /logs/],
    ['errors/500-server-error.http', 'server', /The server had an error while processing/, /logs/],
    ['errors/429-retry-after.http', 'rate_limit', /Rate limit reached for model/, /higher limit/],
  ];
  for (const [fixture, kind, said, fix] of cases) {
    void it(fixture, async () => {
      await withReplay({ steps: [fixture] }, async ({ model, server }) => {
        const err = await modelError(run(model({ maxRetries: 0 })));
        assert.equal(err.kind, kind);
        assert.match(err.message, said);
        assert.match(err.message, fix);
        assert.ok(err.message.includes(server.baseURL), 'names the endpoint');
        assert.doesNotMatch(err.message, /no body|<html|<center/);
        assert.ok(!err.message.includes('sk-replay-key-0000'));
      });
    });
  }

  void it('the explanation in every body shape', () => {
    const mistral = loadFixture('mistral/422-stream-options.http').body.toString('utf8');
    assert.equal(
      serverExplanation(mistral),
      'body.stream_options: Extra inputs are not permitted (extra_forbidden)',
    );
    // Mistral has also sent `message` as a JSON text (mistralai/platform-docs-public #7).
    assert.equal(
      serverExplanation({
        object: 'error',
        message:
          '{"detail":[{"type":"extra_forbidden","loc":["body","frequency_penalty"],"msg":"Extra inputs are not permitted"}]}',
      }),
      'body.frequency_penalty: Extra inputs are not permitted (extra_forbidden)',
    );
    assert.equal(serverExplanation({ detail: 'Not Found' }), 'Not Found');
    assert.equal(serverExplanation({ error: 'model "x" not found' }), 'model "x" not found');
    assert.equal(serverExplanation('upstream connect error'), 'upstream connect error');
    assert.equal(
      serverExplanation([{ error: { message: 'a' } }, { error: { message: 'b' } }]),
      'a; b',
    );
    assert.equal(serverExplanation({ error: { code: 500 } }), undefined);
    assert.equal(serverExplanation(''), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the CLI: pause on the write, approve from another process, finish.

const sandboxes: string[] = [];
after(() => {
  for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
});

interface Scenario {
  provider: string;
  model: string;
  steps: string[];
  reject?: ReplayScript['reject'];
  write: { path: string; content: string };
  /** Tokens of the whole run: both model turns. */
  usage: [prompt: number, completion: number];
  finalText: string;
  check?: (server: ReplayServer, run: Result, resume: Result) => void;
}

const OPENAI_FINAL = 'openai/final.http';
const note = (provider: string, content: string): Scenario['write'] => ({
  path: `notes/${provider}.md`,
  content,
});

const SCENARIOS: Scenario[] = [
  {
    provider: 'OpenAI',
    model: 'gpt-4o-mini',
    steps: ['openai/tool-call.http', OPENAI_FINAL],
    write: note('openai', 'Hello from OpenAI.\n'),
    usage: [812 + 880, 41 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: 'Azure OpenAI',
    model: 'my-gpt-4o-mini-deployment',
    steps: ['azure/tool-call.http', 'azure/final.http'],
    write: note('azure', 'Hello from Azure OpenAI.\n'),
    usage: [955 + 1010, 44 + 10],
    finalText: 'I wrote notes/azure.md.',
  },
  {
    provider: 'Gemini 3 (thought_signature sent back)',
    model: 'gemini-3-pro-preview',
    steps: ['gemini/tool-call.http', 'gemini/final.http'],
    reject: signatureRequired(GEMINI_SIGNATURE),
    write: note('gemini', 'Hello from Gemini.\n'),
    usage: [1204 + 1390, 96 + 12],
    finalText: 'I wrote notes/gemini.md.',
  },
  {
    provider: 'Gemini parallel calls without index',
    model: 'gemini-3-flash-preview',
    steps: ['gemini/parallel-calls.http', 'gemini/final.http'],
    reject: signatureRequired(GEMINI_PARALLEL_SIGNATURE),
    write: note('gemini', 'Hello from Gemini, in parallel.\n'),
    usage: [1322 + 1390, 88 + 12],
    finalText: 'I wrote notes/gemini.md.',
    check: (server) => {
      const last = server.requests.at(-1)!.messages as Record<string, unknown>[];
      assert.equal(last.filter((m) => m.role === 'tool').length, 2, 'both calls answered');
    },
  },
  {
    provider: 'Mistral (stream_options refused)',
    model: 'mistral-large-latest',
    steps: ['mistral/tool-call.http', 'mistral/final.http'],
    reject: mistralRefuses,
    write: note('mistral', 'Hello from Mistral.\n'),
    usage: [702 + 781, 43 + 10],
    finalText: 'I wrote notes/mistral.md.',
    check: (server, runResult, resumeResult) => {
      // Each process learns it once, says so in one line, and asks again without the option.
      assert.deepEqual(server.answered, [
        'mistral/422-stream-options.http',
        'mistral/tool-call.http',
        'mistral/422-stream-options.http',
        'mistral/final.http',
      ]);
      for (const r of [runResult, resumeResult]) {
        const lines = r.stderr.split('\n').filter((l) => /stream_options/.test(l));
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, /no longer sends it/);
      }
    },
  },
  {
    provider: 'DeepSeek thinking (reasoning_content sent back)',
    model: 'deepseek-reasoner',
    steps: ['deepseek/tool-call.http', 'deepseek/final.http'],
    reject: reasoningRequired(DEEPSEEK_REASONING, 'deepseek/400-missing-reasoning-content.http'),
    write: note('deepseek', 'Hello from DeepSeek.\n'),
    usage: [733 + 820, 68 + 14],
    finalText: 'I wrote notes/deepseek.md.',
  },
  {
    provider: 'Kimi thinking (reasoning_content sent back)',
    model: 'kimi-k2-thinking',
    steps: ['kimi/tool-call.http', 'kimi/final.http'],
    reject: reasoningRequired(KIMI_REASONING, 'kimi/400-missing-reasoning-content.http'),
    write: note('kimi', 'Hello from Kimi.\n'),
    usage: [688 + 760, 57 + 11],
    finalText: 'I wrote notes/kimi.md.',
  },
  {
    provider: '{} placeholder before the arguments',
    model: 'gemini-2.5-flash',
    steps: ['placeholder/tool-call.http', OPENAI_FINAL],
    write: note('placeholder', 'Written after a {} placeholder.\n'),
    usage: [640 + 880, 37 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: 'two parallel calls with one id',
    model: 'glm-4.6',
    steps: ['duplicate-ids/tool-calls.http', OPENAI_FINAL],
    reject: distinctToolIds,
    write: note('duplicate', 'Two calls, one id.\n'),
    usage: [901 + 880, 62 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: 'finish chunk, no [DONE], connection left open',
    model: 'glm-5-turbo',
    steps: ['finish-no-done/tool-call.http', OPENAI_FINAL],
    write: note('finish', 'The stream never closed.\n'),
    usage: [644 + 880, 39 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: 'connection dropped mid-stream',
    model: 'gpt-4o-mini',
    steps: ['dropped/cut-mid-stream.http', 'dropped/tool-call.http', OPENAI_FINAL],
    write: note('dropped', 'Written after a retry.\n'),
    usage: [812 + 880, 38 + 9],
    finalText: 'I wrote notes/openai.md.',
    check: (server, runResult) => {
      assert.equal(server.count('dropped/cut-mid-stream.http'), 1);
      assert.match(runResult.stderr, /cut mid-stream/);
    },
  },
  {
    provider: 'Groq (usage under x_groq)',
    model: 'llama-3.3-70b-versatile',
    steps: ['groq/tool-call.http', 'groq/final.http'],
    write: note('groq', 'Hello from Groq.\n'),
    usage: [590 + 640, 35 + 9],
    finalText: 'I wrote notes/groq.md.',
  },
  {
    provider: 'Ollama',
    model: 'qwen3:8b',
    steps: ['ollama/tool-call.http', 'ollama/final.http'],
    write: note('ollama', 'Hello from Ollama.\n'),
    usage: [512 + 580, 49 + 8],
    finalText: 'I wrote notes/ollama.md.',
  },
  {
    provider: 'vLLM',
    model: 'Qwen/Qwen3-32B',
    steps: ['vllm/tool-call.http', 'vllm/final.http'],
    write: note('vllm', 'Hello from vLLM.\n'),
    usage: [688 + 760, 71 + 10],
    finalText: 'I wrote notes/vllm.md.',
  },
  {
    provider: 'llama.cpp server',
    model: 'qwen2.5-7b-instruct',
    steps: ['llamacpp/tool-call.http', 'llamacpp/final.http'],
    write: note('llamacpp', 'Hello from llama.cpp.\n'),
    usage: [685 + 745, 49 + 12],
    finalText: 'I wrote notes/llamacpp.md.',
  },
  {
    provider: 'LM Studio',
    model: 'qwen2.5-coder-7b-instruct',
    steps: ['lmstudio/tool-call.http', 'lmstudio/final.http'],
    write: note('lmstudio', 'Hello from LM Studio.\n'),
    usage: [566 + 630, 47 + 10],
    finalText: 'I wrote notes/lmstudio.md.',
  },
  {
    provider: 'OpenRouter',
    model: 'openai/gpt-4o-mini',
    steps: ['openrouter/tool-call.http', 'openrouter/final.http'],
    write: note('openrouter', 'Hello from OpenRouter.\n'),
    usage: [834 + 901, 45 + 11],
    finalText: 'I wrote notes/openrouter.md.',
  },
  {
    provider: 'OpenRouter error event mid-stream',
    model: 'openai/gpt-4o-mini',
    steps: [
      'openrouter/error-mid-stream.http',
      'openrouter/tool-call.http',
      'openrouter/final.http',
    ],
    write: note('openrouter', 'Hello from OpenRouter.\n'),
    usage: [834 + 901, 45 + 11],
    finalText: 'I wrote notes/openrouter.md.',
    check: (_server, runResult) =>
      assert.match(runResult.stderr, /Provider disconnected unexpectedly/),
  },
  {
    provider: 'Fireworks',
    model: 'accounts/fireworks/models/glm-5p2',
    steps: ['fireworks/tool-call.http', 'fireworks/final.http'],
    write: note('fireworks', 'Hello from Fireworks.\n'),
    usage: [719 + 790, 52 + 10],
    finalText: 'I wrote notes/fireworks.md.',
  },
  {
    provider: '429 with Retry-After',
    model: 'llama-3.3-70b-versatile',
    steps: ['errors/429-retry-after.http', 'openai/tool-call.http', OPENAI_FINAL],
    write: note('openai', 'Hello from OpenAI.\n'),
    usage: [812 + 880, 41 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: '500, then success',
    model: 'gpt-4o-mini',
    steps: ['errors/500-server-error.http', 'openai/tool-call.http', OPENAI_FINAL],
    write: note('openai', 'Hello from OpenAI.\n'),
    usage: [812 + 880, 41 + 9],
    finalText: 'I wrote notes/openai.md.',
  },
  {
    provider: 'SSE split mid-UTF-8',
    model: 'gpt-4o-mini',
    steps: ['utf8-split/tool-call.http', 'utf8-split/final.http'],
    write: note('utf8', UTF8_CONTENT),
    usage: [823 + 890, 52 + 12],
    finalText: 'Ich schrieb notes/utf8.md — fertig ✓',
  },
];

async function driveThroughCli(s: Scenario): Promise<void> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-providers-')));
  sandboxes.push(dir);
  const ws = path.join(dir, 'ws');
  fs.cpSync(SAMPLE, ws, { recursive: true });
  const server = await ReplayServer.start({ steps: s.steps, reject: s.reject });
  try {
    const env = sandboxEnv(dir, {
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: 'sk-replay',
    });
    const cli = (args: string[]): Promise<Result> =>
      runProcess(process.execPath, [CLI, ...args, '--db', path.join(dir, 'airlock.db')], {
        cwd: ws,
        env,
      });
    const file = (): string | null => {
      const p = path.join(ws, s.write.path);
      return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
    };
    const first = await cli(['run', 'Write the note.', '--model', s.model, '--json']);
    const where = `\n--- stdout\n${first.stdout}\n--- stderr\n${first.stderr}\n--- answered ${server.answered.join(', ')}`;
    assert.equal(first.code, 3, `paused on the gate${where}`);
    const paused = outputOf(first);
    assert.equal(paused.status.reason, 'approval_required');
    const gates = jsonLines(first.stdout).filter((e) => e.type === 'approval');
    assert.equal(gates.length, 1, where);
    const gate = gates[0] as Json & { input: Json; approval_id: string };
    assert.equal(gate.tool, 'write_file');
    assert.deepEqual(gate.input, s.write);
    assert.equal(file(), null, 'nothing written before the approval');

    const resumed = await cli([
      'resume',
      paused.run_id as string,
      '--approve',
      gate.approval_id,
      '--json',
    ]);
    const whereResumed = `\n--- stdout\n${resumed.stdout}\n--- stderr\n${resumed.stderr}\n--- answered ${server.answered.join(', ')}`;
    assert.equal(resumed.code, 0, `finished${whereResumed}`);
    const done = outputOf(resumed);
    assert.equal(done.status.code, 'success', whereResumed);
    assert.equal(done.output, s.finalText);
    assert.equal(file(), s.write.content);
    const writes = [first, resumed]
      .flatMap((r) => jsonLines(r.stdout))
      .filter((e) => e.type === 'tool_result' && e.tool === 'write_file');
    assert.equal(writes.length, 1, 'written once');
    assert.equal(writes[0]?.ok, true);
    const usage = done.usage as Record<string, number>;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], s.usage, 'usage counted');
    assert.equal(server.count(s.steps.at(-1)!), 1, 'the final answer was asked for once');
    s.check?.(server, first, resumed);
  } finally {
    await server.close();
  }
}

void describe('each provider through the CLI: pause, approve, finish', { concurrency: 6 }, () => {
  assert.ok(SCENARIOS.length >= 20, `${SCENARIOS.length} provider shapes`);
  for (const s of SCENARIOS) void it(s.provider, () => driveThroughCli(s));
});
