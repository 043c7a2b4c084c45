// The model seam: what the agent loop needs from a chat model. The only implementation talks
// to an OpenAI-compatible endpoint through the `openai` package (the demo model included).
import type OpenAI from 'openai';

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
}

export interface ModelTurn {
  text: string;
  toolCalls: ModelToolCall[];
  usage: { prompt_tokens: number; completion_tokens: number };
}

export interface ModelRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
}

export type ModelChunk = { type: 'delta'; text: string };

export interface Model {
  readonly name: string;
  /** Streams text deltas, then returns the whole turn. Throws ModelError with a fix to try. */
  stream(request: ModelRequest, signal?: AbortSignal): AsyncGenerator<ModelChunk, ModelTurn>;
}

export type ModelErrorKind =
  'auth' | 'rate_limit' | 'server' | 'timeout' | 'connection' | 'malformed' | 'bad_request';

export class ModelError extends Error {
  constructor(
    message: string,
    readonly kind: ModelErrorKind,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
