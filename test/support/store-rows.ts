// Store operations the store tests commit directly: a finished run, as small as a run row gets.
import type { RunRow, StoreOp } from '../../host/store/store.js';

/** A run's row: finished, at version 1, unless `over` says otherwise. */
export function runRow(runId: string, over: Partial<RunRow> = {}): RunRow {
  return {
    run_id: runId,
    agent: 'a',
    workspace: null,
    prompt: null,
    status: 'success',
    reason: 'completed',
    message: '',
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    owner: null,
    version: 1,
    nested_in: null,
    ...over,
  };
}

/** A new finished run whose state is `{ n: runId }`. */
export function newRunOp(runId: string): StoreOp {
  return { op: 'putRun', row: runRow(runId), expect_version: null, state: { n: runId } };
}
