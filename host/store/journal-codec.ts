// How a commit's operations are written to the journal: without what the record already holds
// or the store already knows, so a pause costs about what the state and its events weigh.
//
// - A pending row whose event is also appended by the same commit (every gate and question is)
//   names it by position (`event_at`) instead of carrying a second copy.
// - A `putRun` of an existing run carries only the row fields an update changes; the others
//   (agent, workspace, prompt, created_at, nested_in) are the stored row's and never change.
//
// Records written before schema 6 carry everything and decode as they are.
import type { PendingRow, RunRow, StoreOp } from './store.js';

/** A pending row as journaled: its event, or where the same record appends it. */
type JournaledPending = Omit<PendingRow, 'event'> & {
  event?: Record<string, unknown>;
  event_at?: [op: number, index: number];
};

export const FIXED = ['agent', 'workspace', 'prompt', 'created_at', 'nested_in'] as const;
/** The fields of a stored run row that an update never changes. */
export type FixedFields = Pick<RunRow, (typeof FIXED)[number]>;

/** Drops from the commit what its record can do without. */
export function encodeOps(ops: readonly StoreOp[]): StoreOp[] {
  const at = new Map<unknown, [number, number]>();
  ops.forEach((op, i) => {
    if (op.op === 'appendEvents') op.events.forEach((e, j) => at.set(e, [i, j]));
  });
  return ops.map((op): StoreOp => {
    if (op.op === 'updatePending') {
      const put = op.put.map((p): JournaledPending => {
        const where = at.get(p.event);
        if (!where) return p;
        const { event: _event, ...rest } = p;
        return { ...rest, event_at: where };
      });
      return { ...op, put: put as PendingRow[] };
    }
    if (op.op === 'putRun' && op.expect_version !== null) {
      const row: Partial<RunRow> = { ...op.row };
      for (const key of FIXED) delete row[key];
      return { ...op, row: row as RunRow };
    }
    return op;
  });
}

/**
 * The operations a record stands for, as the store applies them. `stored` reads a run's row as
 * it is before the record (a `putRun` of an existing run takes its unchanging fields from it).
 */
export function decodeOps(
  ops: readonly StoreOp[],
  stored: (runId: string) => FixedFields | undefined,
): StoreOp[] {
  return ops.map((op): StoreOp => {
    if (op.op === 'updatePending') {
      const put = (op.put as JournaledPending[]).map((p): PendingRow => {
        if (!p.event_at) return p as PendingRow;
        const [i, j] = p.event_at;
        const source = ops[i];
        const event = source?.op === 'appendEvents' ? source.events[j] : undefined;
        if (!event) throw new Error(`a pending row ${p.id} names an event its record lacks`);
        const { event_at: _at, ...rest } = p;
        return { ...rest, event };
      });
      return { ...op, put };
    }
    if (op.op === 'putRun' && op.expect_version !== null && !journaledWhole(op.row)) {
      const before = stored(op.row.run_id);
      if (!before) throw new Error(`an update of run ${op.row.run_id}, which is not stored`);
      const row = { ...op.row };
      for (const key of FIXED) (row as Record<string, unknown>)[key] = before[key];
      return { ...op, row };
    }
    return op;
  });
}

function journaledWhole(row: Partial<RunRow>): boolean {
  return row.agent !== undefined;
}
