// One streamed reply put back together from its chunks, the way real OpenAI-compatible servers
// send them (SPEC §3): text and reasoning deltas, usage wherever the provider puts it, provider
// fields on the message and on each tool call kept verbatim, and tool calls assembled whether
// they come with an `index` or without, with ids on every chunk or on none, with the same id
// twice, one whole call per chunk, or a `{}` placeholder before the real arguments.
import { createHash } from 'node:crypto';
import {
  tooManyToolCalls,
  type ModelError,
  type ModelLimits,
  type ModelToolCall,
} from './model.js';

export type AssemblyLimits = Pick<
  ModelLimits,
  'maxOutputBytes' | 'maxArgumentBytes' | 'maxToolCalls'
>;

/** What one chunk adds to what the developer sees. */
export interface ChunkView {
  text: string;
  reasoning: string;
}

export interface AssembledCall {
  id: string;
  name: string;
  /** Kept only while within maxArgumentBytes; emptied once the call is too large. */
  arguments: string;
  /** Bytes of arguments the model sent for this call, kept or not. */
  bytes: number;
  /** Provider fields on the call (Gemini's `extra_content`), merged across chunks. */
  extra: Record<string, unknown>;
}

/** Delta fields Airlock reads itself; every other non-null one is a provider field kept verbatim. */
const KNOWN_DELTA_KEYS = new Set([
  'role',
  'content',
  'refusal',
  'tool_calls',
  'function_call',
  'audio',
  'annotations',
  'name',
  'tool_call_id',
]);
const KNOWN_CALL_KEYS = new Set(['index', 'id', 'type', 'function']);
/** Fields of streamed reasoning-detail items (OpenRouter's `reasoning_details`) that arrive in pieces. */
const PIECEWISE_ITEM_KEYS = new Set(['text', 'summary', 'data']);

export class ReplyAssembler {
  text = '';
  reasoning = '';
  /** The last `finish_reason` the stream gave (an empty string is not one). */
  finish: string | null = null;
  sawChoice = false;
  usage = { prompt_tokens: 0, completion_tokens: 0 };
  readonly calls: AssembledCall[] = [];
  /** Provider fields on the assistant message (`reasoning_content`, `reasoning_details`, …). */
  readonly extra: Record<string, unknown> = {};
  private readonly byIndex = new Map<number, AssembledCall>();
  private last: AssembledCall | undefined;
  /** Bytes of text, reasoning, provider fields and kept tool arguments: bounded by maxOutputBytes. */
  private kept = 0;

  constructor(
    private readonly limits: AssemblyLimits,
    private readonly tooMuchOutput: () => ModelError,
  ) {}

  /** Takes one parsed chunk; returns the text and reasoning it adds, for the developer to see. */
  push(chunk: Record<string, unknown>): ChunkView {
    const view: ChunkView = { text: '', reasoning: '' };
    const choices = Array.isArray(chunk.choices) ? chunk.choices.map(record) : [];
    // One reply is asked for: choice 0 (Azure's filter chunks carry no delta at all).
    const choice = choices.find((c) => c?.index === 0) ?? choices.find((c) => !!c);
    // Usage where the provider puts it: on the chunk (OpenAI), under `x_groq` (Groq), or inside
    // the finish choice (Moonshot).
    const usage =
      usageOf(chunk.usage) ?? usageOf(record(chunk.x_groq)?.usage) ?? usageOf(choice?.usage);
    if (usage) this.usage = usage;
    if (!choice) return view; // a usage chunk, or Azure's prompt_filter_results
    this.sawChoice = true;
    if (typeof choice.finish_reason === 'string' && choice.finish_reason)
      this.finish = choice.finish_reason;
    const delta = record(choice.delta) ?? {};
    if (typeof delta.content === 'string' && delta.content) {
      this.keep(delta.content);
      this.text += delta.content;
      view.text = delta.content;
    }
    // DeepSeek, Kimi, vLLM: `reasoning_content`; Ollama, OpenRouter, newer vLLM: `reasoning`.
    const thought = [delta.reasoning_content, delta.reasoning].find(
      (r): r is string => typeof r === 'string' && r.length > 0,
    );
    if (thought) {
      this.keep(thought);
      this.reasoning += thought;
      view.reasoning = thought;
    }
    for (const [key, value] of Object.entries(delta)) {
      if (KNOWN_DELTA_KEYS.has(key) || isEmpty(value)) continue;
      // The reasoning text is counted once, above; every other field is counted here.
      if (value !== thought) this.keep(JSON.stringify(value));
      this.extra[key] = mergeStreamed(this.extra[key], value);
    }
    const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    calls.forEach((raw, position) => {
      const tc = record(raw);
      if (tc) this.pushCall(tc, position);
    });
    return view;
  }

  /** A call whose arguments stopped short of complete JSON (the stream was cut inside it). */
  hasIncompleteCall(): boolean {
    return this.calls.some(
      (c) =>
        c.bytes <= this.limits.maxArgumentBytes &&
        c.arguments.trim() !== '' &&
        !isCompleteJson(c.arguments),
    );
  }

  /** The assembled calls with their ids made present and distinct. */
  toolCalls(check: (call: AssembledCall, position: number) => ModelToolCall): ModelToolCall[] {
    const out = this.calls.map(check);
    distinctIds(out);
    return out;
  }

  private pushCall(tc: Record<string, unknown>, position: number): void {
    const index = typeof tc.index === 'number' ? tc.index : undefined;
    const fn = record(tc.function) ?? {};
    const id = typeof tc.id === 'string' ? tc.id : '';
    const name = typeof fn.name === 'string' ? fn.name : '';
    // Arguments are a JSON text; a few servers send the object itself.
    const args =
      typeof fn.arguments === 'string'
        ? fn.arguments
        : fn.arguments && typeof fn.arguments === 'object'
          ? JSON.stringify(fn.arguments)
          : '';
    // With an index, the call of that index; without one, the call last added to, except for
    // the second and later entries of one delta, which are calls of their own.
    let call =
      index !== undefined ? this.byIndex.get(index) : position === 0 ? this.last : undefined;
    if (call && startsAnotherCall(call, id, name, args)) {
      if (!name && !id) {
        // The same tool again, told apart only by its complete arguments: the same name.
        call = this.newCall(index, call.name);
      } else call = undefined;
    }
    call ??= this.newCall(index, '');
    if (id) call.id = id;
    if (name) call.name = name;
    for (const [key, value] of Object.entries(tc)) {
      if (KNOWN_CALL_KEYS.has(key) || isEmpty(value)) continue;
      this.keep(JSON.stringify(value));
      call.extra[key] = mergeDeep(call.extra[key], value);
    }
    if (args) this.addArguments(call, args);
  }

  private newCall(index: number | undefined, name: string): AssembledCall {
    // Cut as soon as the turn has one call too many: none of them will run anyway.
    if (this.calls.length >= this.limits.maxToolCalls)
      throw tooManyToolCalls(null, this.limits.maxToolCalls);
    const call: AssembledCall = { id: '', name, arguments: '', bytes: 0, extra: {} };
    this.calls.push(call);
    if (index !== undefined) this.byIndex.set(index, call);
    this.last = call;
    return call;
  }

  private addArguments(call: AssembledCall, piece: string): void {
    // A `{}` placeholder, then the real arguments (autogen #6843): the real ones replace it;
    // `{}{...}` is never valid JSON, so nothing that would parse is lost.
    if (
      call.bytes > 0 &&
      call.arguments.trim() === '{}' &&
      call.bytes <= this.limits.maxArgumentBytes
    ) {
      if (piece.trim() === '{}') return;
      this.kept -= call.bytes;
      call.arguments = '';
      call.bytes = 0;
    }
    // The complete arguments sent again (some servers repeat them in the last chunk).
    if (call.arguments && piece === call.arguments && isCompleteJson(piece)) return;
    const bytes = Buffer.byteLength(piece);
    call.bytes += bytes;
    if (call.bytes <= this.limits.maxArgumentBytes) {
      this.keep(piece);
      call.arguments += piece;
    } else if (call.arguments) {
      // Too large for one call: drop what was kept; the engine refuses the call.
      this.kept -= call.bytes - bytes;
      call.arguments = '';
    }
  }

  private keep(s: string): void {
    this.kept += Buffer.byteLength(s);
    if (this.kept > this.limits.maxOutputBytes) throw this.tooMuchOutput();
  }
}

/**
 * Whether a tool-call delta that would continue `call` starts a new one instead: a different id
 * or a different name (Gemini sends parallel calls one per chunk, without an index or all with
 * index 0), or complete arguments arriving for a call whose arguments are already complete (the
 * same tool called again without an id). Empty names and repeated ids (LM Studio, Fireworks)
 * continue the call.
 */
function startsAnotherCall(call: AssembledCall, id: string, name: string, args: string): boolean {
  if (id && call.id && id !== call.id) return true;
  if (name && call.name && name !== call.name) return true;
  if (!args.trimStart().startsWith('{') || !call.arguments) return false;
  if (call.arguments.trim() === '{}' || args === call.arguments) return false;
  return isCompleteJson(call.arguments);
}

function isCompleteJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Gives every call an id, and each a different one. A call without an id gets a stable one made
 * from its position, name and arguments. When the provider gave two calls the same id (DeepSeek,
 * GLM: HKUDS/nanobot #3943), the first keeps it and each later one gets a new id of the same
 * length and alphabet, so the assistant message sent back and the tool results pair one to one,
 * and an endpoint that checks the id's form (Mistral wants 9 letters and digits) still accepts it.
 */
function distinctIds(calls: ModelToolCall[]): void {
  const taken = new Set<string>();
  calls.forEach((call, position) => {
    if (!call.id) {
      call.id = `call_${position}_${createHash('sha256')
        .update(call.name + call.arguments)
        .digest('hex')
        .slice(0, 12)}`;
    }
    for (let n = 1; taken.has(call.id); n++) call.id = sameShape(call.id, `${position}#${n}`);
    taken.add(call.id);
  });
}

const ALNUM_LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' + ALNUM_LOWER;

/** An id of the same length whose last characters are replaced, from the id's own alphabet. */
function sameShape(id: string, salt: string): string {
  const alphabet = /[A-Z]/.test(id) ? ALNUM : ALNUM_LOWER;
  const n = Math.min(6, id.length);
  const digest = createHash('sha256').update(`${id}\0${salt}`).digest();
  let tail = '';
  for (let i = 0; i < n; i++) tail += alphabet[digest[i]! % alphabet.length];
  return id.slice(0, id.length - n) + tail;
}

function usageOf(value: unknown): { prompt_tokens: number; completion_tokens: number } | null {
  const u = record(value);
  if (!u) return null;
  const p = u.prompt_tokens;
  const c = u.completion_tokens;
  if (typeof p !== 'number' && typeof c !== 'number') return null;
  return {
    prompt_tokens: typeof p === 'number' ? p : 0,
    completion_tokens: typeof c === 'number' ? c : 0,
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

/**
 * A message-level provider field streamed over several chunks: text is concatenated (streamed
 * `reasoning_content`), lists of items are merged by their `index` (OpenRouter's
 * `reasoning_details`), objects are merged, anything else takes the latest value.
 */
function mergeStreamed(prev: unknown, next: unknown): unknown {
  if (typeof prev === 'string' && typeof next === 'string') return prev + next;
  if (Array.isArray(prev) && Array.isArray(next)) {
    const out = prev.map((item) => (record(item) ? { ...(item as object) } : item));
    for (const item of next) {
      const r = record(item);
      const at =
        r && typeof r.index === 'number' ? out.findIndex((o) => record(o)?.index === r.index) : -1;
      if (at < 0 || !r) out.push(item);
      else out[at] = mergeItem(record(out[at])!, r);
    }
    return out;
  }
  return mergeDeep(prev, next);
}

function mergeItem(prev: Record<string, unknown>, next: Record<string, unknown>): object {
  const out: Record<string, unknown> = { ...prev };
  for (const [key, value] of Object.entries(next)) {
    const old = out[key];
    out[key] =
      PIECEWISE_ITEM_KEYS.has(key) && typeof old === 'string' && typeof value === 'string'
        ? old + value
        : value === null && old !== undefined
          ? old
          : mergeDeep(old, value);
  }
  return out;
}

/** Objects merged key by key; anything else: the latest value. */
function mergeDeep(prev: unknown, next: unknown): unknown {
  const a = record(prev);
  const b = record(next);
  if (!a || !b) return next;
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = mergeDeep(a[key], value);
  return out;
}
