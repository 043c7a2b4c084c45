// The model seam: what the agent loop needs from a chat model. The only implementation talks
// to an OpenAI-compatible endpoint through the `openai` package (the demo model included).
import type OpenAI from 'openai';
import { LIMIT_DEFAULTS } from '../settings-schema.js';

export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelToolCall {
  id: string;
  name: string;
  /** The raw JSON text the model produced; the client has checked that it parses. */
  arguments: string;
  /**
   * Set when the arguments were larger than `maxArgumentBytes`: how many bytes the model sent.
   * `arguments` is then "{}": the oversized text was dropped as it streamed, never parsed or kept.
   */
  tooLarge?: number;
  /**
   * Provider fields on the tool call that Airlock does not interpret (Gemini's
   * `extra_content.google.thought_signature`, …): kept and sent back verbatim (SPEC §3).
   */
  extra?: Record<string, unknown>;
}

export interface ModelTurn {
  text: string;
  toolCalls: ModelToolCall[];
  usage: { prompt_tokens: number; completion_tokens: number };
  /** The model's reasoning text ("thinking"), when the provider streams one; shown collapsed. */
  reasoning?: string;
  /**
   * Provider fields on the assistant message that Airlock does not interpret
   * (`reasoning_content`, `reasoning`, `reasoning_details`, …): kept in the run state and sent
   * back verbatim on the next request (DeepSeek and Kimi refuse a request without them).
   */
  extra?: Record<string, unknown>;
}

/** What one model reply may cost (SPEC §9); past a limit the reply is cut with a ModelError. */
export interface ModelLimits {
  /** Wait for the response to start, and between two streamed chunks (airlock.requestTimeout). */
  timeoutMs: number;
  /** Bytes of text plus kept tool arguments in one reply (airlock.maxOutputBytes). */
  maxOutputBytes: number;
  /** Bytes of one tool call's arguments; more is dropped and the call marked `tooLarge`. */
  maxArgumentBytes: number;
  /** Tool calls in one reply (airlock.maxToolCallsPerTurn). */
  maxToolCalls: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = {
  timeoutMs: LIMIT_DEFAULTS.requestTimeout * 1000,
  maxOutputBytes: LIMIT_DEFAULTS.maxOutputBytes,
  maxArgumentBytes: LIMIT_DEFAULTS.maxArgumentBytes,
  maxToolCalls: LIMIT_DEFAULTS.maxToolCallsPerTurn,
};

export interface ModelRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
  /** Unset fields: the model's own defaults (its `timeoutMs`, DEFAULT_MODEL_LIMITS). */
  limits?: Partial<ModelLimits>;
}

export type ModelChunk =
  | { type: 'delta'; text: string }
  /** Reasoning text as it streams: shown to the developer collapsed, never as the answer. */
  | { type: 'reasoning'; text: string };

export interface Model {
  readonly name: string;
  /** Streams text deltas, then returns the whole turn. Throws ModelError with a fix to try. */
  stream(request: ModelRequest, signal?: AbortSignal): AsyncGenerator<ModelChunk, ModelTurn>;
}

export type ModelErrorKind =
  | 'auth'
  | 'rate_limit'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'malformed'
  | 'bad_request'
  /** A reply past one of the limits (output bytes, tool calls per turn). */
  | 'limit';

export class ModelError extends Error {
  constructor(
    message: string,
    readonly kind: ModelErrorKind,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** How a message names a limit's setting, for the editor and the CLI alike. */
export function settingHint(key: string): string {
  return `airlock.${key} in VS Code, "${key}" in the CLI's config.json`;
}

export function byteSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** A turn with more tool calls than allowed: none of them runs and the run ends. */
export function tooManyToolCalls(count: number | null, limit: number): ModelError {
  const many = count === null ? `more than ${limit}` : String(count);
  return new ModelError(
    `The model asked for ${many} tool calls in one turn; the limit is ${limit} (${settingHint('maxToolCallsPerTurn')}). ` +
      'None of them ran. Ask for smaller steps, or raise the limit if this many calls at once is intended.',
    'limit',
  );
}

/** What the model reads instead of running a call whose arguments are too large. */
export function argumentsTooLarge(tool: string, bytes: number, limit: number): string {
  return (
    `Error: the arguments of this ${tool} call are ${byteSize(bytes)}, more than the ${byteSize(limit)} ` +
    `one tool call may carry (${settingHint('maxArgumentBytes')}); the call was refused and nothing ran. ` +
    'Split the work into smaller calls (for example, write a large file in parts with edit_file).'
  );
}
