// A question's JSON Schema as palette prompts (one input box or quick pick per answer), and the
// answers assembled into the value the host validates. Pure. The sidebar has the full form; this
// covers what the built-in question tools ask (text, choices, yes/no, numbers, several at once)
// and falls back to typing JSON for anything else.
import type { InteractionEvent } from '../host/protocol/events.js';

type Kind =
  | { kind: 'text'; minLength: number }
  | { kind: 'number'; integer: boolean }
  | { kind: 'pick'; options: string[] }
  | { kind: 'multi'; options: string[] }
  | { kind: 'yesno' }
  | { kind: 'json' };

/** One prompt; `key` is the answer's property in an object answer, null for a bare answer. */
export type AnswerStep = Kind & { key: string | null; question: string };

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')
    ? value
    : undefined;

function kindOf(schema: Schema): Kind {
  const options = strings(schema.enum);
  if (options) return { kind: 'pick', options };
  switch (schema.type) {
    case 'boolean':
      return { kind: 'yesno' };
    case 'string':
      return {
        kind: 'text',
        minLength: typeof schema.minLength === 'number' ? schema.minLength : 0,
      };
    case 'number':
    case 'integer':
      return { kind: 'number', integer: schema.type === 'integer' };
    case 'array': {
      const items = isSchema(schema.items) ? strings(schema.items.enum) : undefined;
      return items ? { kind: 'multi', options: items } : { kind: 'json' };
    }
    default:
      return { kind: 'json' };
  }
}

export function answerSteps(interaction: InteractionEvent): AnswerStep[] {
  const { schema, questions } = interaction;
  const textOf = (key: string) => questions.find((q) => q.id === key)?.question ?? key;
  if (schema.type === 'object' && isSchema(schema.properties)) {
    const properties = schema.properties;
    const keys = Object.keys(properties);
    // The questions' order when they name the properties, else the schema's.
    const ordered = [
      ...questions.map((q) => q.id).filter((id) => keys.includes(id)),
      ...keys.filter((k) => !questions.some((q) => q.id === k)),
    ];
    return ordered.map((key) => {
      const property = properties[key];
      const kind: Kind = isSchema(property) ? kindOf(property) : { kind: 'json' };
      return { ...kind, key, question: textOf(key) };
    });
  }
  return [{ ...kindOf(schema), key: null, question: questions[0]?.question ?? interaction.prompt }];
}

/** Turns one typed answer into its value, or says why it does not fit. */
export function parseTyped(
  step: AnswerStep,
  typed: string,
): { value: unknown } | { error: string } {
  switch (step.kind) {
    case 'text':
      return typed.length >= step.minLength ? { value: typed } : { error: 'Type an answer.' };
    case 'number': {
      const n = Number(typed.trim());
      if (typed.trim() === '' || !Number.isFinite(n)) return { error: 'Type a number.' };
      if (step.integer && !Number.isInteger(n)) return { error: 'Type a whole number.' };
      return { value: n };
    }
    case 'json':
      try {
        return { value: JSON.parse(typed) as unknown };
      } catch {
        return { error: 'Type a JSON value, e.g. "text", 42, true or ["a", "b"].' };
      }
    default:
      return { value: typed };
  }
}

/** The answer the host gets: the bare value, or an object keyed by the steps' keys. */
export function assembleAnswer(steps: readonly AnswerStep[], values: readonly unknown[]): unknown {
  if (steps.length === 1 && steps[0]?.key === null) return values[0];
  return Object.fromEntries(steps.map((step, i) => [step.key ?? String(i), values[i]]));
}
