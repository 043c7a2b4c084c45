// Resource limits (SPEC §9, issue 10 finding 5): tool calls per turn, bytes per tool argument,
// model output per reply, bytes read by read_file, and the model request timeout. Each limit is
// driven the way a hostile or broken endpoint or repository would hit it: real loopback servers,
// the real `openai` client, real files, and the real CLI process for `--timeout`.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { parseCommand, UsageError } from '../../host/cli/args.js';
import type { Model, ModelTurn } from '../../host/model/model.js';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import type { Reply, ScriptedToolCall } from '../../host/model/scripted-server.js';
import type { ToolContext } from '../../host/runtime/tool.js';
import { Settings } from '../../host/settings-schema.js';
import { fileTools, readFileTool } from '../../host/tools/files.js';
import { workspaceAgent } from '../../host/workspace-agent.js';
import { loadConfig } from '../../host/workspace-config.js';
import { drain, ofType, toolResults, world, type Outcome } from '../support/agent-world.js';
import { cleanEnv, CLI, outputOf, runProcess, sandboxEnv } from '../support/cli-process.js';
import { onCleanup, tempDir } from '../support/scratch.js';

const KB = 1024;
const MB = 1024 * KB;

/** The workspace agent (the one the CLI and the editor run) with these settings. */
function agentWith(
  w: { dir: string; store: Parameters<typeof workspaceAgent>[0]['store'] },
  model: Model,
  settings: Partial<Settings>,
) {
  return workspaceAgent({
    workspace: w.dir,
    store: w.store,
    settings: Settings.parse(settings),
    model: () => Promise.resolve(model),
  });
}

function assertModelError(o: Outcome, pattern: RegExp): void {
  assert.equal(o.output.status.code, 'error', o.output.status.message);
  assert.equal(o.output.status.reason, 'model_error', o.output.status.message);
  assert.match(o.output.status.message, pattern);
}

function writes(n: number): ScriptedToolCall[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `w${i}`,
    name: 'write_file',
    arguments: { path: `out/${i}.txt`, content: `file ${i}\n` },
  }));
}

/** Every byte of every file below `dir`, as one string per file. */
function filesBelow(dir: string): { file: string; text: string }[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const file = path.join(d.parentPath, d.name);
      return { file, text: fs.readFileSync(file).toString('latin1') };
    });
}

// ---------------------------------------------------------------------------------------------
// Loopback servers a scripted server cannot be: silent, stalling, flooding.

interface Loopback {
  baseURL: string;
  /** Requests received (their headers: a retry is a new request). */
  requests: number;
  /** Bytes written to clients so far. */
  sent: number;
  close(): Promise<void>;
}

async function listen(server: ReturnType<typeof createNetServer>, state: Loopback) {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onCleanup(() => state.close());
  return state;
}

function blank(): Loopback {
  return { baseURL: '', requests: 0, sent: 0, close: () => Promise.resolve() };
}

/** Accepts every connection, reads the request and never answers. */
function silentServer(): Promise<Loopback> {
  const state = blank();
  const server = createNetServer((socket) => {
    let head = '';
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      state.requests++;
      socket.off('data', onData);
    };
    socket.on('data', onData);
  });
  return listen(server, state);
}

/** Answers with stream headers and `first`, then nothing more, ever. */
function stallingServer(first: string): Promise<Loopback> {
  const state = blank();
  const server = createHttpServer((req, res) => {
    state.requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(first);
  });
  return listen(server as unknown as ReturnType<typeof createNetServer>, state);
}

/** Answers with `first`, then `piece` again and again as fast as the client reads, until it hangs up. */
function floodingServer(first: string, piece: string): Promise<Loopback> {
  const state = blank();
  const server = createHttpServer((req, res) => {
    state.requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    void pump(res, first, piece, state);
  });
  return listen(server as unknown as ReturnType<typeof createNetServer>, state);
}

async function pump(res: ServerResponse, first: string, piece: string, state: Loopback) {
  let closed = false;
  res.on('close', () => (closed = true));
  res.on('error', () => undefined);
  let next = first;
  while (!closed) {
    state.sent += Buffer.byteLength(next);
    if (!res.write(next)) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    next = piece;
  }
}

function sse(delta: object): string {
  return `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
}

function clientFor(server: { baseURL: string }, maxRetries = 0): OpenAIChatModel {
  return new OpenAIChatModel({ model: 'm', baseURL: server.baseURL, apiKey: 'k', maxRetries });
}

// ---------------------------------------------------------------------------------------------

void describe('tool calls per turn (airlock.maxToolCallsPerTurn)', () => {
  void it('a turn with more calls than the limit ends the run; none of them runs or gates', async () => {
    const w = await world([{ toolCalls: writes(4) }, { text: 'never asked' }]);
    // write_file allowed without asking: any call that got through would write its file.
    const o = await drain(
      agentWith(w, w.model, {
        maxToolCallsPerTurn: 3,
        policy: [{ tool: 'write_file', action: 'allow' }],
      }).run({ prompt: 'write four files' }),
    );
    assertModelError(o, /airlock\.maxToolCallsPerTurn/);
    assert.match(o.output.status.message, /None of them ran/);
    assert.deepEqual(ofType(o, 'tool_call'), []);
    assert.deepEqual(ofType(o, 'tool_result'), []);
    assert.deepEqual(ofType(o, 'approval'), []);
    assert.deepEqual(o.output.pending, []);
    assert.equal(fs.existsSync(path.join(w.dir, 'out')), false, 'no file was written');
    assert.equal(w.server.requests.length, 1);
  });

  void it('as many calls as the limit all run', async () => {
    const w = await world([{ toolCalls: writes(3) }, { text: 'done' }]);
    const o = await drain(
      agentWith(w, w.model, {
        maxToolCallsPerTurn: 3,
        policy: [{ tool: 'write_file', action: 'allow' }],
      }).run({ prompt: 'write three files' }),
    );
    assert.equal(o.output.status.code, 'success', o.output.status.message);
    assert.deepEqual(fs.readdirSync(path.join(w.dir, 'out')).sort(), ['0.txt', '1.txt', '2.txt']);
  });

  void it('the agent loop refuses it too, whatever model produced the turn', async () => {
    const w = await world([]);
    const turn: ModelTurn = {
      text: '',
      toolCalls: writes(5).map((c) => ({
        id: c.id!,
        name: c.name,
        arguments: JSON.stringify(c.arguments),
      })),
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    };
    const model: Model = {
      name: 'fake',
      async *stream() {
        return turn;
      },
    };
    const o = await drain(
      agentWith(w, model, {
        maxToolCallsPerTurn: 4,
        policy: [{ tool: 'write_file', action: 'allow' }],
      }).run({ prompt: 'go' }),
    );
    assertModelError(
      o,
      /asked for 5 tool calls in one turn; the limit is 4 \(airlock\.maxToolCallsPerTurn/,
    );
    assert.deepEqual(ofType(o, 'tool_call'), []);
    assert.equal(fs.existsSync(path.join(w.dir, 'out')), false);
  });
});

void describe('bytes per tool argument (airlock.maxArgumentBytes)', () => {
  void it('an oversized call is refused with a tool error, and nothing stored holds it', async () => {
    const canary = 'CANARY-oversized-argument-7f3a';
    const content = `${canary}\n${'x'.repeat(300 * KB)}`;
    const huge: Reply = {
      toolCalls: [
        { id: 'big', name: 'write_file', arguments: { path: 'big.txt', content } },
        { id: 'ok', name: 'read_file', arguments: { path: 'small.txt' } },
      ],
      chunkSize: 8 * KB,
    };
    const w = await world([huge, { text: 'I will write it in parts.' }]);
    fs.writeFileSync(path.join(w.dir, 'small.txt'), 'small\n');
    const o = await drain(
      agentWith(w, w.model, { maxArgumentBytes: 64 * KB }).run({ prompt: 'write a big file' }),
    );
    assert.equal(o.output.status.code, 'success', o.output.status.message);
    // The model read why, named with the setting; the other call of the turn ran.
    const results = toolResults(w.server, 1);
    assert.match(results.get('big') ?? '', /more than the 64 KB.*airlock\.maxArgumentBytes/);
    assert.match(results.get('big') ?? '', /nothing ran/);
    assert.equal(results.get('ok'), 'small\n');
    const refused = ofType(o, 'tool_result').find((e) => e.call_id === 'big');
    assert.equal(refused?.ok, false);
    assert.deepEqual(ofType(o, 'approval'), [], 'a refused call never reaches a gate');
    assert.equal(fs.existsSync(path.join(w.dir, 'big.txt')), false);
    // What the model is sent back of its own call: "{}", not the 300 KB.
    const assistant = w.server.requests[1]!.messages.find((m) => m.role === 'assistant');
    const sentBack = JSON.stringify(assistant);
    assert.ok(!sentBack.includes(canary), 'the oversized arguments are not sent back');
    assert.ok(sentBack.length < 2 * KB, `assistant message is ${sentBack.length} bytes`);
    // Nothing in the database folder (journal, snapshot) holds any byte of the argument.
    const stored = filesBelow(path.dirname(w.dbFile));
    assert.ok(stored.length > 0);
    for (const { file, text } of stored) assert.ok(!text.includes(canary), `${file} holds it`);
    assert.ok(!JSON.stringify(o.events).includes(canary), 'no event holds it');
  });

  void it('the model client drops oversized arguments as they stream, keeping their size', async () => {
    const w = await world([
      {
        toolCalls: [
          { id: 'a', name: 'write_file', arguments: { path: 'a', content: 'y'.repeat(100 * KB) } },
        ],
        chunkSize: 4 * KB,
      },
    ]);
    const gen = w.model.stream({
      messages: [{ role: 'user', content: 'hi' }],
      tools: [],
      // Dropped bytes are not kept, so they do not count against the output limit either.
      limits: { maxArgumentBytes: 10 * KB, maxOutputBytes: 50 * KB },
    });
    let step = await gen.next();
    while (!step.done) step = await gen.next();
    const [call] = step.value.toolCalls;
    assert.equal(call?.arguments, '{}');
    assert.ok((call?.tooLarge ?? 0) > 100 * KB, `tooLarge: ${call?.tooLarge}`);
  });
});

void describe('model output per reply (airlock.maxOutputBytes)', () => {
  const limits = { maxOutputBytes: 64 * KB, maxArgumentBytes: 16 * KB };

  void it('an endless text stream is cut with a clear error and the request aborted', async () => {
    const server = await floodingServer(
      sse({ role: 'assistant' }),
      sse({ content: 'z'.repeat(KB) }),
    );
    const w = await world([]);
    const o = await drain(agentWith(w, clientFor(server), limits).run({ prompt: 'talk' }));
    assertModelError(o, /passed 64 KB of text and tool arguments.*airlock\.maxOutputBytes/);
    assert.match(o.output.status.message, /cut off and nothing of it ran/);
    // The server saw the client hang up: it stopped being read long before anything unbounded.
    await server.close();
    assert.ok(server.sent < 32 * MB, `the server got to send ${server.sent} bytes`);
  });

  void it('one endless server-sent event (no line end) is cut before the client buffers it', async () => {
    const open =
      'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"';
    const server = await floodingServer(open, 'a'.repeat(16 * KB));
    const w = await world([]);
    // 1 MB of output: one event may be about 2 MB, the whole reply on the wire 64 MB.
    const settings = { maxOutputBytes: 1 * MB, maxArgumentBytes: 16 * KB };
    const o = await drain(agentWith(w, clientFor(server), settings).run({ prompt: 'talk' }));
    assertModelError(o, /sent far more than 1 MB for one reply.*airlock\.maxOutputBytes/);
    await server.close();
    // Cut at the size of one event (plus what the sockets buffer), long before 64 MB.
    assert.ok(server.sent < 32 * MB, `the server got to send ${server.sent} bytes`);
  });

  void it('endless tool-call arguments are cut too (dropped past maxArgumentBytes)', async () => {
    const server = await floodingServer(
      sse({
        tool_calls: [
          {
            index: 0,
            id: 'x',
            type: 'function',
            function: { name: 'write_file', arguments: '{"content":"' },
          },
        ],
      }),
      sse({ tool_calls: [{ index: 0, function: { arguments: 'q'.repeat(KB) } }] }),
    );
    const w = await world([]);
    const o = await drain(agentWith(w, clientFor(server), limits).run({ prompt: 'write' }));
    assertModelError(o, /airlock\.maxOutputBytes/);
    assert.deepEqual(ofType(o, 'tool_call'), []);
    await server.close();
    assert.ok(server.sent < 32 * MB, `the server got to send ${server.sent} bytes`);
  });
});

void describe('read_file reads at most airlock.maxReadBytes', () => {
  const ctx = {} as ToolContext;

  void it('a 1 GB file: only the first part is read from disk, with a note (peak RSS stays small)', async () => {
    const dir = tempDir('huge');
    const file = path.join(dir, 'huge.txt');
    const line = 'the quick brown fox jumps over the lazy dog\n';
    fs.writeFileSync(file, line.repeat(Math.ceil((300 * KB) / line.length)));
    fs.truncateSync(file, 1024 * MB); // sparse: instant, and zeros after the text
    const filesTs = pathToFileURL(path.resolve(__dirname, '../../host/tools/files.ts')).href;
    const script = `
      const mod = await import(${JSON.stringify(filesTs)});
      const { readFileTool } = mod.readFileTool ? mod : mod.default;
      const out = await readFileTool(${JSON.stringify(dir)}).handler({ path: 'huge.txt' }, {});
      process.stdout.write(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS, length: out.length, tail: out.slice(-400) }));
    `;
    const r = await runProcess(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: path.resolve(__dirname, '../..'), env: cleanEnv() },
    );
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { maxRSS: number; length: number; tail: string };
    // maxRSS is in kilobytes. Reading the whole file would take at least 1 GB.
    assert.ok(got.maxRSS < 400 * KB, `peak RSS ${Math.round(got.maxRSS / KB)} MB`);
    assert.ok(got.length <= 256 * KB + 1000, `returned ${got.length} characters`);
    assert.match(got.tail, /huge\.txt is 1024 MB: only its first 262144 bytes were read/);
    assert.match(got.tail, /airlock\.maxReadBytes/);
  });

  void it('the limit comes from the settings; a cut multi-byte character is left out', async () => {
    const dir = tempDir('read');
    fs.writeFileSync(path.join(dir, 'accents.txt'), 'é'.repeat(100)); // 200 bytes
    const read = fileTools(dir, { maxReadBytes: 51 }).find((t) => t.name === 'read_file')!;
    const out = (await read.handler({ path: 'accents.txt' }, ctx)) as string;
    assert.ok(
      out.startsWith(`${'é'.repeat(25)}\n… (accents.txt is 200 bytes: only its first 51`),
      out,
    );
    assert.equal(await read.handler({ path: 'accents.txt' }, ctx), out, 'stable');
    const whole = readFileTool(dir, { maxReadBytes: 200 });
    assert.equal(await whole.handler({ path: 'accents.txt' }, ctx), 'é'.repeat(100));
  });

  void it('binary files (NUL or invalid UTF-8 in the part read) are detected and not sent', async () => {
    const dir = tempDir('bin');
    fs.writeFileSync(
      path.join(dir, 'nul.bin'),
      Buffer.concat([Buffer.from('text'), Buffer.alloc(1), Buffer.from('secret text')]),
    );
    fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from('caf\xe9 secret text', 'latin1'));
    // Text at first, a NUL past the part read: only the part read decides.
    fs.writeFileSync(
      path.join(dir, 'late.txt'),
      Buffer.concat([Buffer.from('a'.repeat(64)), Buffer.alloc(1)]),
    );
    const read = readFileTool(dir, { maxReadBytes: 32 });
    for (const name of ['nul.bin', 'latin1.txt']) {
      const out = (await read.handler({ path: name }, ctx)) as string;
      assert.match(
        out,
        new RegExp(`^${name.replace('.', '\\.')} is a binary file \\(\\d+ bytes\\); not shown\\.$`),
      );
      assert.ok(!out.includes('secret'));
    }
    assert.match(
      (await read.handler({ path: 'late.txt' }, ctx)) as string,
      /^a{32}\n… \(late\.txt is 65 bytes/,
    );
  });
});

void describe('model request timeout (airlock.requestTimeout, --timeout)', () => {
  void it('an endpoint that never answers ends the run once the setting has passed, without retries', async () => {
    const server = await silentServer();
    const w = await world([]);
    // The client's default retries (3): a timeout is still not retried.
    const o = await drain(
      agentWith(w, clientFor(server, 3), { requestTimeout: 1 }).run({ prompt: 'hi' }),
    );
    assertModelError(o, /did not respond within 1s/);
    assert.match(o.output.status.message, /airlock\.requestTimeout/);
    assert.match(o.output.status.message, /--timeout SECONDS/);
    assert.equal(server.requests, 1, 'one attempt, not one per retry');
  });

  function cli(args: string[], baseURL: string) {
    const dir = tempDir('cli');
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(ws);
    return runProcess(process.execPath, [CLI, ...args, '--db', path.join(dir, 'airlock.db')], {
      cwd: ws,
      env: sandboxEnv(dir, { OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: 'x' }),
    });
  }

  void it('CLI --timeout: an endpoint that accepts and never answers → model_error naming --timeout', async () => {
    const server = await silentServer();
    const r = await cli(['run', 'hello', '--json', '--timeout', '1'], server.baseURL);
    assert.equal(r.code, 1, r.stderr);
    const out = outputOf(r);
    assert.equal(out.status.reason, 'model_error');
    assert.match(String(out.status.message), /did not respond within 1s/);
    assert.match(String(out.status.message), /--timeout SECONDS/);
    assert.match(String(out.status.message), /airlock\.requestTimeout/);
    assert.equal(server.requests, 1, 'not retried');
  });

  void it('CLI --timeout: headers, one chunk, then a stall → model_error naming --timeout', async () => {
    const server = await stallingServer(sse({ role: 'assistant', content: 'Hel' }));
    const r = await cli(['run', 'hello', '--json', '--timeout', '1'], server.baseURL);
    assert.equal(r.code, 1, r.stderr);
    const out = outputOf(r);
    assert.equal(out.status.reason, 'model_error');
    assert.match(String(out.status.message), /stopped sending mid-reply for 1s/);
    assert.match(String(out.status.message), /--timeout SECONDS/);
  });

  void it('--timeout takes seconds above 0 and up to 300', () => {
    assert.equal(parseCommand(['run', 'x', '--timeout', '2.5']).cmd, 'run');
    const run = parseCommand(['run', 'x', '--timeout', '2.5']);
    assert.equal('timeout' in run ? run.timeout : undefined, 2.5);
    for (const bad of ['0', '-1', 'soon', '301']) {
      assert.throws(
        () => parseCommand(['run', 'x', `--timeout=${bad}`]),
        (err: unknown) => {
          return (
            err instanceof UsageError && /--timeout takes a number of seconds/.test(err.message)
          );
        },
      );
    }
  });
});

void describe('the workspace airlock.config.json may only lower a limit', () => {
  void it('lower values apply; higher ones are ignored with a warning until trusted', () => {
    const ws = tempDir('cfg');
    fs.writeFileSync(
      path.join(ws, 'airlock.config.json'),
      JSON.stringify({
        maxReadBytes: 1000,
        requestTimeout: 5,
        maxToolCallsPerTurn: 500,
        maxOutputBytes: 64 * MB,
      }),
    );
    const loaded = loadConfig({
      workspace: ws,
      user: Settings.parse({}),
      env: { XDG_CONFIG_HOME: tempDir('xdg') },
    });
    assert.equal(loaded.settings.maxReadBytes, 1000);
    assert.equal(loaded.settings.requestTimeout, 5);
    assert.equal(loaded.settings.maxToolCallsPerTurn, 64, 'not raised');
    assert.equal(loaded.settings.maxOutputBytes, 4 * MB, 'not raised');
    const ignored = loaded.status.ignored.join('\n');
    assert.match(ignored, /maxToolCallsPerTurn: 500 tool calls per turn, more than your 64/);
    assert.match(ignored, /maxOutputBytes: 67108864 bytes, more than your 4194304 bytes/);
    assert.match(ignored, /airlock trust/);
    assert.doesNotMatch(ignored, /maxReadBytes|requestTimeout/);
  });
});
