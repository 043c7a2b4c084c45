// The one Model implementation: Chat Completions over the `openai` package, streamed, with
// tool calls. Retries (429/5xx/timeouts, with backoff) are the client's own; this file turns
// what is left into a ModelError that says what to fix.
import { createHash } from 'node:crypto';
import OpenAI, { APIError } from 'openai';
import {
  ModelError,
  type Model,
  type ModelChunk,
  type ModelRequest,
  type ModelToolCall,
  type ModelTurn,
  type ModelErrorKind,
} from './model.js';

type ChatCompletionChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ChatCompletionTool = OpenAI.Chat.Completions.ChatCompletionTool;

export interface OpenAIChatModelOptions {
  model: string;
  baseURL?: string;
  apiKey?: string;
  maxRetries?: number;
  /** Time allowed until the response starts, and between two streamed chunks. */
  timeoutMs?: number;
  /** Where missing baseURL/apiKey come from (OPENAI_BASE_URL, OPENAI_API_KEY); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
// Local servers can take a while to load a model before the first byte.
const DEFAULT_TIMEOUT_MS = 180_000;
const FIX_KEY =
  "Set a valid key: `airlock` CLI reads OPENAI_API_KEY; in VS Code run 'Airlock: Set API Key'.";
const FIX_MODEL =
  'Choose a model the endpoint serves: AIRLOCK_MODEL for the CLI, the airlock.model setting in VS Code.';

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

export class OpenAIChatModel implements Model {
  readonly name: string;
  readonly baseURL: string;
  private readonly client: OpenAI;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;

  constructor(opts: OpenAIChatModelOptions) {
    const env = opts.env ?? process.env;
    this.name = opts.model;
    this.baseURL = opts.baseURL || env.OPENAI_BASE_URL || DEFAULT_BASE_URL;
    this.maxRetries = opts.maxRetries ?? 3;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const key = opts.apiKey || env.OPENAI_API_KEY;
    if (!key && !isLoopback(this.baseURL)) {
      throw new ModelError(
        `No API key for the model endpoint at ${this.where()}. Set OPENAI_API_KEY for the \`airlock\` CLI, ` +
          "or run 'Airlock: Set API Key' in VS Code. To try Airlock without a key, use the offline model: " +
          'AIRLOCK_MODEL=demo (or the airlock.model setting "demo").',
        'auth',
      );
    }
    // Local servers (Ollama, LM Studio, vLLM) ignore the key, but the client insists on one.
    this.apiKey = key || 'no-key';
    this.client = new OpenAI({
      apiKey: this.apiKey,
      baseURL: this.baseURL,
      maxRetries: this.maxRetries,
      timeout: this.timeoutMs,
      // The client logs raw stream data on parse errors; the host reports errors itself.
      logLevel: env.OPENAI_LOG ? undefined : 'off',
    });
  }

  async *stream(
    request: ModelRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<ModelChunk, ModelTurn> {
    // Our own controller: the client's timeout stops at the response headers, so a stalled
    // stream is cut by an idle watchdog below.
    signal?.throwIfAborted();
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let stalled = false;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        ctl.abort();
      }, this.timeoutMs);
    };
    let text = '';
    const calls = new Map<number, PartialCall>();
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    let sawChoice = false;
    let finish: string | null = null;
    try {
      const tools: ChatCompletionTool[] = request.tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
      const stream = await this.client.chat.completions.create(
        {
          model: this.name,
          messages: request.messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(tools.length > 0 ? { tools } : {}),
        },
        { signal: ctl.signal },
      );
      arm();
      for await (const raw of stream) {
        arm();
        const chunk = raw as Partial<ChatCompletionChunk> | null;
        if (!chunk || typeof chunk !== 'object')
          throw this.garbled('a stream chunk that is not an object');
        if (chunk.usage) {
          usage = {
            prompt_tokens: chunk.usage.prompt_tokens ?? 0,
            completion_tokens: chunk.usage.completion_tokens ?? 0,
          };
        }
        const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
        if (!choice) continue; // the usage chunk has no choices
        sawChoice = true;
        finish = choice.finish_reason ?? finish;
        const delta = choice.delta ?? {};
        if (typeof delta.content === 'string' && delta.content.length > 0) {
          text += delta.content;
          clearTimeout(idle); // a slow consumer is not a stalled server
          yield { type: 'delta', text: delta.content };
          arm();
        }
        (delta.tool_calls ?? []).forEach((tc, i) => {
          // Some servers omit `index`; fall back to the position in this delta.
          const index = typeof tc.index === 'number' ? tc.index : i;
          const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.name = tc.function.name;
          if (tc.function?.arguments) call.arguments += tc.function.arguments;
          calls.set(index, call);
        });
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      if (signal?.aborted) signal.throwIfAborted();
      if (stalled) throw this.timeout('', true);
      throw this.toModelError(err);
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
    }
    // The client ends an aborted stream quietly; make that visible.
    if (signal?.aborted) signal.throwIfAborted();
    if (stalled) throw this.timeout('', true);
    if (!sawChoice) {
      throw this.garbled('a response with no choices');
    }
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => this.checkCall(c, index, finish));
    return { text, toolCalls, usage };
  }

  private checkCall(call: PartialCall, index: number, finish: string | null): ModelToolCall {
    if (!call.name) {
      throw new ModelError(
        `The model "${this.name}" returned a tool call without a tool name. Try again, or ${lower(FIX_MODEL)}`,
        'malformed',
      );
    }
    const args = call.arguments.trim() === '' ? '{}' : call.arguments;
    try {
      JSON.parse(args);
    } catch {
      const cut = finish === 'length' ? ' (the reply was cut off at the token limit)' : '';
      throw new ModelError(
        `The model "${this.name}" returned invalid tool-call JSON for tool "${call.name}"${cut}: ` +
          `${clip(args, 120)}. Try again; if it keeps happening, use a model with reliable tool calling ` +
          '(AIRLOCK_MODEL for the CLI, the airlock.model setting in VS Code).',
        'malformed',
      );
    }
    // A stable fallback id: some servers send none, and ids key approvals downstream.
    const id =
      call.id ||
      `call_${index}_${createHash('sha256')
        .update(call.name + args)
        .digest('hex')
        .slice(0, 12)}`;
    return { id, name: call.name, arguments: args };
  }

  private toModelError(err: unknown): ModelError {
    const at = this.where();
    // The client may stop early (e.g. `x-should-retry: false`), so say "up to".
    const tries =
      this.maxRetries > 0
        ? ` (retried up to ${this.maxRetries} ${this.maxRetries === 1 ? 'time' : 'times'})`
        : '';
    const detail = (e: APIError): string => {
      const body = e.error as { message?: unknown } | undefined;
      const msg = typeof body?.message === 'string' ? body.message : e.message;
      return msg ? ` The server said: "${clip(this.scrub(msg), 300).replace(/\.$/, '')}".` : '';
    };
    const make = (kind: ModelErrorKind, msg: string): ModelError => new ModelError(msg, kind);
    // Timeout is a subclass of connection error: check it first.
    if (err instanceof OpenAI.APIConnectionTimeoutError) return this.timeout(tries);
    if (err instanceof OpenAI.APIConnectionError) {
      const cause = err.cause instanceof Error ? ` (${this.scrub(err.cause.message)})` : '';
      return make(
        'connection',
        `Could not connect to the model endpoint at ${at}${tries}${cause}. Check that the server is running ` +
          'and the base URL is right (OPENAI_BASE_URL for the CLI, the base URL setting in VS Code).',
      );
    }
    if (err instanceof OpenAI.AuthenticationError) {
      return make('auth', `The model endpoint at ${at} rejected the API key (401). ${FIX_KEY}`);
    }
    if (err instanceof OpenAI.PermissionDeniedError) {
      return make(
        'auth',
        `The model endpoint at ${at} refused access to model "${this.name}" (403): the API key lacks ` +
          `permission for it.${detail(err)} Use a key with access, or choose another model: AIRLOCK_MODEL / airlock.model.`,
      );
    }
    if (err instanceof OpenAI.RateLimitError) {
      const quota =
        err.code === 'insufficient_quota'
          ? ' Your quota is used up: check billing for the key.'
          : '';
      return make(
        'rate_limit',
        `The model endpoint at ${at} is rate-limiting requests (429) and still refused${tries}.${quota} ` +
          `Wait a minute and try again, or use a key with a higher limit.${detail(err)}`,
      );
    }
    if (err instanceof OpenAI.NotFoundError) {
      return make(
        'bad_request',
        `The model endpoint at ${at} has no model "${this.name}" (404). ${FIX_MODEL} If the name is right, ` +
          `check that the base URL is the API root (usually ending in /v1).${detail(err)}`,
      );
    }
    if (err instanceof OpenAI.InternalServerError) {
      return make(
        'server',
        `The model endpoint at ${at} failed with a server error (${err.status})${tries}. Try again later; for ` +
          `a local server, check its logs.${detail(err)}`,
      );
    }
    if (err instanceof OpenAI.APIError && err.status === undefined) {
      // An `error` object sent inside an otherwise successful stream.
      return make(
        'server',
        `The model endpoint at ${at} reported an error mid-reply.${detail(err)} Try again.`,
      );
    }
    if (err instanceof OpenAI.APIError) {
      return make(
        'bad_request',
        `The model endpoint at ${at} rejected the request (${err.status}).${detail(err)} The model ` +
          `"${this.name}" may not support streaming tool calls. ${FIX_MODEL}`,
      );
    }
    if (err instanceof SyntaxError) return this.garbled('a stream that is not valid JSON');
    const msg = err instanceof Error ? err.message : String(err);
    return make(
      'connection',
      `The connection to the model endpoint at ${at} failed mid-reply (${clip(this.scrub(msg), 200)}). Try again.`,
    );
  }

  private timeout(tries = '', midReply = false): ModelError {
    const what = midReply ? 'stopped sending mid-reply for' : 'did not respond within';
    return new ModelError(
      `The model endpoint at ${this.where()} ${what} ${seconds(this.timeoutMs)}${tries}. ` +
        'Check that the server is running and not overloaded (a local server may still be loading the model), then try again.',
      'timeout',
    );
  }

  private garbled(what: string): ModelError {
    return new ModelError(
      `The model endpoint at ${this.where()} sent ${what}, which is not an OpenAI-compatible chat completion. ` +
        'Check that the base URL points at an OpenAI-compatible API (OPENAI_BASE_URL / the base URL setting).',
      'malformed',
    );
  }

  /** The base URL without credentials, for messages. */
  private where(): string {
    try {
      const u = new URL(this.baseURL);
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, '');
    } catch {
      return this.baseURL;
    }
  }

  /** Servers sometimes echo the key back; never pass it on. */
  private scrub(s: string): string {
    return this.apiKey && this.apiKey.length >= 4 ? s.split(this.apiKey).join('***') : s;
  }
}

function isLoopback(baseURL: string): boolean {
  try {
    const host = new URL(baseURL).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function lower(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
