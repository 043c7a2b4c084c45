// Store operations the store tests commit directly: a finished run, as small as a run row gets.
import type { RunRow, StoreOp } from '../../host/store/store.js';

/** A new finished run whose state is `{ n: runId }`. */
export function newRunOp(runId: string): StoreOp {
  const row: RunRow = {
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
  };
  return { op: 'putRun', row, expect_version: null, state: { n: runId } };
}
