// The run loop shared by agents and direct tool calls, as a small step machine: the opening step
// (resume-apply.ts: decisions, answers and claims), then model turns (model-turn.ts) and settle
// steps (settle.ts: gates, questions, handlers) until the run pauses or ends. Each step returns
// the next one and is committed as one store transaction before its events are shown
// (run-persistence.ts), so an event anyone saw is never lost.
import type { RunEvent, RunStatus } from '../protocol/events.js';
import { ModelError } from '../model/model.js';
import { ResumeRefusedError } from './resume-plan.js';
import { openRun, segmentOp } from './resume-apply.js';
import { RunContext, type EngineConfig, type RunRequest } from './run-context.js';
import { ALREADY_CLAIMED, isPause, status } from './run-status.js';
import { turnStep } from './model-turn.js';
import { settleStep } from './settle.js';
import { end, errorText, PolicyError, type Next } from './step.js';

export type { EngineConfig, RunRequest } from './run-context.js';
export { asRead, interruptedOutput, interruptedStatus, retryable } from './run-status.js';

export async function* execute(cfg: EngineConfig, req: RunRequest): AsyncGenerator<RunEvent, void> {
  const run = new RunContext(cfg, req);
  const opening = openRun(run);
  if (opening === 'claimed') {
    yield run.output(ALREADY_CLAIMED);
    return;
  }
  let ending: RunStatus;
  try {
    // One atomic commit takes the claims, records the decisions and the new segment: if any
    // claim is taken or the run moved on in another process, nothing here is written.
    run.persistence.stage([run.startEvent(), ...opening.events], [segmentOp(run), ...opening.ops]);
    const shown = await run.persistence.commit(
      'running',
      'running',
      'The run is in progress.',
      false,
    );
    if (!shown) {
      yield run.output(ALREADY_CLAIMED);
      return;
    }
    yield* shown;
    ending = opening.cancel ? status('cancelled', 'cancelled', opening.cancel) : yield* steps(run);
  } catch (err) {
    ending = endStatus(run, err);
  }
  yield* finish(run, ending);
}

/** Takes steps until the drive ends; returns how. */
async function* steps(run: RunContext): AsyncGenerator<RunEvent, RunStatus> {
  const stopped = () => status('cancelled', 'cancelled', 'The run was stopped.');
  if (run.req.signal?.aborted) return stopped();
  let next = first(run);
  // The stop check comes before each round: a settle step, or a model turn that does not
  // directly follow one (the turn that carries a round's results is part of that round).
  let checked = true;
  while (next.step !== 'end') {
    if (!checked && run.req.signal?.aborted) return stopped();
    checked = next.step === 'settle';
    next = next.step === 'settle' ? yield* settleStep(run) : yield* turnStep(run);
  }
  return next.status;
}

/** Where a loaded (or new) run continues. */
function first(run: RunContext): Next {
  if (run.state.calls.length) return { step: 'settle' };
  // The model's answer was stored but the process died before the run ended: finish with it
  // rather than ask the model again.
  if (answered(run.state.messages)) {
    return end(status('success', 'completed', 'The agent finished.'));
  }
  return { step: 'turn' };
}

/** How a drive that failed ends; a refused resume is the caller's error, not a run status. */
function endStatus(run: RunContext, err: unknown): RunStatus {
  if (run.req.signal?.aborted) {
    const why = run.req.signal.reason as unknown;
    return status('cancelled', 'cancelled', typeof why === 'string' ? why : 'The run was stopped.');
  }
  if (err instanceof ResumeRefusedError) throw err;
  if (err instanceof PolicyError) return status('cancelled', 'approval_policy_error', err.message);
  if (err instanceof ModelError) return status('error', 'model_error', err.message);
  if (err instanceof SyntaxError) {
    return status(
      'error',
      'model_error',
      `The model returned unreadable tool-call arguments: ${err.message}`,
    );
  }
  return status('error', 'tool_error', `The run failed: ${errorText(err)}`);
}

/** The drive's last step: the run pauses or ends, committed and flushed to the disk. */
async function* finish(run: RunContext, st: RunStatus): AsyncGenerator<RunEvent, void> {
  const paused = isPause(st);
  // A failed model call ends the run `error` but keeps it live (SPEC §2): its raw state and
  // anything still pending stay, so `resume RUN` repeats only that call.
  if (!paused && st.reason !== 'model_error') {
    run.pendingRows.clear();
    // A finished run never continues: its conversation lives on in the (redacted) events, so
    // its raw state is dropped (SPEC §2): the state keeps only its redacted result, and
    // finished runs cost the database little.
    run.state.messages = [];
    run.state.calls = [];
    if (run.state.output !== null) run.state.output = run.cfg.redactor.text(run.state.output);
  }
  run.persistence.stage([run.output(st)]);
  yield* run.persistence.last(paused ? 'paused' : st.code, st.reason, st.message);
}

/** The conversation ends in the model's final answer: an assistant turn calling no tool. */
function answered(messages: RunContext['state']['messages']): boolean {
  const last = messages.at(-1);
  return last?.role === 'assistant' && !last.tool_calls;
}
