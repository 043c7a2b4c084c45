// How a run ends, pauses or reads: the status values the run loop returns and the readers show.
import type { OutputEvent, RunStatus, StatusReason } from '../protocol/events.js';
import type { RunState } from '../store/store.js';
import type { RunStateDoc } from './run-state.js';
import { addUsage, emptyUsage } from './usage.js';

export function status(code: RunStatus['code'], reason: StatusReason, message: string): RunStatus {
  return { code, reason, message };
}

export const ALREADY_CLAIMED = status(
  'cancelled',
  'approval_already_claimed',
  'Another resume already consumed this decision; nothing ran here.',
);

/** A run that stopped to wait for the developer: `approval_required` or `input_required`. */
export function isPause(st: RunStatus): boolean {
  return st.reason === 'approval_required' || st.reason === 'input_required';
}

/** The status of a run waiting on these items (approvals first, SPEC §2). */
export function pauseStatus(pending: readonly { kind: 'approval' | 'interaction' }[]): RunStatus {
  const approvals = pending.filter((p) => p.kind === 'approval').length;
  const questions = pending.length - approvals;
  const message =
    [
      approvals ? plural(approvals, 'approval', 'approvals') : '',
      questions ? plural(questions, 'question', 'questions') : '',
    ]
      .filter(Boolean)
      .join(' and ') + ' waiting for the developer.';
  return status('cancelled', approvals ? 'approval_required' : 'input_required', message);
}

/**
 * A run that ended on a failed model call (stored `error`, reason `model_error`): it kept its raw
 * state and resumes without decisions, repeating that call. Interrupted runs resume too (they
 * read `interrupted`, not finished).
 */
export function retryable(row: { status: string; reason: string }): boolean {
  return row.status === 'error' && row.reason === 'model_error';
}

/**
 * The status of a run whose driving process died mid-step (SPEC §2, §6): resumable with no
 * decision, from its last durable step.
 */
export function interruptedStatus(runId: string): RunStatus {
  return status(
    'error',
    'interrupted',
    `The process driving run ${runId} stopped mid-step; nothing durable was lost. Continue it with \`airlock resume ${runId}\` (in VS Code: Airlock: Continue Run).`,
  );
}

/**
 * A run as readers show it: one whose driving process died reads `interrupted` in its reason and
 * message too (the stored row still says what it was doing), in the CLI and over JSON-RPC alike.
 */
export function asRead<R extends { run_id: string; reason: string; message: string }>(
  row: R,
  st: RunState,
): Omit<R, 'status'> & { status: RunState } {
  if (st !== 'interrupted') return { ...row, status: st };
  const { reason, message } = interruptedStatus(row.run_id);
  return { ...row, status: st, reason, message };
}

/** A run's usage with its nested runs' summed in. */
export function totalUsage(state: RunStateDoc): OutputEvent['usage'] {
  return [state.usage, ...Object.values(state.child_usage)].reduce(
    (sum, u) => addUsage(sum, u),
    emptyUsage(),
  );
}

/**
 * The output event an interrupted run never wrote: its status, what it had counted up to its last
 * durable step, and whatever is still pending.
 */
export function interruptedOutput(
  runId: string,
  state: RunStateDoc,
  pending: readonly string[],
): OutputEvent {
  return {
    type: 'output',
    run_id: runId,
    status: interruptedStatus(runId),
    output: null,
    pending: [...pending],
    usage: totalUsage(state),
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
