// One reading of a question's JSON Schema for every place that asks it: the sidebar form, the
// palette prompts and the CLI. The fields (types, bounds, options, defaults, required), typed text
// turned into the schema's type ("5" → 5 for an integer), and the answer checked with
// `z.fromJSONSchema`, exactly as the host checks it on resume (host/runtime/resume-plan.ts).
// Pure: no Node, no DOM, no vscode, so the webview, the extension and the host all import it.
import { z } from 'zod';
import type { Question } from './events.js';

/** What a control holds: text, the chosen option, "yes"/"no", or the checked options. */
export type RawValue = string | string[];

interface FieldBase {
  /** The answer's property in an object answer; the question's id for a lone answer. */
  key: string;
  label: string;
  required: boolean;
  /** The schema's `default`, used when the answer is left empty. */
  default?: unknown;
}

export type Field =
  /** One of `options`; with `other`, the options are suggestions and any text is an answer. */
  | (FieldBase & { kind: 'choice'; options: string[]; other: boolean })
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
  /** A schema no control can draw: the answer is typed as JSON. */
  | (FieldBase & { kind: 'json' });

export type JsonSchema = Record<string, unknown>;

export interface FormModel {
  /** 'single': the answer is the one field's value; 'object': keyed by field key. */
  shape: 'single' | 'object';
  fields: Field[];
  /** The interaction's schema, which the whole answer must fit. */
  schema: JsonSchema;
}

function isSchema(value: unknown): value is JsonSchema {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function typeOf(schema: JsonSchema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type))
    return type.find((t): t is string => typeof t === 'string' && t !== 'null');
  if (Array.isArray(schema.enum)) return 'string';
  return undefined;
}

function stringEnum(schema: JsonSchema): string[] | undefined {
  if (!Array.isArray(schema.enum)) return undefined;
  const options = schema.enum.filter((v): v is string => typeof v === 'string');
  return options.length === schema.enum.length && options.length > 0 ? options : undefined;
}

/** A number bound worth showing: zod writes ±MAX_SAFE_INTEGER for every `.int()`. */
function bound(value: unknown): number | undefined {
  const n = num(value);
  return n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined;
}

/** Only defined keys, so optional properties stay absent rather than `undefined`. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function fieldOf(
  key: string,
  label: string,
  required: boolean,
  schema: JsonSchema,
  question?: Question,
): Field {
  const base = defined({ key, label, required, default: schema.default });
  const suggested = question?.options?.length ? [...new Set(question.options)] : undefined;
  switch (typeOf(schema)) {
    case 'string': {
      const strict = stringEnum(schema);
      if (strict) return { ...base, kind: 'choice', options: strict, other: false };
      // The question's options without an enum are suggestions (ask_user, SPEC §2).
      if (suggested) return { ...base, kind: 'choice', options: suggested, other: true };
      return defined({
        ...base,
        kind: 'text' as const,
        minLength: num(schema.minLength),
        maxLength: num(schema.maxLength),
        pattern: typeof schema.pattern === 'string' ? schema.pattern : undefined,
      });
    }
    case 'boolean':
      return { ...base, kind: 'boolean' };
    case 'number':
    case 'integer':
      return defined({
        ...base,
        kind: 'number' as const,
        integer: typeOf(schema) === 'integer',
        minimum: bound(schema.minimum),
        maximum: bound(schema.maximum),
        exclusiveMinimum: bound(schema.exclusiveMinimum),
        exclusiveMaximum: bound(schema.exclusiveMaximum),
      });
    case 'array': {
      const items = isSchema(schema.items) ? stringEnum(schema.items) : undefined;
      if (items) {
        return defined({
          ...base,
          kind: 'multi' as const,
          options: items,
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

/** The fields of an interaction: one per property of an object schema, else one. */
export function formModel(
  prompt: string,
  questions: readonly Question[],
  schema: JsonSchema,
): FormModel {
  if (typeOf(schema) === 'object' && isSchema(schema.properties)) {
    const properties = schema.properties;
    const required = new Set(
      Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : [],
    );
    // The questions' order when they name the properties, then the schema's.
    const keys = [
      ...questions.map((q) => q.id).filter((id) => Object.hasOwn(properties, id)),
      ...Object.keys(properties).filter((k) => !questions.some((q) => q.id === k)),
    ];
    return {
      shape: 'object',
      schema,
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
    schema,
    fields: [
      fieldOf(question?.id ?? 'answer', question?.question ?? prompt, true, schema, question),
    ],
  };
}

/** The default as a control's raw value, to show it pre-filled; undefined without one. */
export function defaultRaw(field: Field): RawValue | undefined {
  const value = field.default;
  if (value === undefined) return undefined;
  switch (field.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? (value ? 'yes' : 'no') : undefined;
    case 'multi':
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    case 'json':
      return JSON.stringify(value);
    default:
      return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  }
}

/**
 * One line of typed text (the CLI, an input box) as a control's raw value: an option's number
 * ("2") or name for a choice, y / yes / n / no for a boolean, comma-separated numbers or names
 * for several choices; anything else as typed.
 */
export function rawFromTyped(field: Field, typed: string): RawValue {
  const text = typed.trim();
  const option = (word: string, options: readonly string[]): string => {
    const n = Number(word);
    return /^\d+$/.test(word) && n >= 1 && n <= options.length ? options[n - 1]! : word;
  };
  switch (field.kind) {
    case 'choice':
      return option(text, field.options);
    case 'multi':
      return text === ''
        ? []
        : text
            .split(',')
            .map((w) => w.trim())
            .filter((w) => w !== '')
            .map((w) => option(w, field.options));
    case 'boolean': {
      const word = text.toLowerCase();
      if (word === 'y' || word === 'yes') return 'yes';
      if (word === 'n' || word === 'no') return 'no';
      return text;
    }
    case 'number':
    case 'json':
      return text;
    default:
      return typed;
  }
}

export const REQUIRED = 'This answer is required.';

/** What a number field asks for, with its bounds: "Type a whole number from 1 to 10." */
function numberText(field: Extract<Field, { kind: 'number' }>): string {
  const low = field.minimum ?? field.exclusiveMinimum;
  const high = field.maximum ?? field.exclusiveMaximum;
  const what = field.integer ? 'a whole number' : 'a number';
  if (low !== undefined && high !== undefined) return `Type ${what} from ${low} to ${high}.`;
  if (low !== undefined) return `Type ${what} of at least ${low}.`;
  if (high !== undefined) return `Type ${what} of at most ${high}.`;
  return `Type ${what}.`;
}

export type FieldResult = { value?: unknown; error?: string };

/**
 * One field's raw value in the schema's type: `{ value }`, `{}` when an optional field is left
 * empty, or `{ error }` in words for the developer. An empty field with a default takes it.
 */
export function readField(field: Field, raw: RawValue | undefined): FieldResult {
  const text = typeof raw === 'string' ? raw : '';
  const empty = (): FieldResult =>
    field.default !== undefined
      ? { value: field.default }
      : field.required
        ? { error: REQUIRED }
        : {};
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
          // A pattern this engine cannot compile: the schema check below still runs.
        }
        if (!matches) return { error: 'This answer does not have the expected format.' };
      }
      return { value: text };
    }
    case 'choice':
      if (text.trim() === '') return empty();
      if (field.options.includes(text) || field.other) return { value: text };
      return { error: 'Choose one of the options.' };
    case 'multi': {
      const picked = Array.isArray(raw) ? raw : text ? [text] : [];
      if (picked.length === 0 && field.default !== undefined) return { value: field.default };
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
      // An empty box asks for a number rather than saying "required".
      if (text.trim() === '')
        return field.required && field.default === undefined
          ? { error: 'Type a number.' }
          : empty();
      const n = Number(text.trim());
      const range = numberText(field);
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
        return { error: 'Type a JSON value, e.g. "text", 42, true or ["a", "b"].' };
      }
  }
}

/** The schema as zod reads it; undefined for one zod cannot read (the host decides then). */
function schemaParser(schema: JsonSchema): z.ZodType | undefined {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return undefined;
  }
}

export type Validation =
  | { ok: true; value: unknown }
  | {
      ok: false;
      /** Messages keyed by field key; `''` for a problem with the answer as a whole. */
      errors: Record<string, string>;
    };

/** The answer the host gets from the fields' values: the bare value, or an object by key. */
export function assemble(model: FormModel, values: Readonly<Record<string, unknown>>): unknown {
  if (model.shape === 'object') {
    return Object.fromEntries(
      model.fields.filter((f) => values[f.key] !== undefined).map((f) => [f.key, values[f.key]]),
    );
  }
  const only = model.fields[0];
  return only ? values[only.key] : undefined;
}

/** Every field read and the whole answer checked against the schema; errors by field. */
export function validate(model: FormModel, raw: Readonly<Record<string, RawValue>>): Validation {
  const errors: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const field of model.fields) {
    const result = readField(field, raw[field.key]);
    if (result.error !== undefined) errors[field.key] = result.error;
    else if (result.value !== undefined) values[field.key] = result.value;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return validateValues(model, values);
}

/** Values already read (one per field key) checked as a whole against the schema. */
export function validateValues(
  model: FormModel,
  values: Readonly<Record<string, unknown>>,
): Validation {
  const value = assemble(model, values);
  const parser = schemaParser(model.schema);
  if (!parser) return { ok: true, value };
  const checked = parser.safeParse(value);
  if (checked.success) return { ok: true, value: checked.data };
  const errors: Record<string, string> = {};
  const keys = new Set(model.fields.map((f) => f.key));
  const only = model.fields[0]?.key ?? '';
  for (const issue of checked.error.issues) {
    const head = issue.path[0];
    const key =
      model.shape === 'single' ? only : typeof head === 'string' && keys.has(head) ? head : '';
    errors[key] ??= issue.message;
  }
  return { ok: false, errors };
}

/** The errors of a failed validation as one sentence per field, for a terminal or a box. */
export function errorText(model: FormModel, errors: Readonly<Record<string, string>>): string {
  return Object.entries(errors)
    .map(([key, message]) => {
      const field = model.fields.find((f) => f.key === key);
      return field && model.shape === 'object' ? `${field.label}: ${message}` : message;
    })
    .join('\n');
}
