// The offline `demo` model: scripted replies served on loopback and reached through the same
// OpenAI client as a real endpoint. It walks a newcomer through an edit approval, a question
// and a delete approval in sample-workspace/, and again on every later run in the same workspace
// (it reads the files first and proposes changes that fit them). Stateless: each reply is decided
// from the conversation it is sent, so resumes and restarts need no memory here.
import type { ChatMessage, Model } from './model.js';
import { OpenAIChatModel } from './openai-model.js';
import { ScriptedModelServer, type MessageReply, type Script } from './scripted-server.js';

export const DEMO_INTRO =
  "I'm Airlock's offline demo model: scripted replies, no AI, nothing leaves your machine.";
const REAL_MODEL_HINT =
  "To use a real model, set OPENAI_API_KEY (CLI) or run 'Airlock: Set API Key' in VS Code, " +
  'and pick a model with AIRLOCK_MODEL or the airlock.model setting.';
// Slow enough that the UI visibly streams, fast enough not to bore.
const STREAM = { chunkSize: 8, chunkDelayMs: 10 } as const;

const GREET = 'src/greet.js';
const NOTES = 'notes/old-todo.md';
/** The sample files as sample-workspace/ ships them (a test keeps these equal to the files). */
export const SAMPLE_FILES = {
  [GREET]:
    "// Returns a friendly greeting.\nfunction greet(name) {\n  return 'Helo, ' + name + '!';\n}\n\nmodule.exports = { greet };\n",
  [NOTES]: '# Old TODO (done long ago)\n\n- [x] write greet()\n- [x] add README\n',
} as const;

/** The demo's tool calls, by id: each step is chosen by the id of the result it answers. */
const ID = {
  readGreet: 'call_demo_read_greet',
  listNotes: 'call_demo_list_notes',
  change: 'call_demo_edit',
  ask: 'call_demo_ask',
  remove: 'call_demo_delete',
  restore: 'call_demo_restore',
} as const;

/** What became of a call, read from its result (the runtime's wording is read loosely). */
type Outcome =
  | { kind: 'done'; text: string }
  | { kind: 'unchanged'; text: string }
  | { kind: 'denied'; reason: string | undefined }
  | { kind: 'refused'; text: string }
  | { kind: 'error'; text: string };

export function demoScript(): Script {
  return (request) => ({ ...STREAM, ...demoReply(request.messages) });
}

export async function startDemoModel(): Promise<{ model: Model; close(): Promise<void> }> {
  const server = await ScriptedModelServer.start(demoScript(), { models: ['demo'] });
  // An explicit dummy key: a real OPENAI_API_KEY in the environment is never sent, even to loopback.
  const model = new OpenAIChatModel({
    model: 'demo',
    baseURL: server.baseURL,
    apiKey: 'demo',
    maxRetries: 0,
  });
  return { model, close: () => server.close() };
}

// The walk-through: look at the two sample files (no gate), change src/greet.js (an edit gate, or a
// create gate when it is gone), ask a question, then delete notes/old-todo.md (a delete gate) or,
// when an earlier run deleted it, create it again (a create gate), and sum up what happened.
// Reading first is what makes it repeatable: each run proposes changes that fit the files as
// they are now (the typo fixed, then the greeting toggled; the notes deleted, then restored).
function demoReply(messages: ChatMessage[]): MessageReply {
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    switch (last.tool_call_id) {
      case ID.readGreet:
      case ID.listNotes:
        return changeStep(messages);
      case ID.change:
        return askStep(messages);
      case ID.ask:
        return notesStep(messages);
      case ID.remove:
      case ID.restore:
        return summaryStep(messages);
    }
  }
  const prompt = lastUserPrompt(messages);
  if (resultOf(messages, ID.remove) !== undefined || resultOf(messages, ID.restore) !== undefined) {
    return {
      text:
        `The walk-through is already done in this conversation. ${DEMO_INTRO} ` +
        `So I can't act on "${clip(prompt, 80)}". Start a new run to walk through it again. ` +
        REAL_MODEL_HINT,
    };
  }
  return lookStep(prompt);
}

function lookStep(prompt: string): MessageReply {
  const offTopic =
    prompt.trim() !== '' &&
    !/demo|tour|walk|airlock|try|start|show|greet|typo|hello|hi\b|help/i.test(prompt)
      ? `You asked: "${clip(prompt, 80)}". I can't do that (I'm only a demo), so here is the walk-through instead. `
      : '';
  return {
    text: `${DEMO_INTRO} ${offTopic}First I look at the sample files I will change: reading needs no approval.`,
    toolCalls: [
      { id: ID.readGreet, name: 'read_file', arguments: { path: GREET } },
      { id: ID.listNotes, name: 'list_files', arguments: { path: 'notes' } },
    ],
  };
}

const EDIT_HINT = 'Editing a file needs your approval: look at the diff, then approve or deny it.';

/** The change to src/greet.js that fits it as it is now. */
function changeStep(messages: ChatMessage[]): MessageReply {
  const current = resultOf(messages, ID.readGreet);
  const restore = (text: string): MessageReply => ({
    text,
    toolCalls: [
      {
        id: ID.change,
        name: 'write_file',
        arguments: { path: GREET, content: SAMPLE_FILES[GREET] },
      },
    ],
  });
  if (current === undefined || missing(current)) {
    return restore(
      `${GREET} is gone, so I'll create it again as the sample has it. Creating a file needs your approval: look at it, then approve or deny it.`,
    );
  }
  const word = /'([^'\n]{1,40}), ' \+ name/.exec(current)?.[1];
  if (word === undefined || current.startsWith('Error:')) {
    return restore(
      `${GREET} no longer looks like the sample, so I'll put the sample's version back. Overwriting a file needs your approval: look at the diff, then approve or deny it.`,
    );
  }
  const next = word === 'Helo' ? 'Hello' : word === 'Hello' ? 'Hi' : 'Hello';
  const why =
    word === 'Helo'
      ? `${GREET} has a typo ('Helo'), so I'll fix it.`
      : word === 'Hello'
        ? `${GREET} already says 'Hello' (an earlier run of the demo fixed the typo), so this time I'll change the greeting to 'Hi'.`
        : `${GREET} greets with '${clip(word, 40)}', so I'll change it to 'Hello'.`;
  return {
    text: `${why} ${EDIT_HINT}`,
    toolCalls: [
      {
        id: ID.change,
        name: 'edit_file',
        arguments: { path: GREET, old_string: `'${word}, '`, new_string: `'${next}, '` },
      },
    ],
  };
}

function askStep(messages: ChatMessage[]): MessageReply {
  return {
    text:
      `${justNow(changeLabel(messages), outcomeOf(resultOf(messages, ID.change) ?? ''))} ` +
      'Next, agents can stop and ask you something: answer the question in the Airlock panel.',
    toolCalls: [
      {
        id: ID.ask,
        name: 'ask_user',
        arguments: {
          question: 'Which greeting style should the README mention?',
          options: ['Friendly', 'Formal'],
        },
      },
    ],
  };
}

/** Delete the old notes, or, when an earlier run deleted them, create them again. */
function notesStep(messages: ChatMessage[]): MessageReply {
  const chose = `You chose "${answerOf(resultOf(messages, ID.ask) ?? '')}".`;
  // The listing of notes/ (an error if the folder is gone too); without one, try the delete.
  const listing = resultOf(messages, ID.listNotes);
  if (listing !== undefined && !listing.split('\n').includes(NOTES)) {
    return {
      text:
        `${chose} ${NOTES} is gone (an earlier run of the demo deleted it), so I'll create it ` +
        'again, and the next run has a file to delete. Creating a file also needs your approval.',
      toolCalls: [
        {
          id: ID.restore,
          name: 'write_file',
          arguments: { path: NOTES, content: SAMPLE_FILES[NOTES] },
        },
      ],
    };
  }
  return {
    text: `${chose} The notes in ${NOTES} are done, so I'll delete that file. Deleting also needs your approval.`,
    toolCalls: [{ id: ID.remove, name: 'delete_file', arguments: { path: NOTES } }],
  };
}

function summaryStep(messages: ChatMessage[]): MessageReply {
  const restored = resultOf(messages, ID.restore);
  const notes = restored ?? resultOf(messages, ID.remove) ?? '';
  return {
    text:
      "That's the tour. Summary:\n" +
      `- ${changeLabel(messages)}: ${inSummary(outcomeOf(resultOf(messages, ID.change) ?? ''))}\n` +
      `- Question: you chose "${answerOf(resultOf(messages, ID.ask) ?? '')}" as the README's greeting style.\n` +
      `- ${restored === undefined ? 'Delete of' : 'Re-creating'} ${NOTES}: ${inSummary(outcomeOf(notes))}\n` +
      'That is Airlock: a file change waits for your decision unless a rule you set allows it. ' +
      'Run the demo again any time: it starts from the files as they are then. ' +
      REAL_MODEL_HINT,
  };
}

/** "Edit of src/greet.js ('Helo, ' → 'Hello, ')", from the call the demo made. */
function changeLabel(messages: ChatMessage[]): string {
  const call = callOf(messages, ID.change);
  if (call?.name === 'write_file') return `Restoring ${GREET} from the sample`;
  const args = parseJson(call?.arguments ?? '') as { old_string?: unknown; new_string?: unknown };
  return typeof args?.old_string === 'string' && typeof args.new_string === 'string'
    ? `Edit of ${GREET} (${clip(args.old_string, 40)} → ${clip(args.new_string, 40)})`
    : `Edit of ${GREET}`;
}

/** The outcome right after the call, as a sentence. */
function justNow(label: string, o: Outcome): string {
  switch (o.kind) {
    case 'done':
      return `${label}: done (${clip(o.text, 120)}).`;
    case 'unchanged':
      return `${label}: nothing to change (${clip(o.text, 120)}).`;
    case 'denied':
      return `${label}: you denied it, so nothing changed.${because(o.reason)} That's exactly what the gate is for.`;
    case 'refused':
      return `${label}: a policy rule refused it (${clip(o.text, 160)}).`;
    case 'error':
      return `${label} didn't go through: ${clip(o.text, 160)}`;
  }
}

/** The outcome in the closing summary, after the label. */
function inSummary(o: Outcome): string {
  switch (o.kind) {
    case 'done':
      return `applied (${clip(o.text, 120)}).`;
    case 'unchanged':
      return `nothing to change (${clip(o.text, 120)}).`;
    case 'denied':
      return `you denied it, so nothing changed.${because(o.reason)}`;
    case 'refused':
      return `refused by a policy rule (${clip(o.text, 160)}).`;
    case 'error':
      return `it didn't go through: ${clip(o.text, 160)}`;
  }
}

function because(reason: string | undefined): string {
  return reason ? ` Your reason: "${clip(reason, 120)}".` : '';
}

function missing(result: string): boolean {
  return /^Error:/.test(result) && /does not exist|not found|no such file/i.test(result);
}

function outcomeOf(text: string): Outcome {
  if (/\bby (a )?policy\b|standing rule/i.test(text)) return { kind: 'refused', text };
  if (/\b(denied|rejected|declined)\b/i.test(text))
    return { kind: 'denied', reason: reasonOf(text) };
  if (/nothing was written|nothing to do/i.test(text)) return { kind: 'unchanged', text };
  if (/^Error\b|\b(not found|failed|refused|could not|cannot|cancelled)\b/i.test(text))
    return { kind: 'error', text };
  return { kind: 'done', text };
}

/** The developer's reason in a denial, if they gave one (none is never made up). */
function reasonOf(text: string): string | undefined {
  // The result may be JSON, or prose around a JSON object.
  const parsed =
    parseJson(text) ?? parseJson(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
  if (parsed && typeof parsed === 'object') {
    const o = parsed as Record<string, unknown>;
    for (const k of ['reason', 'comment', 'message'])
      if (typeof o[k] === 'string' && o[k]) return o[k];
  }
  const m =
    /reason"?\s*[:=]\s*["“]?([^"”\n}]+)/i.exec(text) ??
    /(?:denied|rejected|declined)[^:\n]*:\s*([\s\S]+)/i.exec(text);
  return m?.[1]?.trim() || undefined;
}

function answerOf(text: string): string {
  const parsed = parseJson(text);
  if (typeof parsed === 'string') return parsed;
  if (
    parsed &&
    typeof parsed === 'object' &&
    typeof (parsed as { answer?: unknown }).answer === 'string'
  ) {
    return (parsed as { answer: string }).answer;
  }
  return text.trim();
}

/** The result of the demo's call `id` in this conversation (the last one, if repeated). */
function resultOf(messages: ChatMessage[], id: string): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'tool' && m.tool_call_id === id) return textOf(m.content);
  }
  return undefined;
}

function callOf(
  messages: ChatMessage[],
  id: string,
): { name: string; arguments: string } | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== 'assistant') continue;
    for (const tc of m.tool_calls ?? [])
      if (tc.type === 'function' && tc.id === id) return tc.function;
  }
  return undefined;
}

function lastUserPrompt(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return textOf(m.content);
  }
  return '';
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
