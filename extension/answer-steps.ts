// A question as palette prompts (one input box or quick pick per field of the shared form model,
// host/protocol/answer-form.ts), and the answers assembled into the value the host validates.
// Pure. Suggested options (ask_user) are a 'pick' step with `other`: its quick pick
// ends with "Other…", and `parseTyped` reads the answer the developer then types.
import {
  formModel,
  rawFromTyped,
  readField,
  validateValues,
  errorText,
  type Field,
  type FormModel,
} from '../host/protocol/answer-form.js';
import type { InteractionEvent } from '../host/protocol/events.js';

type Kind =
  | { kind: 'text'; minLength?: number; maxLength?: number; pattern?: string }
  | {
      kind: 'number';
      integer: boolean;
      minimum?: number;
      maximum?: number;
      exclusiveMinimum?: number;
      exclusiveMaximum?: number;
    }
  /** `other`: the options are suggestions, and an answer of the developer's own is fine too. */
  | { kind: 'pick'; options: string[]; other?: true }
  | { kind: 'multi'; options: string[]; minItems?: number; maxItems?: number }
  | { kind: 'yesno' }
  | { kind: 'json' };

/** One prompt; `key` is the answer's property in an object answer, null for a bare answer. */
export type AnswerStep = Kind & {
  key: string | null;
  question: string;
  /** Set when the answer may be left empty. */
  optional?: true;
  /** The schema's default, taken when the answer is left empty. */
  default?: unknown;
};

/** The quick pick item that lets the developer type an answer of their own. */
export const OTHER = 'Other…';

function stepOf(field: Field, key: string | null): AnswerStep {
  const { key: _key, label, required, default: fallback, ...kind } = field;
  const extra = {
    key,
    question: label,
    ...(required ? {} : { optional: true as const }),
    ...(fallback !== undefined ? { default: fallback } : {}),
  };
  switch (kind.kind) {
    case 'choice':
      return {
        kind: 'pick',
        options: kind.options,
        ...(kind.other ? { other: true as const } : {}),
        ...extra,
      };
    case 'boolean':
      return { kind: 'yesno', ...extra };
    default:
      return { ...kind, ...extra };
  }
}

/** The shared model's field for a step, to read typed text the way every other place does. */
function fieldOf(step: AnswerStep): Field {
  const { key, question, optional, default: fallback, ...kind } = step;
  const base = {
    key: key ?? 'answer',
    label: question,
    required: !optional,
    ...(fallback !== undefined ? { default: fallback } : {}),
  };
  switch (kind.kind) {
    case 'pick':
      return { ...base, kind: 'choice', options: kind.options, other: kind.other === true };
    case 'yesno':
      return { ...base, kind: 'boolean' };
    default:
      return { ...base, ...kind };
  }
}

function modelOf(interaction: InteractionEvent): FormModel {
  return formModel(interaction.prompt, interaction.questions, interaction.schema);
}

export function answerSteps(interaction: InteractionEvent): AnswerStep[] {
  const model = modelOf(interaction);
  return model.fields.map((field) => stepOf(field, model.shape === 'object' ? field.key : null));
}

/** Turns one typed answer into its value, or says why it does not fit. */
export function parseTyped(
  step: AnswerStep,
  typed: string,
): { value: unknown } | { error: string } {
  const field = fieldOf(step);
  const read = readField(field, rawFromTyped(field, typed));
  return read.error !== undefined ? { error: read.error } : { value: read.value };
}

/** The answer the host gets: the bare value, or an object keyed by the steps' keys. */
export function assembleAnswer(steps: readonly AnswerStep[], values: readonly unknown[]): unknown {
  if (steps.length === 1 && steps[0]?.key === null) return values[0];
  return Object.fromEntries(
    steps
      .map((step, i) => [step.key ?? String(i), values[i]] as const)
      .filter(([, value]) => value !== undefined),
  );
}

/**
 * The assembled answer checked against the question's schema as the host will check it: the
 * answer, or the reason it does not fit (to show before anything is sent).
 */
export function checkAnswers(
  interaction: InteractionEvent,
  values: readonly unknown[],
): { value: unknown } | { error: string } {
  const model = modelOf(interaction);
  const byKey = Object.fromEntries(model.fields.map((f, i) => [f.key, values[i]]));
  const checked = validateValues(model, byKey);
  return checked.ok ? { value: checked.value } : { error: errorText(model, checked.errors) };
}
