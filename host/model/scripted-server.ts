// A real OpenAI-compatible HTTP server on loopback whose replies come from a script. The demo
// model runs on it, and host tests use it to exercise the real client end to end.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type OpenAI from 'openai';
import type { ChatMessage } from './model.js';

type ChatTool = OpenAI.Chat.Completions.ChatCompletionTool;
type CreateParams = OpenAI.Chat.Completions.ChatCompletionCreateParams;

export interface ScriptRequest {
  messages: ChatMessage[];
  tools: ChatTool[];
  model: string;
}

export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: string | object;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** A normal answer: text streamed in `chunkSize` pieces, then tool calls (arguments in pieces too). */
export interface MessageReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  chunkSize?: number;
  /** Pause between streamed chunks, so a UI visibly streams (the demo uses it). */
  chunkDelayMs?: number;
  usage?: Usage;
}
/** An HTTP error in OpenAI's error JSON shape. */
export interface ErrorReply {
  status: number;
  error?: string;
  retryAfterMs?: number;
}
/** Raw text as the whole response body. */
export interface GarbageReply {
  garbage: string;
}
export interface DelayReply {
  delayMs: number;
  then: Reply;
}
export type Reply = MessageReply | ErrorReply | GarbageReply | DelayReply;

export type ScriptFn = (request: ScriptRequest, index: number) => Reply | Promise<Reply>;
export type Script = ScriptFn | Reply[];

export interface ScriptedServerOptions {
  /** What `GET /v1/models` lists. */
  models?: string[];
}

const ERROR_TYPES: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Bad request.' },
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided.',
  },
  403: {
    type: 'invalid_request_error',
    code: 'unsupported_country_region_territory',
    message: 'Forbidden.',
  },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist.',
  },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached. Please try again later.',
  },
};

export class ScriptedModelServer {
  /** Every chat completion request body received, in order (retries included). */
  readonly requests: CreateParams[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private chatCount = 0;

  private constructor(
    private readonly server: Server,
    readonly baseURL: string,
    private readonly script: Script,
    private readonly models: string[],
  ) {}

  static async start(
    script: Script,
    opts: ScriptedServerOptions = {},
  ): Promise<ScriptedModelServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const self = new ScriptedModelServer(
      server,
      `http://127.0.0.1:${port}/v1`,
      script,
      opts.models ?? ['scripted'],
    );
    server.on('request', (req, res) => {
      res.on('error', () => undefined); // the client may hang up (timeouts); nothing to do
      self.route(req, res).catch((err: unknown) => {
        if (res.headersSent) return void res.end();
        sendError(
          res,
          500,
          `The scripted model server failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    });
    return self;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // don't wait on delayed or keep-alive requests
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      const data = this.models.map((id) => ({
        id,
        object: 'model',
        created: now(),
        owned_by: 'airlock',
      }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(
        res,
        404,
        `No route ${req.method ?? ''} ${path}: this server has /v1/chat/completions and /v1/models.`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendError(res, 400, 'The request body is not valid JSON.');
    }
    if (!isCreateParams(body))
      return sendError(res, 400, 'Expected a JSON body with `model` and `messages`.');
    this.requests.push(body);
    const index = this.chatCount++;
    let reply: Reply;
    try {
      reply = await this.replyFor(body, index);
    } catch (err) {
      // Deterministic failures: retrying cannot help, so tell the client not to.
      const msg = err instanceof Error ? err.message : String(err);
      return sendError(res, 500, msg, { 'x-should-retry': 'false' });
    }
    await this.answer(res, body, reply);
  }

  private async replyFor(body: CreateParams, index: number): Promise<Reply> {
    if (Array.isArray(this.script)) {
      const reply = this.script[index];
      if (!reply) {
        throw new Error(
          `The scripted model ran out of replies: the script has ${this.script.length}, this is request ${index + 1}.`,
        );
      }
      return reply;
    }
    const request: ScriptRequest = {
      messages: body.messages,
      tools: body.tools ?? [],
      model: body.model,
    };
    try {
      return await this.script(request, index);
    } catch (err) {
      throw new Error(
        `The scripted model's script failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private async answer(res: ServerResponse, body: CreateParams, reply: Reply): Promise<void> {
    if ('delayMs' in reply) {
      await this.sleep(reply.delayMs);
      if (gone(res)) return;
      return this.answer(res, body, reply.then);
    }
    if ('status' in reply) {
      const headers: Record<string, string> = {};
      if (reply.retryAfterMs !== undefined) {
        headers['retry-after-ms'] = String(reply.retryAfterMs);
        headers['retry-after'] = String(Math.ceil(reply.retryAfterMs / 1000));
      }
      return sendError(res, reply.status, reply.error, headers);
    }
    if ('garbage' in reply) {
      res.writeHead(200, {
        'content-type': body.stream ? 'text/event-stream' : 'application/json',
      });
      res.end(reply.garbage);
      return;
    }
    const text = reply.text ?? '';
    const calls = (reply.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${i}_${Math.random().toString(36).slice(2, 10)}`,
      name: c.name,
      arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
    }));
    const usage = reply.usage ?? {
      prompt_tokens: Math.ceil(JSON.stringify(body.messages).length / 4),
      completion_tokens: Math.ceil((text + calls.map((c) => c.arguments).join('')).length / 4),
    };
    const finish = calls.length > 0 ? 'tool_calls' : 'stop';
    const usageOut = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
    const base = {
      id: `chatcmpl-${Math.random().toString(36).slice(2, 12)}`,
      created: now(),
      model: body.model,
    };
    if (!body.stream) {
      const tool_calls = calls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      }));
      const message = {
        role: 'assistant',
        content: text || null,
        refusal: null,
        ...(calls.length ? { tool_calls } : {}),
      };
      const choice = { index: 0, message, finish_reason: finish, logprobs: null };
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [choice],
        usage: usageOut,
      });
    }
    // Shaped like OpenAI's stream: role first, content pieces, each tool call's header then
    // its argument pieces, a finish chunk, an optional usage chunk, then [DONE].
    const size = Math.max(1, reply.chunkSize ?? 8);
    const deltas: Record<string, unknown>[] = [{ role: 'assistant', content: '' }];
    for (const piece of pieces(text, size)) deltas.push({ content: piece });
    calls.forEach((c, index) => {
      deltas.push({
        tool_calls: [
          { index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } },
        ],
      });
      for (const piece of pieces(c.arguments, size)) {
        deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
      }
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (chunk: object): void => {
      res.write(
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...chunk })}\n\n`,
      );
    };
    for (const delta of deltas) {
      if (gone(res)) return;
      send({ choices: [{ index: 0, delta, finish_reason: null, logprobs: null }] });
      if (reply.chunkDelayMs) await this.sleep(reply.chunkDelayMs);
    }
    if (gone(res)) return;
    send({ choices: [{ index: 0, delta: {}, finish_reason: finish, logprobs: null }] });
    if (body.stream_options?.include_usage) send({ choices: [], usage: usageOut });
    res.end('data: [DONE]\n\n');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}

function pieces(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

function isCreateParams(body: unknown): body is CreateParams {
  if (!body || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  return typeof b.model === 'string' && Array.isArray(b.messages);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || gone(res)) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(
  res: ServerResponse,
  status: number,
  message?: string,
  headers: Record<string, string> = {},
): void {
  const known = ERROR_TYPES[status] ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message:
      status >= 500 ? 'The server had an error while processing your request.' : 'Request failed.',
  };
  const error = {
    message: message ?? known.message,
    type: known.type,
    param: null,
    code: known.code,
  };
  sendJson(res, status, { error }, headers);
}

/** The client hung up (e.g. it timed out): stop writing. */
function gone(res: ServerResponse): boolean {
  return res.destroyed || !res.socket || res.socket.destroyed;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
