// The one Model implementation: Chat Completions over the `openai` package, streamed, with
// tool calls. Retries (429/5xx/timeouts, with backoff) are the client's own; this file turns
// what is left into a ModelError that says what to fix.
import { createHash } from 'node:crypto';
import OpenAI, { APIError } from 'openai';
import {
  byteSize,
  DEFAULT_MODEL_LIMITS,
  ModelError,
  settingHint,
  tooManyToolCalls,
  type Model,
  type ModelChunk,
  type ModelLimits,
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
  /** Time allowed until the response starts, and between two streamed chunks; a request's
   * `limits.timeoutMs` overrides it. */
  timeoutMs?: number;
  /** Where missing baseURL/apiKey come from (OPENAI_BASE_URL, OPENAI_API_KEY); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
// Local servers can take a while to load a model before the first byte.
const DEFAULT_TIMEOUT_MS = DEFAULT_MODEL_LIMITS.timeoutMs;
const FIX_KEY =
  "Set a valid key: `airlock` CLI reads OPENAI_API_KEY; in VS Code run 'Airlock: Set API Key'.";
const FIX_MODEL =
  'Choose a model the endpoint serves: AIRLOCK_MODEL for the CLI, the airlock.model setting in VS Code.';

const FIX_TIMEOUT =
  '`--timeout SECONDS` for the `airlock` CLI (or "requestTimeout" in its config.json), the airlock.requestTimeout setting in VS Code';

interface PartialCall {
  id: string;
  name: string;
  /** Kept only while within maxArgumentBytes; emptied once the call is too large. */
  arguments: string;
  /** Bytes of arguments the model sent for this call, kept or not. */
  bytes: number;
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
    signal?.throwIfAborted();
    const limits = this.limitsOf(request);
    // Our own controller and fetch: the client's timeout stops at the response headers and is
    // retried, so a guard times the wait for headers and for every body read, and counts the
    // bytes on the wire, aborting the request itself (an aborted request is not retried).
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const guard = new ReplyGuard(limits, () => ctl.abort());
    let text = '';
    /** Bytes of text and kept tool arguments: bounded by maxOutputBytes. */
    let kept = 0;
    const keep = (bytes: number): void => {
      kept += bytes;
      if (kept > limits.maxOutputBytes) throw this.tooMuchOutput(limits.maxOutputBytes);
    };
    const calls = new Map<number, PartialCall>();
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    let sawChoice = false;
    let finish: string | null = null;
    try {
      const tools: ChatCompletionTool[] = request.tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
      const client = this.client.withOptions({
        fetch: guard.fetch,
        // A backstop only: the guard stops a silent endpoint first, without a retry.
        timeout: Math.ceil(limits.timeoutMs) + 30_000,
      });
      const stream = await client.chat.completions.create(
        {
          model: this.name,
          messages: request.messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(tools.length > 0 ? { tools } : {}),
        },
        { signal: ctl.signal },
      );
      for await (const raw of stream) {
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
          keep(Buffer.byteLength(delta.content));
          text += delta.content;
          // The guard times only reads from the network: a slow consumer is not a stalled server.
          yield { type: 'delta', text: delta.content };
        }
        (delta.tool_calls ?? []).forEach((tc, i) => {
          // Some servers omit `index`; fall back to the position in this delta.
          const index = typeof tc.index === 'number' ? tc.index : i;
          let call = calls.get(index);
          if (!call) {
            // Cut as soon as the turn has one call too many: none of them will run anyway.
            if (calls.size >= limits.maxToolCalls)
              throw tooManyToolCalls(null, limits.maxToolCalls);
            call = { id: '', name: '', arguments: '', bytes: 0 };
            calls.set(index, call);
          }
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.name = tc.function.name;
          const piece = tc.function?.arguments;
          if (piece) {
            const bytes = Buffer.byteLength(piece);
            call.bytes += bytes;
            if (call.bytes <= limits.maxArgumentBytes) {
              keep(bytes);
              call.arguments += piece;
            } else if (call.arguments) {
              // Too large for one call: drop what was kept; the engine refuses the call.
              kept -= call.bytes - bytes;
              call.arguments = '';
            }
          }
        });
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      if (signal?.aborted) signal.throwIfAborted();
      if (guard.cut) throw this.cutError(guard, limits);
      throw this.toModelError(err, limits.timeoutMs);
    } finally {
      guard.stop();
      ctl.abort(); // whatever ended the loop, the request ends here too
      signal?.removeEventListener('abort', onAbort);
    }
    // The client ends an aborted stream quietly; make that visible.
    if (signal?.aborted) signal.throwIfAborted();
    if (guard.cut) throw this.cutError(guard, limits);
    if (!sawChoice) {
      throw this.garbled('a response with no choices');
    }
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => this.checkCall(c, index, finish, limits.maxArgumentBytes));
    return { text, toolCalls, usage };
  }

  private limitsOf(request: ModelRequest): ModelLimits {
    const limits: ModelLimits = { ...DEFAULT_MODEL_LIMITS, timeoutMs: this.timeoutMs };
    for (const [key, value] of Object.entries(request.limits ?? {})) {
      if (typeof value === 'number' && value > 0) limits[key as keyof ModelLimits] = value;
    }
    return limits;
  }

  private cutError(guard: ReplyGuard, limits: ModelLimits): ModelError {
    return guard.cut === 'flooded'
      ? this.tooMuchOutput(limits.maxOutputBytes, true)
      : this.timeout(limits.timeoutMs, guard.gotHeaders);
  }

  private checkCall(
    call: PartialCall,
    index: number,
    finish: string | null,
    maxArgumentBytes: number,
  ): ModelToolCall {
    if (!call.name) {
      throw new ModelError(
        `The model "${this.name}" returned a tool call without a tool name. Try again, or ${lower(FIX_MODEL)}`,
        'malformed',
      );
    }
    const tooLarge = call.bytes > maxArgumentBytes;
    const args = tooLarge || call.arguments.trim() === '' ? '{}' : call.arguments;
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
    return { id, name: call.name, arguments: args, ...(tooLarge ? { tooLarge: call.bytes } : {}) };
  }

  private toModelError(err: unknown, timeoutMs = this.timeoutMs): ModelError {
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
    if (err instanceof OpenAI.APIConnectionTimeoutError)
      return this.timeout(timeoutMs, false, tries);
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

  private timeout(ms: number, midReply: boolean, tries = ''): ModelError {
    const what = midReply ? 'stopped sending mid-reply for' : 'did not respond within';
    return new ModelError(
      `The model endpoint at ${this.where()} ${what} ${seconds(ms)}${tries}; the request was stopped. ` +
        'Check that the server is running and not overloaded (a local server may still be loading the model), then try again. ' +
        `To wait longer or shorter, set the timeout in seconds: ${FIX_TIMEOUT}.`,
      'timeout',
    );
  }

  private tooMuchOutput(limit: number, onTheWire = false): ModelError {
    const what = onTheWire
      ? `The model endpoint at ${this.where()} sent far more than ${byteSize(limit)} for one reply`
      : `The model's reply passed ${byteSize(limit)} of text and tool arguments`;
    return new ModelError(
      `${what} (the limit: ${settingHint('maxOutputBytes')}); it was cut off and nothing of it ran. ` +
        'A reply this long usually means the model or the endpoint is looping: try again, or raise the limit.',
      'limit',
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

/** Statuses whose response has no body (a Response with one cannot be built). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * One reply's watchdog. Its `fetch` times every wait on the endpoint (for the headers, then for
 * each body read) against `timeoutMs`, and counts the bytes on the wire: a reply that floods
 * (far past maxOutputBytes in all, or one server-sent event larger than any real chunk, which
 * the client would buffer whole) is cut. Either way it aborts the request through `abort`.
 */
class ReplyGuard {
  cut: 'stalled' | 'flooded' | null = null;
  gotHeaders = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly wireCap: number;
  private readonly eventCap: number;

  constructor(
    private readonly limits: ModelLimits,
    private readonly abort: () => void,
  ) {
    const unit = Math.max(limits.maxOutputBytes, limits.maxArgumentBytes);
    // Server-sent events wrap every few bytes of text in a ~200-byte JSON chunk.
    this.wireCap = 64 * unit;
    this.eventCap = 2 * unit + 64 * 1024;
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    this.gotHeaders = false; // a retry starts over
    this.arm();
    let res: Response;
    try {
      res = await fetch(input, init);
    } finally {
      this.disarm();
    }
    this.gotHeaders = true;
    if (!res.body || NULL_BODY.has(res.status)) return res;
    const reader = res.body.getReader();
    const meter = this.meter();
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        this.arm(); // waiting on the endpoint for the next bytes
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } finally {
          this.disarm();
        }
        if (step.done) return controller.close();
        if (meter(step.value)) {
          this.trip('flooded');
          void reader.cancel().catch(() => undefined);
          return controller.error(new Error('The reply was cut off at the output limit.'));
        }
        controller.enqueue(step.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.cut) return;
    this.timer = setTimeout(() => this.trip('stalled'), this.limits.timeoutMs);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private trip(why: 'stalled' | 'flooded'): void {
    if (this.cut || this.stopped) return;
    this.cut = why;
    this.disarm();
    this.abort();
  }

  /** A counter for one response body: true once it passed a cap. */
  private meter(): (bytes: Uint8Array) => boolean {
    let total = 0;
    let event = 0; // bytes since the last blank line (the end of a server-sent event)
    let lineEmpty = true;
    let prev = 0;
    return (bytes) => {
      total += bytes.length;
      if (total > this.wireCap) return true;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        event++;
        if (b === 0x0a || b === 0x0d) {
          if (!(b === 0x0a && prev === 0x0d)) {
            if (lineEmpty) event = 0;
            lineEmpty = true;
          }
        } else lineEmpty = false;
        prev = b;
      }
      return event > this.eventCap;
    };
  }
}
