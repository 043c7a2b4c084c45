// Standing rules as the store lists them (policy reads them at every gate): a workspace's
// unrevoked rules, and a run's own rules only while that run is live. The store keeps them in
// memory between the commits that change them; these tests change them in every way a user can
// (in this process, in another one, by a run's status, by compaction) and read them back.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { StandingRule } from '../../host/runtime/policy.js';
import { SqlJsStore } from '../../host/store/sqljs-store.js';
import type { StoredStatus, StoreOp } from '../../host/store/store.js';
import { openFileStore, tempDir } from '../support/scratch.js';
import { runRow } from '../support/store-rows.js';

function rule(rule_id: string, run_id: string | null = null): StandingRule {
  return {
    rule_id,
    workspace: 'w',
    run_id,
    tool: 'write_file',
    action: 'allow',
    cover: 'tool',
    created_by: null,
    created_at: `2025-01-01T00:00:0${rule_id.slice(-1)}.000Z`,
    approval_id: null,
  };
}

/** Run `r` at `version` with `status` (version 1 creates it). */
function runAt(status: StoredStatus, version: number): StoreOp {
  const row = runRow('r', { workspace: 'w', status, reason: status, version });
  return { op: 'putRun', row, expect_version: version === 1 ? null : version - 1, state: {} };
}

const ids = (store: SqlJsStore): string[] => store.rules('w').map((r) => r.rule_id);

/** A store with run `r` running, a workspace rule `rule_1` and `r`'s own rule `rule_2`. */
async function withRunAndRules(tag: string): Promise<SqlJsStore> {
  const store = await openFileStore(path.join(tempDir(tag), 'airlock.db'));
  store.commit([runAt('running', 1), { op: 'addRule', rule: rule('rule_1') }]);
  store.commit([{ op: 'addRule', rule: rule('rule_2', 'r') }]);
  assert.deepEqual(ids(store), ['rule_1', 'rule_2']);
  return store;
}

void describe('standing rules as the store lists them', () => {
  void it("a run's own rules hold while it runs or waits, not while it has stopped on an error or after it finished", async () => {
    const store = await withRunAndRules('rules-status');
    store.commit([runAt('paused', 2)]);
    assert.deepEqual(ids(store), ['rule_1', 'rule_2']);
    // A failed model call: the run can be resumed, and its rules hold again then.
    store.commit([runAt('error', 3)]);
    assert.deepEqual(ids(store), ['rule_1']);
    store.commit([runAt('running', 4)]);
    assert.deepEqual(ids(store), ['rule_1', 'rule_2']);
    store.commit([runAt('success', 5)]);
    assert.deepEqual(ids(store), ['rule_1']);
    assert.deepEqual(store.rules('elsewhere'), [], 'rules are per workspace');
  });

  void it('a rule added or revoked by another process shows in the next listing here', async () => {
    const db = path.join(tempDir('rules-shared'), 'airlock.db');
    const here = await openFileStore(db);
    const there = await openFileStore(db);
    here.commit([{ op: 'addRule', rule: rule('rule_1') }]);
    assert.deepEqual(ids(here), ['rule_1']);
    assert.deepEqual(ids(there), ['rule_1']);
    there.commit([{ op: 'addRule', rule: rule('rule_2') }]);
    assert.deepEqual(ids(here), ['rule_1', 'rule_2']);
    there.commit([{ op: 'revokeRule', rule_id: 'rule_1', at: 'x', by: 'someone' }]);
    assert.deepEqual(ids(here), ['rule_2']);
    here.commit([{ op: 'revokeRule', rule_id: 'rule_2', at: 'x', by: 'me' }]);
    assert.deepEqual(ids(here), []);
    assert.deepEqual(ids(there), []);
  });

  void it("dropping a run drops its rules; the workspace's stay", async () => {
    const store = await withRunAndRules('rules-dropped');
    store.commit([{ op: 'deleteRuns', run_ids: ['r'] }]);
    assert.deepEqual(ids(store), ['rule_1']);
    // Not just hidden: a run of the same id later does not bring it back.
    store.commit([runAt('running', 1)]);
    assert.deepEqual(ids(store), ['rule_1']);
  });
});
