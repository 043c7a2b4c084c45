// The one Model implementation: Chat Completions over the `openai` package, streamed, with
// tool calls. Retries before the reply starts (429/5xx/timeouts, with backoff) are the client's
// own; a reply cut mid-stream is retried here (nothing of it has run yet), a request option the
// endpoint refuses is dropped for that endpoint, and what is left becomes a ModelError that
// quotes the server and says what to fix.
// The client and its errors by their own modules: the package's index also carries the Azure and
// Bedrock clients, which a lazily loaded module would otherwise bundle in whole.
import { OpenAI } from 'openai/client';
import { APIError } from 'openai/core/error';
import {
  droppedOptions,
  dropOption,
  refusedOption,
  type OptionalRequestOption,
} from './endpoint-capabilities.js';
import { serverExplanation } from './error-text.js';
import {
  byteSize,
  DEFAULT_MODEL_LIMITS,
  ModelError,
  settingHint,
  type Model,
  type ModelChunk,
  type ModelLimits,
  type ModelRequest,
  type ModelToolCall,
  type ModelTurn,
  type ModelErrorKind,
} from './model.js';
import { ReplyAssembler, type AssembledCall } from './stream-assembly.js';

type ChatCompletionTool = OpenAI.Chat.Completions.ChatCompletionTool;

export interface OpenAIChatModelOptions {
  model: string;
  baseURL?: string;
  apiKey?: string;
  /** Retries of a failed request (the client's, before the reply starts) and of a reply cut
   * mid-stream (this model's); default 3. */
  maxRetries?: number;
  /** Time allowed until the response starts, and between two streamed chunks; a request's
   * `limits.timeoutMs` overrides it. */
  timeoutMs?: number;
  /** Where missing baseURL/apiKey come from (OPENAI_BASE_URL, OPENAI_API_KEY); default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * One line for the developer about what the client learnt or did (an option the endpoint
   * refused and is no longer sent, a retry of a cut reply). Default: a line on stderr, which the
   * editor's output channel shows for the host and the `airlock` CLI prints.
   */
  onNotice?: (message: string) => void;
  /** Wait before retry `n` (1, 2, …) of a reply cut mid-stream; default backoff 0.5 s, 1 s, 2 s, … */
  retryDelayMs?: (n: number) => number;
  /** After the finish chunk, how long to wait for a trailing usage chunk or the end; default 2 s. */
  finishIdleMs?: number;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
// Local servers can take a while to load a model before the first byte.
const DEFAULT_TIMEOUT_MS = DEFAULT_MODEL_LIMITS.timeoutMs;
const DEFAULT_FINISH_IDLE_MS = 2000;
const FIX_KEY =
  "Set a valid key: `airlock` CLI reads OPENAI_API_KEY; in VS Code run 'Airlock: Set API Key'.";
const FIX_MODEL =
  'Choose a model the endpoint serves: AIRLOCK_MODEL for the CLI, the airlock.model setting in VS Code.';
const FIX_BASE_URL =
  'the base URL is right (OPENAI_BASE_URL for the CLI, the airlock.baseURL setting in VS Code)';

const FIX_TIMEOUT =
  '`--timeout SECONDS` for the `airlock` CLI (or "requestTimeout" in its config.json), the airlock.requestTimeout setting in VS Code';

/** How one attempt at the reply ended, when it did not end in a turn or a ModelError. */
type Outcome =
  | { kind: 'turn'; turn: ModelTurn }
  /** The endpoint refused a request option Airlock can do without. */
  | { kind: 'refused'; option: OptionalRequestOption; why: string; error: ModelError }
  /** The reply was cut (a dropped connection, an error event mid-stream): worth another try. */
  | { kind: 'retry'; why: string; error: ModelError };

export class OpenAIChatModel implements Model {
  readonly name: string;
  readonly baseURL: string;
  private readonly client: OpenAI;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly notice: (message: string) => void;
  private readonly retryDelayMs: (n: number) => number;
  private readonly finishIdleMs: number;

  constructor(opts: OpenAIChatModelOptions) {
    const env = opts.env ?? process.env;
    this.name = opts.model;
    this.baseURL = opts.baseURL || env.OPENAI_BASE_URL || DEFAULT_BASE_URL;
    this.maxRetries = opts.maxRetries ?? 3;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.notice =
      opts.onNotice ?? ((message) => void process.stderr.write(`airlock: ${message}\n`));
    this.retryDelayMs = opts.retryDelayMs ?? backoff;
    this.finishIdleMs = opts.finishIdleMs ?? DEFAULT_FINISH_IDLE_MS;
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
      fetch: guardedFetch,
    });
  }

  async *stream(
    request: ModelRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<ModelChunk, ModelTurn> {
    signal?.throwIfAborted();
    const limits = this.limitsOf(request);
    // What the developer has seen: a retried reply streams again, and only what is new shows.
    const shown = { text: new ShownText(), reasoning: new ShownText() };
    const refused = new Set<OptionalRequestOption>();
    for (let retries = 0; ;) {
      shown.text.restart();
      shown.reasoning.restart();
      const outcome = yield* this.attempt(request, limits, shown, signal);
      if (outcome.kind === 'turn') return outcome.turn;
      if (outcome.kind === 'refused') {
        // Asked once without it; a second refusal of the same option is an error like any other.
        if (refused.has(outcome.option)) throw outcome.error;
        refused.add(outcome.option);
        if (dropOption(this.baseURL, outcome.option)) {
          this.notice(
            `The model endpoint at ${this.where()} refused the request option \`${outcome.option}\` ` +
              `(${clip(this.scrub(outcome.why), 200)}); Airlock no longer sends it to this endpoint.`,
          );
        }
        continue;
      }
      if (retries >= this.maxRetries) throw outcome.error;
      retries++;
      this.notice(
        `The reply from the model endpoint at ${this.where()} was cut mid-stream ` +
          `(${clip(this.scrub(outcome.why), 200)}); nothing of it ran. Retrying (${retries} of ${this.maxRetries}).`,
      );
      await sleep(this.retryDelayMs(retries), signal);
    }
  }

  /** One request and its streamed reply. */
  private async *attempt(
    request: ModelRequest,
    limits: ModelLimits,
    shown: { text: ShownText; reasoning: ShownText },
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ModelChunk, Outcome> {
    // Our own controller and fetch: the client's timeout stops at the response headers and is
    // retried, so a guard times the wait for headers and for every body read, and counts the
    // bytes on the wire, aborting the request itself (an aborted request is not retried).
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const guard = new ReplyGuard(limits, () => ctl.abort(), this.finishIdleMs);
    const reply = new ReplyAssembler(limits, () => this.tooMuchOutput(limits.maxOutputBytes));
    const omitted = droppedOptions(this.baseURL);
    const sent: OptionalRequestOption[] = omitted.has('stream_options') ? [] : ['stream_options'];
    let started = false;
    let drained = false;
    try {
      const tools: ChatCompletionTool[] = request.tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
      const stream = await this.client.chat.completions.create(
        {
          model: this.name,
          // As stored: provider fields on the messages (reasoning_content, extra_content, …) go
          // back to the endpoint verbatim.
          messages: request.messages,
          stream: true,
          ...(sent.includes('stream_options') ? { stream_options: { include_usage: true } } : {}),
          ...(tools.length > 0 ? { tools } : {}),
        },
        {
          signal: ctl.signal,
          // A backstop only: the guard stops a silent endpoint first, without a retry.
          timeout: Math.ceil(limits.timeoutMs) + 30_000,
          fetchOptions: riding(guard),
        },
      );
      started = true;
      for await (const raw of stream) {
        if (!raw || typeof raw !== 'object' || Array.isArray(raw))
          throw this.garbled('a stream chunk that is not an object');
        const view = reply.push(raw as unknown as Record<string, unknown>);
        // The reply is complete: wait only briefly for a trailing usage chunk or the end.
        if (reply.finish) guard.finishing();
        // The guard times only reads from the network: a slow consumer is not a stalled server.
        const text = shown.text.push(view.text);
        if (text) yield { type: 'delta', text };
        const reasoning = shown.reasoning.push(view.reasoning);
        if (reasoning) yield { type: 'reasoning', text: reasoning };
      }
      drained = true;
    } catch (err) {
      if (err instanceof ModelError) throw err;
      if (signal?.aborted) signal.throwIfAborted();
      if (guard.cut === 'stalled' || guard.cut === 'flooded') throw this.cutError(guard, limits);
      if (guard.cut !== 'ended') {
        const outcome = this.failedAttempt(err, started, sent, guard, limits);
        if (outcome) return outcome;
        throw this.toModelError(err, limits.timeoutMs, guard.errorBody);
      }
    } finally {
      guard.stop();
      // Whatever else ended the loop, the request ends here too. A reply read to its end has
      // ended already, and aborting it anyway cost a tenth of a millisecond (a DOMException).
      if (!drained) ctl.abort();
      signal?.removeEventListener('abort', onAbort);
    }
    // The client ends an aborted stream quietly; make that visible.
    if (signal?.aborted) signal.throwIfAborted();
    if (guard.cut === 'stalled' || guard.cut === 'flooded') throw this.cutError(guard, limits);
    if (!reply.finish && !guard.sawDone && reply.hasIncompleteCall()) {
      // Closed without a finish chunk or [DONE], a tool call's arguments unfinished: a fragment.
      return this.cutReply('the stream ended in the middle of a tool call');
    }
    if (!reply.sawChoice) {
      throw this.garbled('a response with no choices');
    }
    const toolCalls = reply.toolCalls((c, position) =>
      this.checkCall(c, position, reply.finish, limits.maxArgumentBytes),
    );
    const turn: ModelTurn = { text: reply.text, toolCalls, usage: reply.usage };
    if (reply.reasoning) turn.reasoning = reply.reasoning;
    if (Object.keys(reply.extra).length > 0) turn.extra = reply.extra;
    return { kind: 'turn', turn };
  }

  /** A failure worth handling here rather than reporting: a refused option, a cut reply. */
  private failedAttempt(
    err: unknown,
    started: boolean,
    sent: OptionalRequestOption[],
    guard: ReplyGuard,
    limits: ModelLimits,
  ): Outcome | null {
    if (err instanceof APIError && err.status !== undefined) {
      const body = guard.errorBody ?? JSON.stringify(err.error ?? '');
      const option = refusedOption(err.status, body, sent);
      if (!option) return null;
      const why = serverExplanation(body) ?? `${err.status}`;
      const error = this.toModelError(err, limits.timeoutMs, guard.errorBody);
      return { kind: 'refused', option, why: `${err.status}: ${why}`, error };
    }
    if (!started || err instanceof SyntaxError) return null;
    if (err instanceof APIError && !(err instanceof OpenAI.APIConnectionError)) {
      // An error event inside an otherwise successful stream (OpenRouter: the upstream provider
      // failed mid-generation). Worth another try unless it says the request itself is wrong.
      const error = this.toModelError(err, limits.timeoutMs);
      const code = (err.error as { code?: unknown } | undefined)?.code ?? err.code;
      const numeric = typeof code === 'number' ? code : Number(code);
      const requestFault =
        Number.isInteger(numeric) &&
        numeric >= 400 &&
        numeric < 500 &&
        numeric !== 408 &&
        numeric !== 429;
      if (requestFault) return null;
      return { kind: 'retry', why: serverExplanation(err.error) ?? 'an error event', error };
    }
    // The body stopped mid-stream: the connection was dropped (undici: "terminated").
    const cause =
      err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return this.cutReply(`${err instanceof Error ? err.message : String(err)}${cause}`);
  }

  private cutReply(why: string): Outcome {
    const tries =
      this.maxRetries > 0
        ? ` (tried ${this.maxRetries + 1} ${this.maxRetries + 1 === 1 ? 'time' : 'times'})`
        : '';
    return {
      kind: 'retry',
      why,
      error: new ModelError(
        `The connection to the model endpoint at ${this.where()} was cut mid-reply${tries} ` +
          `(${clip(this.scrub(why), 200)}); nothing of the reply ran. Check the network and that the ` +
          `server is up (for a local server, its logs), then try again; if it keeps happening, check that ${FIX_BASE_URL}.`,
        'connection',
      ),
    };
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
    call: AssembledCall,
    _position: number,
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
    // An empty id is filled in (and repeated ids told apart) by the assembler.
    return {
      id: call.id,
      name: call.name,
      arguments: args,
      ...(tooLarge ? { tooLarge: call.bytes } : {}),
      ...(Object.keys(call.extra).length > 0 ? { extra: call.extra } : {}),
    };
  }

  private toModelError(err: unknown, timeoutMs = this.timeoutMs, errorBody?: string): ModelError {
    const at = this.where();
    // The client may stop early (e.g. `x-should-retry: false`), so say "up to".
    const tries =
      this.maxRetries > 0
        ? ` (retried up to ${this.maxRetries} ${this.maxRetries === 1 ? 'time' : 'times'})`
        : '';
    // The server's own words, whatever the shape of its body (the client keeps only `error`).
    const detail = (e: APIError): string => {
      const said =
        (errorBody !== undefined ? serverExplanation(errorBody) : undefined) ??
        serverExplanation(e.error) ??
        (e.message && !/\(no (status code or )?body\)/.test(e.message)
          ? e.message.replace(/^\d{3} /, '')
          : undefined);
      return said ? ` The server said: "${clip(this.scrub(said), 300).replace(/\.$/, '')}".` : '';
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
          `and ${FIX_BASE_URL}.`,
      );
    }
    if (err instanceof OpenAI.AuthenticationError) {
      return make(
        'auth',
        `The model endpoint at ${at} rejected the API key (401).${detail(err)} ${FIX_KEY}`,
      );
    }
    if (err instanceof OpenAI.PermissionDeniedError) {
      return make(
        'auth',
        `The model endpoint at ${at} refused access to model "${this.name}" (403): the API key lacks ` +
          `permission for it.${detail(err)} Use a key with access (OPENAI_API_KEY, or 'Airlock: Set API Key'), ` +
          'or choose another model: AIRLOCK_MODEL / airlock.model.',
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
        `The model endpoint at ${at} has no model "${this.name}" (404).${detail(err)} ${FIX_MODEL} If the name ` +
          `is right, check that ${FIX_BASE_URL}: the API root, usually ending in /v1.`,
      );
    }
    if (err instanceof OpenAI.InternalServerError) {
      return make(
        'server',
        `The model endpoint at ${at} failed with a server error (${err.status})${tries}.${detail(err)} Try ` +
          'again later; for a local server, check its logs.',
      );
    }
    if (err instanceof OpenAI.APIError && err.status === undefined) {
      // An `error` object sent inside an otherwise successful stream.
      return make(
        'server',
        `The model endpoint at ${at} reported an error mid-reply${this.maxRetries > 0 ? tries : ''}.${detail(err)} ` +
          'Nothing of the reply ran. Try again.',
      );
    }
    if (err instanceof OpenAI.APIError) {
      return make(
        'bad_request',
        `The model endpoint at ${at} rejected the request (${err.status}).${detail(err)} The model ` +
          `"${this.name}" may not support streaming tool calls, or the endpoint may not be the one meant. ` +
          `${FIX_MODEL} Check that ${FIX_BASE_URL}.`,
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
        `Check that the base URL points at an OpenAI-compatible API (OPENAI_BASE_URL for the CLI, the airlock.baseURL setting in VS Code).`,
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

/** Exponential backoff with jitter for retry `n` of a cut reply: ~0.5 s, 1 s, 2 s, … up to 8 s. */
function backoff(n: number): number {
  const base = Math.min(8000, 500 * 2 ** (n - 1));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** Waits `ms`, or rejects as soon as the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(
        signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * What of one stream (text or reasoning) the developer has been shown, across retries of a cut
 * reply: a retry streams the reply again from its start, and only the part past what was shown
 * is passed on. A retry that says something else starts on a new line.
 */
class ShownText {
  private shown = '';
  private current = '';
  private diverged = false;

  restart(): void {
    this.current = '';
    this.diverged = false;
  }

  push(piece: string): string {
    if (!piece) return '';
    this.current += piece;
    if (this.diverged) {
      this.shown += piece;
      return piece;
    }
    if (this.shown.startsWith(this.current)) return '';
    if (this.current.startsWith(this.shown)) {
      const out = this.current.slice(this.shown.length);
      this.shown = this.current;
      return out;
    }
    this.diverged = true;
    const out = `\n${this.current}`;
    this.shown += out;
    return out;
  }
}

/** Statuses whose response has no body (a Response with one cannot be built). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** Bytes of an error response kept to quote the server: its explanation is near the start. */
const ERROR_BODY_CAP = 64 * 1024;

/**
 * Where a request's ReplyGuard rides to the client's fetch: in its `fetchOptions`, which the
 * client spreads into the fetch's init. One client serves every request this way; a client per
 * request (`withOptions`) cost 0.3 ms a call.
 */
const GUARD = Symbol('airlock.replyGuard');

type FetchOptions = NonNullable<
  NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>['fetchOptions']
>;

/** The guard as request options: the client's types know no such key, and pass it on as is. */
function riding(guard: ReplyGuard): FetchOptions {
  return { [GUARD]: guard } as unknown as FetchOptions;
}

function guardedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const { [GUARD]: guard, ...rest } = (init ?? {}) as RequestInit & { [GUARD]?: ReplyGuard };
  // Every request this client makes carries its guard; one without it (a client that stopped
  // passing fetchOptions on) would run with no limits on the reply, so it is refused.
  if (!guard) return Promise.reject(new Error('A model request was sent without its reply guard.'));
  return guard.fetch(input, rest);
}

/**
 * One reply's watchdog. Its `fetch` times every wait on the endpoint (for the headers, then for
 * each body read) against `timeoutMs`, and counts the bytes on the wire: a reply that floods
 * (far past maxOutputBytes in all, or one server-sent event larger than any real chunk, which
 * the client would buffer whole) is cut. Either way it aborts the request through `abort`.
 * Once the reply is complete (its finish chunk, or `data: [DONE]`), a read waits only
 * `finishIdleMs` before the reply is taken as ended: some servers never close the stream. It
 * also keeps the body of an error response, which the client reduces to its `error` key.
 */
class ReplyGuard {
  cut: 'stalled' | 'flooded' | 'ended' | null = null;
  gotHeaders = false;
  /** `data: [DONE]` went by on the wire. */
  sawDone = false;
  /** The body of the last error response, as sent. */
  errorBody: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private finished = false;
  private reading = false;
  private readonly wireCap: number;
  private readonly eventCap: number;

  constructor(
    private readonly limits: ModelLimits,
    private readonly abort: () => void,
    private readonly finishIdleMs: number,
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
    if (!res.ok) {
      this.errorBody = await this.readCapped(res.body);
      return new Response(this.errorBody, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    }
    const reader = res.body.getReader();
    const meter = this.meter();
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        this.reading = true;
        this.arm(); // waiting on the endpoint for the next bytes
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } finally {
          this.reading = false;
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

  /** The reply is complete: from now on, a silent endpoint means it has ended. */
  finishing(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.reading) this.arm(); // the read under way gets the short wait too
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.cut) return;
    const [ms, why] = this.finished
      ? [Math.min(this.finishIdleMs, this.limits.timeoutMs), 'ended' as const]
      : [this.limits.timeoutMs, 'stalled' as const];
    this.timer = setTimeout(() => this.trip(why), ms);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private trip(why: 'stalled' | 'flooded' | 'ended'): void {
    if (this.cut || this.stopped) return;
    this.cut = why;
    this.disarm();
    this.abort();
  }

  private async readCapped(stream: ReadableStream<Uint8Array>): Promise<string> {
    const reader = stream.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        this.arm();
        const step = await reader.read().finally(() => this.disarm());
        if (step.done) break;
        parts.push(step.value);
        size += step.value.length;
        if (size >= ERROR_BODY_CAP) {
          void reader.cancel().catch(() => undefined);
          break;
        }
      }
    } catch {
      // what arrived is what there is to quote
    }
    return Buffer.concat(parts).subarray(0, ERROR_BODY_CAP).toString('utf8');
  }

  /** A counter for one response body: true once it passed a cap. Also watches for [DONE]. */
  private meter(): (bytes: Uint8Array) => boolean {
    let total = 0;
    let event = 0; // bytes since the last blank line (the end of a server-sent event)
    let lineEmpty = true;
    let prev = 0;
    let line = ''; // the start of the current line, enough to recognise `data: [DONE]`
    const endLine = (): void => {
      if (/^data: ?\[DONE\]/.test(line)) {
        this.sawDone = true;
        this.finishing();
      }
      line = '';
    };
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
            endLine();
          }
        } else {
          lineEmpty = false;
          if (line.length < 16) line += String.fromCharCode(b);
        }
        prev = b;
      }
      // `data: [DONE]` as the very last bytes, without a newline after it.
      if (/^data: ?\[DONE\]$/.test(line)) {
        this.sawDone = true;
        this.finishing();
      }
      return event > this.eventCap;
    };
  }
}
