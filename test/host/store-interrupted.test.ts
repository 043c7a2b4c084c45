// Which runs were interrupted (their driving process died mid-step) is read from the runs stored
// as running, not from a scan of every run: the sidebar's `pending` asks it on every change.
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { describe, it } from 'node:test';
import { selfOwner } from '../../host/store/file-lock.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import type { RunRow, StoreOp } from '../../host/store/store.js';

function putRun(run_id: string, row: Partial<RunRow>): StoreOp {
  return {
    op: 'putRun',
    row: {
      run_id,
      agent: 'agent',
      workspace: null,
      prompt: run_id,
      status: 'running',
      reason: 'running',
      message: 'The run is in progress.',
      created_at: `2026-12-01T00:00:0${run_id.at(-1)}.000Z`,
      updated_at: '2026-12-01T00:00:00.000Z',
      owner: null,
      version: 1,
      nested_in: null,
      ...row,
    },
    expect_version: null,
    state: {},
  };
}

void describe('interrupted runs', () => {
  void it('are the top-level runs stored as running whose owner is gone, newest first', async () => {
    const store = await SqlJsStore.open();
    const dead = `${os.hostname()}:4194399:1`;
    store.commit([
      putRun('run_1', { owner: dead }),
      putRun('run_2', { owner: selfOwner }), // driven right now by a live process
      putRun('run_3', { status: 'paused', reason: 'approval_required', owner: null }),
      putRun('run_4', { owner: dead, nested_in: 'run_1' }), // its parent is what resumes
      putRun('run_5', { owner: dead }),
    ]);
    assert.deepEqual(store.interruptedRuns(), ['run_5', 'run_1']);
    assert.deepEqual(
      store
        .listRuns()
        .filter((r) => r.status === 'interrupted')
        .map((r) => r.run_id),
      store.interruptedRuns(),
      'the same answer as reading every run',
    );
    store.close();
  });
});
