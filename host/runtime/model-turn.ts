// The model turn step: one model call, its text and reasoning streamed as redacted deltas, its
// tool calls checked against the limits and added to the run's state as the turn's calls.
import type { RunEvent } from '../protocol/events.js';
import type { ChatMessage, ModelTurn } from '../model/model.js';
import {
  argumentsTooLarge,
  DEFAULT_MODEL_LIMITS,
  ModelError,
  settingHint,
  tooManyToolCalls,
} from '../model/model.js';
import { StreamRedactor } from './redact.js';
import type { RunContext } from './run-context.js';
import { status } from './run-status.js';
import { end, errorText, type Next } from './step.js';
import { bump } from './usage.js';

/** Calls the model and records its turn; the run then settles the calls or ends with the answer. */
export async function* turnStep(run: RunContext): AsyncGenerator<RunEvent, Next> {
  if (run.state.turns >= run.cfg.maxTurns) {
    return end(
      status(
        'error',
        'max_turns',
        `The agent used all ${run.cfg.maxTurns} turns; raise ${settingHint('maxTurns')} to let it go further.`,
      ),
    );
  }
  noticeReverts(run);
  // What the last step changed (tool results, the conversation) is committed before the call:
  // a model call may take long, and no handler that completed may run again (SPEC §2).
  yield* run.persistence.step();
  const turn = yield* callModel(run);
  const limits = { ...DEFAULT_MODEL_LIMITS, ...run.cfg.limits };
  // Past a limit nothing of the turn is kept or run (the model client enforces these too).
  if (turn.toolCalls.length > limits.maxToolCalls) {
    throw tooManyToolCalls(turn.toolCalls.length, limits.maxToolCalls);
  }
  const refused = turn.toolCalls.map((c) => {
    const bytes = c.tooLarge ?? Buffer.byteLength(c.arguments);
    return bytes > limits.maxArgumentBytes
      ? argumentsTooLarge(c.name, bytes, limits.maxArgumentBytes)
      : null;
  });
  const toolCalls = turn.toolCalls.map((c, i) => (refused[i] ? { ...c, arguments: '{}' } : c));
  // Everything that can fail is done before the state changes: a turn that fails leaves the
  // run as it was before the model call, so a retry repeats exactly that call (SPEC §2).
  const args = toolCalls.map((c) =>
    c.arguments.trim() ? (JSON.parse(c.arguments) as unknown) : {},
  );
  run.state.turns++;
  bump(run.state.usage, 'prompt_tokens', turn.usage.prompt_tokens);
  bump(run.state.usage, 'completion_tokens', turn.usage.completion_tokens);
  // The provider's own fields (`reasoning_content`, Gemini's `extra_content`, …) go back
  // verbatim on the next request (SPEC §3); Airlock's fields win over a clash.
  run.state.messages.push({
    ...turn.extra,
    role: 'assistant',
    content: turn.text || null,
    ...(toolCalls.length
      ? {
          tool_calls: toolCalls.map((c) => ({
            ...c.extra,
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          })),
        }
      : {}),
  });
  // The answer only: the reasoning is shown collapsed, never passed on as the run's output.
  if (turn.text) run.state.output = turn.text;
  run.state.calls = toolCalls.map((c, i) => ({
    call_id: c.id,
    tool: c.name,
    args: args[i],
    answers: {},
    ...(refused[i] ? { done: { ok: false, output: refused[i] } } : {}),
  }));
  const events: RunEvent[] = [];
  // The whole turn's text is kept as one delta so a replayed trace reads like the live one;
  // its reasoning likewise, as one thinking delta before it.
  if (turn.reasoning) {
    events.push({
      type: 'delta',
      run_id: run.runId,
      text: run.cfg.redactor.text(turn.reasoning),
      thinking: true,
    });
  }
  if (turn.text)
    events.push({ type: 'delta', run_id: run.runId, text: run.cfg.redactor.text(turn.text) });
  for (const call of run.state.calls) {
    const tool = run.cfg.tools.get(call.tool);
    events.push({
      type: 'tool_call',
      run_id: run.runId,
      call_id: call.call_id,
      tool: call.tool,
      input: run.masks.callInput(tool, call.args),
    });
  }
  for (const call of run.state.calls) {
    if (!call.done) continue; // refused above: its result is known already
    events.push({
      type: 'tool_result',
      run_id: run.runId,
      call_id: call.call_id,
      tool: call.tool,
      ok: false,
      output: run.cfg.redactor.text(call.done.output),
    });
  }
  // The deltas were shown live; their coalesced copy is only for the stored trace.
  for (const e of events) run.persistence.stage([e], [], e.type !== 'delta');
  return run.state.calls.length
    ? { step: 'settle' }
    : end(status('success', 'completed', 'The agent finished.'));
}

/**
 * One model call, its text and reasoning streamed as redacted deltas (each through its own
 * StreamRedactor, so a secret split across chunks is masked in either). Whatever fails in the
 * call is a ModelError: the run ends `model_error` and stays resumable.
 */
async function* callModel(run: RunContext): AsyncGenerator<RunEvent, ModelTurn> {
  if (!run.cfg.model) throw new Error('This run has no model.');
  const tools = [...run.cfg.tools.values()].map((t) => ({
    name: t.name,
    description: t.description,
    parameters: t.jsonSchema,
  }));
  const answer = new StreamRedactor(run.cfg.redactor);
  const thinking = new StreamRedactor(run.cfg.redactor);
  let reasoning = '';
  let last: 'delta' | 'reasoning' | null = null;
  const delta = (text: string, isThinking: boolean): RunEvent => ({
    type: 'delta',
    run_id: run.runId,
    text,
    ...(isThinking ? { thinking: true } : {}),
  });
  try {
    const model = await run.cfg.model();
    // Only the configured limits: the model keeps its own defaults (e.g. its timeoutMs).
    const stream = model.stream(
      {
        messages: run.state.messages as unknown as ChatMessage[],
        tools,
        limits: run.cfg.limits,
      },
      run.req.signal,
    );
    let step = await stream.next();
    while (!step.done) {
      const chunk = step.value;
      const isThinking = chunk.type === 'reasoning';
      // What one stream holds back is released before the other one speaks: order is kept.
      if (last && last !== chunk.type) {
        const held = (isThinking ? answer : thinking).flush();
        if (held) yield delta(held, !isThinking);
      }
      last = chunk.type;
      if (isThinking) reasoning += chunk.text;
      const text = (isThinking ? thinking : answer).push(chunk.text);
      if (text) yield delta(text, isThinking);
      step = await stream.next();
    }
    for (const [redactor, isThinking] of [
      [thinking, true],
      [answer, false],
    ] as const) {
      const tail = redactor.flush();
      if (tail) yield delta(tail, isThinking);
    }
    const turn = step.value;
    return reasoning && !turn.reasoning ? { ...turn, reasoning } : turn;
  } catch (err) {
    if (err instanceof ModelError || err instanceof SyntaxError || run.req.signal?.aborted)
      throw err;
    throw new ModelError(`The model call failed: ${errorText(err)}`, 'connection');
  }
}

/**
 * Tells the model, once, of its changes the developer reverted (or applied again) since its last
 * turn, so it does not build on a file that is no longer what it wrote (issue 16).
 */
function noticeReverts(run: RunContext): void {
  const told = new Set(run.state.reverts_told ?? []);
  const changes = run.cfg.store.changes(run.runId);
  const fresh = changes.filter((c) => c.reverts && !told.has(c.change_id));
  if (!fresh.length) return;
  const byId = new Map(changes.map((c) => [c.change_id, c]));
  const lines = fresh.map((c) => {
    const again = !!byId.get(c.reverts!)?.reverts;
    if (again) return `- ${c.path}: your change was applied again.`;
    const what =
      c.kind === 'delete'
        ? 'the file you created was removed'
        : c.kind === 'create'
          ? 'the file you deleted was restored'
          : 'the file is back to its content before your change';
    return `- ${c.path}: reverted (${what}).`;
  });
  run.state.messages.push({
    role: 'user',
    content: `Note from Airlock: the developer reverted changes you made in this run. Do not build on them; read the files again before changing them.\n${lines.join('\n')}`,
  });
  run.state.reverts_told = [...told, ...fresh.map((c) => c.change_id)];
}
