// Team mode (issue 17): a run is continued where it runs. While `airlock wait RUN` waits on it
// (on a CI machine, say), a decision made anywhere else (another machine's CLI or window) is
// recorded for it rather than acted on there, and the waiter applies it: the tools run in the
// run's own workspace, once. The first decision on a gate wins (a claim of `decide:<id>`).
import { selfOwner } from '../store/file-lock.js';
import type { Store } from '../store/store.js';
import { ApprovalResolution, isCancel, type ResumeMap } from '../protocol/events.js';

/** The claim a waiter holds on its run: `wait:<owner>`, alive while its process is. */
const WAIT = 'wait:';

/** Marks this process as the run's waiter (a no-op if it already is). */
export function registerWaiter(store: Store, runId: string): void {
  const id = `${WAIT}${selfOwner}`;
  if (store.claims(runId).some((c) => c.id === id)) return;
  store.commit([
    { op: 'claim', run_id: runId, ids: [id], owner: selfOwner, at: new Date().toISOString() },
  ]);
}

/** The live waiter of a run other than this process, by its owner id (`host:pid:start`). */
export function waiterOf(store: Store, runId: string): string | undefined {
  return store
    .claims(runId)
    .find((c) => c.id.startsWith(WAIT) && c.owner !== selfOwner && store.ownerAlive(c.owner))
    ?.owner;
}

export class DeferError extends Error {
  constructor(
    message: string,
    /**
     * `unknown`: an id the run is not waiting on; `invalid`: not a decision; `claimed`: decided
     * already, by someone.
     */
    readonly kind: 'unknown' | 'invalid' | 'claimed',
  ) {
    super(message);
  }
}

/**
 * Records `resume` (the values `airlock resume` / the sidebar would apply, approver included)
 * for the waiter. Every id must be pending on the run; a gate someone decided already is an
 * error naming it, and nothing is recorded.
 */
export function deferDecisions(store: Store, runId: string, resume: ResumeMap): string[] {
  const pending = new Set(store.pending(runId).map((p) => p.id));
  const ids = Object.keys(resume);
  const unknown = ids.filter((id) => !pending.has(id));
  // Decided already (and maybe applied since, so no longer pending): first decision won.
  const claimed = new Set(store.claims(runId).map((c) => c.id));
  const decided = unknown.filter((id) => claimed.has(id) || claimed.has(`decide:${id}`));
  if (decided.length) {
    throw new DeferError(
      `Someone already decided ${decided.join(', ')} of run ${runId}; nothing was recorded.`,
      'claimed',
    );
  }
  if (!ids.length || unknown.length) {
    throw new DeferError(
      `Run ${runId} is not waiting on ${unknown.join(', ') || 'any decision given'}; it waits on ${[...pending].join(', ') || 'nothing'}.`,
      'unknown',
    );
  }
  // Checked here, where the developer decides: the waiter must never meet a value it refuses.
  const approvals = new Set(
    store
      .pending(runId)
      .filter((p) => p.kind === 'approval')
      .map((p) => p.id),
  );
  for (const id of ids) {
    if (!approvals.has(id) || isCancel(resume[id])) continue;
    const parsed = ApprovalResolution.safeParse(resume[id]);
    if (!parsed.success) {
      throw new DeferError(
        `The resolution for ${id} is invalid: give true, false, { "approved": true|false, ... } or { "type": "cancel" }. Nothing was recorded.`,
        'invalid',
      );
    }
  }
  const at = new Date().toISOString();
  const result = store.commit([
    { op: 'claim', run_id: runId, ids: ids.map((id) => `decide:${id}`), owner: selfOwner, at },
    ...ids.map((id) => ({
      op: 'deferDecision' as const,
      run_id: runId,
      id,
      resolution: resume[id],
      at,
    })),
  ]);
  if (!result.ok) {
    const taken = 'claimed' in result ? result.claimed.map((c) => c.slice('decide:'.length)) : [];
    throw new DeferError(
      `Someone already decided ${taken.join(', ') || ids.join(', ')} of run ${runId}; nothing was recorded.`,
      'claimed',
    );
  }
  return ids;
}

/**
 * What the waiter can apply now: the deferred decisions of the run, when there is one for every
 * gate and question it waits on (a run goes on only once all of them are decided).
 */
export function readyDecisions(store: Store, runId: string): ResumeMap | undefined {
  const pending = store.pending(runId);
  if (!pending.length) return undefined;
  const deferred = new Map(store.deferred(runId).map((d) => [d.id, d.resolution]));
  if (!pending.every((p) => deferred.has(p.id))) return undefined;
  return Object.fromEntries(pending.map((p) => [p.id, deferred.get(p.id)]));
}
