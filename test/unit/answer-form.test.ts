// The one reader of a question's JSON Schema (host/protocol/answer-form.ts) that the sidebar,
// the palette and the CLI share: fields from the schemas the built-in tools and custom
// `suspend()` calls produce, typed text in the schema's type, and the same verdict as the host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  defaultRaw,
  formModel,
  rawFromTyped,
  readField,
  validate,
  validateValues,
  type Field,
} from '../../host/protocol/answer-form.js';
import { jsonSchemaOf } from '../../host/runtime/suspend.js';
import {
  answerSteps,
  assembleAnswer,
  parseTyped,
  type AnswerStep,
} from '../../extension/answer-steps.js';
import { question } from './extension-fakes.js';

/** The one field of a lone question with this schema. */
function only(schema: z.ZodType, options?: string[]): Field {
  const q = options ? { id: 'answer', question: 'Q?', options } : { id: 'answer', question: 'Q?' };
  const model = formModel('Q?', [q], jsonSchemaOf(schema));
  assert.equal(model.shape, 'single');
  assert.equal(model.fields.length, 1);
  return model.fields[0]!;
}

/** What the host says about an answer on resume (host/runtime/resume-plan.ts). */
function hostAccepts(schema: Record<string, unknown>, value: unknown): boolean {
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value)
    .success;
}

void describe('answer form model', () => {
  void it('coerces typed text to an integer: "5" becomes 5, and the host accepts it', () => {
    const schema = jsonSchemaOf(z.number().int().min(1).max(10));
    const field = only(z.number().int().min(1).max(10));
    assert.deepEqual(field, {
      key: 'answer',
      label: 'Q?',
      required: true,
      kind: 'number',
      integer: true,
      minimum: 1,
      maximum: 10,
    });
    const read = readField(field, rawFromTyped(field, ' 5 '));
    assert.deepEqual(read, { value: 5 });
    assert.equal(hostAccepts(schema, read.value), true);
    assert.equal(hostAccepts(schema, '5'), false, 'the string is what the host refused');
    assert.deepEqual(readField(field, '4.5'), { error: 'Type a whole number from 1 to 10.' });
    assert.deepEqual(readField(field, '42'), { error: 'Type a whole number from 1 to 10.' });
    assert.deepEqual(readField(field, 'five'), { error: 'Type a whole number from 1 to 10.' });
    assert.deepEqual(readField(field, ''), { error: 'Type a number.' });
    const model = formModel('Q?', [], schema);
    assert.deepEqual(validate(model, { answer: '7' }), { ok: true, value: 7 });
  });

  void it('an enum is a strict choice: an option by number or name, anything else refused', () => {
    const field = only(z.enum(['red', 'blue']), ['red', 'blue']);
    assert.equal(field.kind, 'choice');
    assert.deepEqual(field.kind === 'choice' && [field.options, field.other], [
      ['red', 'blue'],
      false,
    ]);
    assert.deepEqual(readField(field, rawFromTyped(field, '2')), { value: 'blue' });
    assert.deepEqual(readField(field, rawFromTyped(field, 'red')), { value: 'red' });
    assert.deepEqual(readField(field, rawFromTyped(field, 'green')), {
      error: 'Choose one of the options.',
    });
    assert.deepEqual(readField(field, ''), { error: 'This answer is required.' });
  });

  void it("suggested options (ask_user) take an answer of the developer's own as well", () => {
    const field = only(z.string().min(1), ['npm', 'pnpm', 'pnpm']);
    assert.deepEqual(field.kind === 'choice' && [field.options, field.other], [
      ['npm', 'pnpm'],
      true,
    ]);
    assert.deepEqual(readField(field, rawFromTyped(field, '1')), { value: 'npm' });
    assert.deepEqual(readField(field, rawFromTyped(field, 'bun')), { value: 'bun' });
    assert.deepEqual(readField(field, rawFromTyped(field, '   ')), {
      error: 'This answer is required.',
    });
  });

  void it('a boolean reads yes / no, y / n and nothing else', () => {
    const field = only(z.boolean());
    assert.equal(field.kind, 'boolean');
    assert.deepEqual(readField(field, rawFromTyped(field, 'Y')), { value: true });
    assert.deepEqual(readField(field, rawFromTyped(field, 'no')), { value: false });
    assert.deepEqual(readField(field, rawFromTyped(field, 'maybe')), {
      error: 'Choose Yes or No.',
    });
  });

  void it('defaults pre-fill the control and stand in for an empty answer; optional fields may stay empty', () => {
    const schema = jsonSchemaOf(
      z.object({
        retries: z.number().int().default(3),
        verbose: z.boolean().default(false),
        tags: z.array(z.enum(['x', 'y'])).default(['y']),
        note: z.string().optional(),
        name: z.string().min(1),
      }),
    );
    const model = formModel('Settings', [{ id: 'name', question: 'Name?' }], schema);
    assert.deepEqual(
      model.fields.map((f) => [f.key, f.kind, f.required, f.default]),
      [
        ['name', 'text', true, undefined],
        ['retries', 'number', false, 3],
        ['verbose', 'boolean', false, false],
        ['tags', 'multi', false, ['y']],
        ['note', 'text', false, undefined],
      ],
    );
    assert.deepEqual(
      model.fields.map((f) => defaultRaw(f)),
      [undefined, '3', 'no', ['y'], undefined],
    );
    const answered = validate(model, { name: 'Ada', retries: '', verbose: '', tags: [], note: '' });
    assert.deepEqual(answered, {
      ok: true,
      value: { name: 'Ada', retries: 3, verbose: false, tags: ['y'] },
    });
    assert.equal(hostAccepts(schema, answered.ok && answered.value), true);
    assert.deepEqual(validate(model, { name: 'Ada', retries: '2', tags: ['x', 'y'] }), {
      ok: true,
      value: { name: 'Ada', retries: 2, verbose: false, tags: ['x', 'y'] },
    });
  });

  void it('bad input: an error per field in words, and the schema check the host does', () => {
    const schema = jsonSchemaOf(
      z.object({
        n: z.number().min(0),
        checks: z.array(z.enum(['lint', 'test'])).min(1),
        raw: z.tuple([z.string()]),
        code: z.string().regex(/^[A-Z]{3}$/),
      }),
    );
    const model = formModel('Q', [], schema);
    assert.deepEqual(
      model.fields.map((f) => f.kind),
      ['number', 'multi', 'json', 'text'],
    );
    assert.deepEqual(validate(model, { n: '-1', checks: [], raw: '[a', code: 'abc' }), {
      ok: false,
      errors: {
        n: 'Type a number of at least 0.',
        checks: 'Choose at least 1.',
        raw: 'Type a JSON value, e.g. "text", 42, true or ["a", "b"].',
        code: 'This answer does not have the expected format.',
      },
    });
    // What only the schema knows (a tuple's item type) comes back from zod, on its field.
    const wrong = validate(model, { n: '1', checks: ['lint'], raw: '[1]', code: 'ABC' });
    assert.equal(wrong.ok, false);
    assert.deepEqual(Object.keys(wrong.ok ? {} : wrong.errors), ['raw']);
    // Values already typed are checked as a whole, the way the host checks them.
    assert.deepEqual(validateValues(model, { n: 1, checks: ['lint'], raw: ['a'], code: 'ABC' }), {
      ok: true,
      value: { n: 1, checks: ['lint'], raw: ['a'], code: 'ABC' },
    });
    const refused = validateValues(model, { n: '1', checks: ['lint'], raw: ['a'], code: 'ABC' });
    assert.deepEqual(Object.keys(refused.ok ? {} : refused.errors), ['n']);
    assert.equal(hostAccepts(schema, { n: '1', checks: ['lint'], raw: ['a'], code: 'ABC' }), false);
  });

  void it('the palette steps read through the same model', () => {
    const ask = question({
      questions: [{ id: 'answer', question: 'Which manager?', options: ['npm', 'pnpm'] }],
      schema: jsonSchemaOf(z.string().min(1)),
    });
    const [step] = answerSteps(ask);
    assert.deepEqual(step, {
      kind: 'pick',
      options: ['npm', 'pnpm'],
      other: true,
      key: null,
      question: 'Which manager?',
    });
    assert.deepEqual(parseTyped(step!, '2'), { value: 'pnpm' });
    assert.deepEqual(parseTyped(step!, 'bun'), { value: 'bun' });
    assert.equal(assembleAnswer([step!], ['bun']), 'bun');

    const strict = answerSteps(question({ schema: jsonSchemaOf(z.enum(['a', 'b'])) }))[0];
    assert.equal((strict as Extract<AnswerStep, { kind: 'pick' }>).other, undefined);
    assert.deepEqual(parseTyped(strict!, 'c'), { error: 'Choose one of the options.' });

    const count = question({ schema: jsonSchemaOf(z.number().int()) });
    assert.deepEqual(parseTyped(answerSteps(count)[0]!, '5'), { value: 5 });
  });
});
