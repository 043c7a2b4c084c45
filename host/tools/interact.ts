// The built-in question tools (SPEC §2, §4): each pauses the run through `suspend()` with a schema
// the editor turns into a form and the host validates; the answer is the tool's result.
import { z } from 'zod';
import type { Question } from '../protocol/events.js';
import { suspend } from '../runtime/suspend.js';
import { Tool } from '../runtime/tool.js';

const QuestionParam = z.object({
  id: z.string().min(1).describe('A short key for this answer in the result object, e.g. "name".'),
  question: z.string().min(1).describe('The question to ask the developer.'),
  options: z
    .array(z.string().min(1))
    .optional()
    .describe('If given, the developer must pick one of these; otherwise the answer is free text.'),
});

/**
 * A single answer's schema: one of the options, else non-empty text. Models often send
 * `options: []` for "no options", so an empty list means free text rather than an impossible enum.
 */
function answerSchema(options: readonly string[] | undefined): z.ZodType<string> {
  const unique = [...new Set(options ?? [])];
  return unique.length > 0 ? z.enum(unique) : z.string().min(1);
}

function questionOf(
  id: string,
  question: string,
  options: readonly string[] | undefined,
): Question {
  return options && options.length > 0
    ? { id, question, options: [...new Set(options)] }
    : { id, question };
}

/**
 * `ask_user`'s options are suggestions (SPEC §2): the developer may pick one or write their own
 * answer, so the schema is any non-empty text and the options travel with the question, where
 * the form, the palette and the CLI offer them beside "Other…".
 */
export function askUserTool() {
  return Tool({
    name: 'ask_user',
    description:
      'Ask the developer one question and wait for the answer. Give options to suggest likely answers; the developer may pick one or answer in their own words.',
    params: z.object({
      question: z.string().min(1).describe('The question to ask the developer.'),
      options: z
        .array(z.string().min(1))
        .optional()
        .describe(
          'Suggested answers the developer may pick from; they may also write their own answer.',
        ),
    }),
    requiresApproval: false,
    handler: async (input) =>
      suspend({
        prompt: input.question,
        questions: [questionOf('answer', input.question, input.options)],
        schema: z.string().min(1),
      }),
  });
}

export function askUserMultiTool() {
  return Tool({
    name: 'ask_user_multi',
    description:
      'Ask the developer several questions at once; the result is a JSON object keyed by question id.',
    params: z.object({
      questions: z
        .array(QuestionParam)
        .min(1)
        .refine(
          (qs) => new Set(qs.map((q) => q.id)).size === qs.length,
          'Question ids must be unique.',
        )
        .describe('The questions, each with a unique id.'),
    }),
    requiresApproval: false,
    handler: async (input) => {
      const shape = Object.fromEntries(input.questions.map((q) => [q.id, answerSchema(q.options)]));
      const answers = await suspend({
        prompt:
          input.questions.length === 1
            ? (input.questions[0]?.question ?? '')
            : `The agent has ${input.questions.length} questions.`,
        questions: input.questions.map((q) => questionOf(q.id, q.question, q.options)),
        schema: z.object(shape).strict(),
      });
      return JSON.stringify(answers);
    },
  });
}

export function confirmTool() {
  return Tool({
    name: 'confirm',
    description: 'Ask the developer a yes/no question and wait for the answer ("yes" or "no").',
    params: z.object({
      question: z.string().min(1).describe('The yes/no question to ask the developer.'),
    }),
    requiresApproval: false,
    handler: async (input) => {
      const yes = await suspend({
        prompt: input.question,
        questions: [{ id: 'confirm', question: input.question }],
        schema: z.boolean(),
      });
      return yes ? 'yes' : 'no';
    },
  });
}

/** The three built-in question tools. */
export function interactionTools(): Tool[] {
  return [askUserTool(), askUserMultiTool(), confirmTool()];
}
