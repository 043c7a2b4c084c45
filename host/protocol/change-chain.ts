// Which changes of a run stand (issue 16), from their revert links alone: shared by the host,
// the CLI and the sidebar (which knows them from the transcript's file_change events). Pure.

export interface ChainLink {
  change_id: string;
  /** The change this one reverts (null: an agent's own change). */
  reverts: string | null;
  /** The change that reverted this one, if any. */
  reverted_by: string | null;
}

/**
 * The changes "revert the run" undoes, newest first: every change whose effect stands. A change
 * reverted, and that revert reverted, stands again through the last revert of the chain.
 */
export function standingChanges<T extends ChainLink>(changes: readonly T[]): T[] {
  const byId = new Map(changes.map((c) => [c.change_id, c]));
  const depth = (c: T): number => {
    let n = 0;
    for (let at = c.reverts; at; at = byId.get(at)?.reverts ?? null) n++;
    return n;
  };
  return changes.filter((c) => !c.reverted_by && depth(c) % 2 === 0).reverse();
}
