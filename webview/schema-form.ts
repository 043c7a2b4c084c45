// The fields of a question form, read from the interaction's JSON Schema and its questions, and
// the form's own validation (required, enum membership, ranges) before anything is posted. Pure:
// no DOM. The host validates the answer again with the original zod schema.
import type { Question } from '../host/protocol/events.js';

/** What a control holds: text, the chosen option, "yes"/"no", or the checked options. */
export type RawValue = string | string[];

interface FieldBase {
  key: string;
  label: string;
  required: boolean;
}

export type Field =
  | (FieldBase & { kind: 'choice'; options: string[] })
  | (FieldBase & { kind: 'multi'; options: string[]; minItems?: number; maxItems?: number })
  | (FieldBase & { kind: 'text'; minLength?: number; maxLength?: number; pattern?: string })
  | (FieldBase & { kind: 'boolean' })
  | (FieldBase & {
      kind: 'number';
      integer: boolean;
      minimum?: number;
      maximum?: number;
      exclusiveMinimum?: number;
      exclusiveMaximum?: number;
    })
  /** A schema the form cannot draw: the answer is typed as JSON. */
  | (FieldBase & { kind: 'json' });

export interface FormModel {
  /** 'single': the answer is the one field's value; 'object': keyed by question id. */
  shape: 'single' | 'object';
  fields: Field[];
}

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function typeOf(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type))
    return type.find((t): t is string => typeof t === 'string' && t !== 'null');
  if (Array.isArray(schema.enum)) return 'string';
  return undefined;
}

function stringEnum(schema: Schema): string[] | undefined {
  if (!Array.isArray(schema.enum)) return undefined;
  const options = schema.enum.filter((v): v is string => typeof v === 'string');
  return options.length === schema.enum.length && options.length > 0 ? options : undefined;
}

/** Only defined keys, so optional properties stay absent rather than `undefined`. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function fieldOf(
  key: string,
  label: string,
  required: boolean,
  schema: Schema,
  question?: Question,
): Field {
  const base = { key, label, required };
  const options = stringEnum(schema) ?? (question?.options?.length ? question.options : undefined);
  switch (typeOf(schema)) {
    case 'string':
      if (options) return { ...base, kind: 'choice', options };
      return defined({
        ...base,
        kind: 'text' as const,
        minLength: num(schema.minLength),
        maxLength: num(schema.maxLength),
        pattern: typeof schema.pattern === 'string' ? schema.pattern : undefined,
      });
    case 'boolean':
      return { ...base, kind: 'boolean' };
    case 'number':
    case 'integer':
      return defined({
        ...base,
        kind: 'number' as const,
        integer: typeOf(schema) === 'integer',
        minimum: num(schema.minimum),
        maximum: num(schema.maximum),
        exclusiveMinimum: num(schema.exclusiveMinimum),
        exclusiveMaximum: num(schema.exclusiveMaximum),
      });
    case 'array': {
      const items = isSchema(schema.items) ? stringEnum(schema.items) : undefined;
      const choices = items ?? (question?.options?.length ? question.options : undefined);
      if (choices) {
        return defined({
          ...base,
          kind: 'multi' as const,
          options: choices,
          minItems: num(schema.minItems),
          maxItems: num(schema.maxItems),
        });
      }
      return { ...base, kind: 'json' };
    }
    default:
      return { ...base, kind: 'json' };
  }
}

export function formModel(
  prompt: string,
  questions: readonly Question[],
  schema: Schema,
): FormModel {
  if (typeOf(schema) === 'object' && isSchema(schema.properties)) {
    const properties = schema.properties;
    const required = new Set(
      Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : [],
    );
    const keys = [
      ...questions.map((q) => q.id).filter((id) => Object.hasOwn(properties, id)),
      ...Object.keys(properties).filter((k) => !questions.some((q) => q.id === k)),
    ];
    return {
      shape: 'object',
      fields: keys.map((key) => {
        const question = questions.find((q) => q.id === key);
        const property = properties[key];
        const sub = isSchema(property) ? property : {};
        const label =
          question?.question ??
          (typeof sub.description === 'string' ? sub.description : undefined) ??
          (typeof sub.title === 'string' ? sub.title : key);
        return fieldOf(key, label, required.has(key), sub, question);
      }),
    };
  }
  const question = questions[0];
  return {
    shape: 'single',
    fields: [
      fieldOf(question?.id ?? 'answer', question?.question ?? prompt, true, schema, question),
    ],
  };
}

export type Validation =
  { ok: true; value: unknown } | { ok: false; errors: Record<string, string> };

const REQUIRED = 'This answer is required.';

function rangeText(field: Extract<Field, { kind: 'number' }>): string | null {
  const low = field.minimum ?? field.exclusiveMinimum;
  const high = field.maximum ?? field.exclusiveMaximum;
  const what = field.integer ? 'a whole number' : 'a number';
  if (low !== undefined && high !== undefined) return `Enter ${what} from ${low} to ${high}.`;
  if (low !== undefined) return `Enter ${what} of at least ${low}.`;
  if (high !== undefined) return `Enter ${what} of at most ${high}.`;
  return null;
}

/** The field's value, `undefined` when left empty, or an error message. */
function check(field: Field, raw: RawValue | undefined): { value?: unknown; error?: string } {
  const text = typeof raw === 'string' ? raw : '';
  const empty = (): { value?: unknown; error?: string } =>
    field.required ? { error: REQUIRED } : {};
  switch (field.kind) {
    case 'text': {
      if (text.trim() === '') return empty();
      if (field.minLength !== undefined && text.length < field.minLength)
        return { error: `Use at least ${field.minLength} characters.` };
      if (field.maxLength !== undefined && text.length > field.maxLength)
        return { error: `Use at most ${field.maxLength} characters.` };
      if (field.pattern !== undefined) {
        let matches = true;
        try {
          matches = new RegExp(field.pattern, 'u').test(text);
        } catch {
          // A pattern this browser cannot compile: the host still checks it.
        }
        if (!matches) return { error: 'This answer does not have the expected format.' };
      }
      return { value: text };
    }
    case 'choice':
      if (text === '') return empty();
      if (!field.options.includes(text)) return { error: 'Choose one of the options.' };
      return { value: text };
    case 'multi': {
      const picked = Array.isArray(raw) ? raw : [];
      if (picked.some((p) => !field.options.includes(p)))
        return { error: 'Choose only from the options.' };
      if (field.minItems !== undefined && picked.length < field.minItems)
        return { error: `Choose at least ${field.minItems}.` };
      if (field.maxItems !== undefined && picked.length > field.maxItems)
        return { error: `Choose at most ${field.maxItems}.` };
      return { value: field.options.filter((o) => picked.includes(o)) };
    }
    case 'boolean':
      if (text === 'yes') return { value: true };
      if (text === 'no') return { value: false };
      return text === '' ? empty() : { error: 'Choose Yes or No.' };
    case 'number': {
      if (text.trim() === '') return empty();
      const n = Number(text);
      const range = rangeText(field) ?? `Enter ${field.integer ? 'a whole number' : 'a number'}.`;
      if (!Number.isFinite(n)) return { error: range };
      if (field.integer && !Number.isInteger(n)) return { error: range };
      if (field.minimum !== undefined && n < field.minimum) return { error: range };
      if (field.maximum !== undefined && n > field.maximum) return { error: range };
      if (field.exclusiveMinimum !== undefined && n <= field.exclusiveMinimum)
        return { error: range };
      if (field.exclusiveMaximum !== undefined && n >= field.exclusiveMaximum)
        return { error: range };
      return { value: n };
    }
    case 'json':
      if (text.trim() === '') return empty();
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'Enter valid JSON.' };
      }
  }
}

export function validate(model: FormModel, raw: Readonly<Record<string, RawValue>>): Validation {
  const errors: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const field of model.fields) {
    const result = check(field, raw[field.key]);
    if (result.error !== undefined) errors[field.key] = result.error;
    else if (result.value !== undefined) values[field.key] = result.value;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  if (model.shape === 'object') return { ok: true, value: values };
  const only = model.fields[0];
  return { ok: true, value: only ? values[only.key] : undefined };
}
