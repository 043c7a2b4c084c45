// `suspend(request)`: a handler asks the developer for a value. The first time it pauses the run
// (by throwing a SuspendSignal the runtime catches); on resume the handler re-runs from the top
// and the same call returns the supplied answer. Answers travel through AsyncLocalStorage so
// handlers need no extra parameter.
import { AsyncLocalStorage } from 'node:async_hooks';
import { z } from 'zod';
import type { Question } from '../protocol/events.js';
import { interactionId } from './ids.js';

export interface SuspendRequest<S extends z.ZodType = z.ZodType> {
  prompt: string;
  questions?: Question[];
  schema?: S;
}

export interface PendingInteraction {
  interactionId: string;
  prompt: string;
  questions: Question[];
  schema: Record<string, unknown>;
}

export class SuspendSignal extends Error {
  constructor(readonly interaction: PendingInteraction) {
    super(`Waiting for the developer: ${interaction.prompt}`);
    this.name = 'SuspendSignal';
  }
}

interface SuspendScope {
  runId: string;
  callId: string;
  answers: Readonly<Record<string, unknown>>;
  count: number;
}

const scope = new AsyncLocalStorage<SuspendScope>();

export function withSuspendScope<T>(
  runId: string,
  callId: string,
  answers: Readonly<Record<string, unknown>>,
  fn: () => T,
): T {
  return scope.run({ runId, callId, answers, count: 0 }, fn);
}

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Without a schema, `suspend()` takes any JSON value (SPEC §2). */
type AnyJson = ReturnType<typeof z.json>;

export async function suspend<S extends z.ZodType = AnyJson>(
  request: SuspendRequest<S>,
): Promise<z.output<S>> {
  const current = scope.getStore();
  if (!current) throw new Error('suspend() can only be called from inside a tool handler.');
  const schema: z.ZodType = request.schema ?? z.json();
  const index = current.count++;
  const id = interactionId(current.runId, current.callId, index, request.prompt);
  if (Object.prototype.hasOwnProperty.call(current.answers, id)) {
    // Already validated when the resume was accepted; parsing again yields the typed value.
    return (await schema.parseAsync(current.answers[id])) as z.output<S>;
  }
  throw new SuspendSignal({
    interactionId: id,
    prompt: request.prompt,
    questions: request.questions ?? [],
    schema: jsonSchemaOf(schema),
  });
}
