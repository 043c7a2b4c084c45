// The offline `demo` model: scripted replies served on loopback and reached through the same
// OpenAI client as a real endpoint. It walks a newcomer through an edit approval, a question
// and a delete approval in sample-workspace/. Stateless: each reply is decided from the
// conversation it is sent, so resumes and restarts need no memory here.
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

type Outcome =
  { kind: 'ok' } | { kind: 'denied'; reason: string | undefined } | { kind: 'error'; text: string };

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

function demoReply(messages: ChatMessage[]): MessageReply {
  const names = toolCallNames(messages);
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    const result = textOf(last.content);
    switch (names.get(last.tool_call_id)) {
      case 'edit_file':
        return askStep(result);
      case 'ask_user':
        return deleteStep(result);
      case 'delete_file':
        return summaryStep(messages, names);
    }
  }
  const prompt = lastUserPrompt(messages);
  if (resultsOf(messages, names, 'delete_file').length > 0) {
    return {
      text:
        `The walk-through is already done in this conversation. ${DEMO_INTRO} ` +
        `So I can't act on "${clip(prompt, 80)}". ${REAL_MODEL_HINT}`,
    };
  }
  return editStep(prompt);
}

function editStep(prompt: string): MessageReply {
  const offTopic =
    prompt.trim() !== '' &&
    !/demo|tour|walk|airlock|try|start|show|greet|typo|hello|hi\b|help/i.test(prompt)
      ? `You asked: "${clip(prompt, 80)}". I can't do that (I'm only a demo), so here is the walk-through instead. `
      : '';
  return {
    text:
      `${DEMO_INTRO} ${offTopic}First, src/greet.js has a typo ('Helo'). Editing a file needs your ` +
      'approval: look at the diff, then approve or deny it.',
    toolCalls: [
      {
        id: 'call_demo_edit',
        name: 'edit_file',
        arguments: { path: 'src/greet.js', old_string: "'Helo, '", new_string: "'Hello, '" },
      },
    ],
  };
}

function askStep(editResult: string): MessageReply {
  return {
    text:
      `${describe('edit', outcomeOf(editResult))} Next, agents can stop and ask you something: ` +
      'answer the question in the Airlock panel.',
    toolCalls: [
      {
        id: 'call_demo_ask',
        name: 'ask_user',
        arguments: {
          question: 'Which greeting style should the README mention?',
          options: ['Friendly', 'Formal'],
        },
      },
    ],
  };
}

function deleteStep(answerResult: string): MessageReply {
  return {
    text:
      `You chose "${answerOf(answerResult)}". The notes in notes/old-todo.md are done, so I'll delete that file. ` +
      'Deleting also needs your approval.',
    toolCalls: [
      { id: 'call_demo_delete', name: 'delete_file', arguments: { path: 'notes/old-todo.md' } },
    ],
  };
}

function summaryStep(messages: ChatMessage[], names: Map<string, string>): MessageReply {
  const edit = resultsOf(messages, names, 'edit_file').at(-1);
  const answer = resultsOf(messages, names, 'ask_user').at(-1);
  const del = resultsOf(messages, names, 'delete_file').at(-1);
  return {
    text:
      "That's the tour. Summary:\n" +
      `- Edit of src/greet.js: ${describe('edit', outcomeOf(edit ?? ''))}\n` +
      `- Question: you chose "${answerOf(answer ?? '')}" as the README's greeting style.\n` +
      `- Delete of notes/old-todo.md: ${describe('delete', outcomeOf(del ?? ''))}\n` +
      `Every edit and delete stopped at a gate you decided. ${REAL_MODEL_HINT}`,
  };
}

function describe(action: 'edit' | 'delete', o: Outcome): string {
  if (o.kind === 'denied') {
    const why = o.reason ? ` Your reason: "${clip(o.reason, 120)}".` : '';
    return `You denied the ${action}, so nothing changed.${why} That's exactly what the gate is for.`;
  }
  if (o.kind === 'error') return `The ${action} didn't go through: ${clip(o.text, 160)}`;
  return action === 'edit'
    ? "Approved and applied: greet.js now says 'Hello, '."
    : 'Approved: the file is gone.';
}

// The runtime's wording for results is not fixed, so read them loosely.
function outcomeOf(text: string): Outcome {
  if (/\b(denied|rejected|declined)\b/i.test(text))
    return { kind: 'denied', reason: reasonOf(text) };
  if (/\b(error|not found|failed|refused|could not|cannot)\b/i.test(text))
    return { kind: 'error', text };
  return { kind: 'ok' };
}

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
    /(?:denied|rejected|declined)[^:\n]*:\s*(.+)/i.exec(text);
  // No recognisable field: quote the whole result so whatever reason it holds is acknowledged.
  return m?.[1]?.trim() || (text.trim().split(/\s+/).length > 1 ? text.trim() : undefined);
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

function toolCallNames(messages: ChatMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const tc of m.tool_calls ?? [])
      if (tc.type === 'function') names.set(tc.id, tc.function.name);
  }
  return names;
}

function resultsOf(messages: ChatMessage[], names: Map<string, string>, tool: string): string[] {
  return messages.flatMap((m) =>
    m.role === 'tool' && names.get(m.tool_call_id) === tool ? [textOf(m.content)] : [],
  );
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
