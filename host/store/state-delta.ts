// State deltas: a commit of a run carries only what changed in its state since the writer's last
// commit, so the journal grows with the work done, not with the size of the state times the
// number of commits (600 tool calls in one turn once made a 145 MB journal).
//
// The run state is a flat document whose two large fields are arrays that change item by item:
// `messages` only grows (until a finished run drops it), and a turn's `calls` settle one at a
// time. So a delta is one level deep: top-level fields replaced whole, and arrays as their new
// length plus the items that differ, by index. Items are compared by their JSON, so whatever the
// engine changed inside a call (a gate, a decision, its result) is found without tracking it.
// The store applies a delta on top of the stored state of the version the writer read; the
// version check of `putRun` makes sure that is the state the delta was computed against.

export interface StateDelta {
  /** Top-level fields whose value changed (or appeared), replaced whole. */
  set?: Record<string, unknown>;
  /** Top-level fields that are gone. */
  unset?: string[];
  /** Arrays changed item by item: their new length and the items that differ, by index. */
  items?: Record<string, { length: number; set: Record<string, unknown> }>;
}

export class StateDeltaError extends Error {
  override name = 'StateDeltaError';
}

function itemJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** A run state as the writer last committed it: each field's JSON, arrays item by item. */
export class StateBaseline {
  private constructor(private readonly fields: ReadonlyMap<string, string | string[]>) {}

  static of(state: unknown): StateBaseline {
    const fields = new Map<string, string | string[]>();
    if (state && typeof state === 'object' && !Array.isArray(state)) {
      for (const [key, value] of Object.entries(state)) {
        if (value === undefined) continue; // absent in JSON too
        fields.set(key, Array.isArray(value) ? value.map(itemJson) : itemJson(value));
      }
    }
    return new StateBaseline(fields);
  }

  /** What turns the baseline into `state`, and the baseline `state` makes once committed. */
  diff(state: object): { delta: StateDelta; next: StateBaseline } {
    const next = StateBaseline.of(state);
    const delta: StateDelta = {};
    const values = state as Record<string, unknown>;
    for (const [key, now] of next.fields) {
      const before = this.fields.get(key);
      if (Array.isArray(now) && Array.isArray(before)) {
        const set: Record<string, unknown> = {};
        let changed = now.length !== before.length;
        now.forEach((item, i) => {
          if (item !== before[i]) {
            set[i] = (values[key] as unknown[])[i] ?? null;
            changed = true;
          }
        });
        if (changed) (delta.items ??= {})[key] = { length: now.length, set };
      } else if (Array.isArray(now) || Array.isArray(before) || now !== before) {
        (delta.set ??= {})[key] = values[key];
      }
    }
    for (const key of this.fields.keys()) {
      if (!next.fields.has(key)) (delta.unset ??= []).push(key);
    }
    return { delta, next };
  }
}

/**
 * Applies a delta to a stored state (parsed from its BLOB; changed in place and returned). A
 * delta that does not fit the state (an array grown past items it does not carry) is refused:
 * it was computed against another state.
 */
export function applyStateDelta(state: unknown, delta: StateDelta): Record<string, unknown> {
  if (!state || typeof state !== 'object' || Array.isArray(state)) {
    throw new StateDeltaError('a state change for a run whose stored state is not an object');
  }
  const doc = state as Record<string, unknown>;
  for (const [key, value] of Object.entries(delta.set ?? {})) doc[key] = value;
  for (const key of delta.unset ?? []) delete doc[key];
  for (const [key, change] of Object.entries(delta.items ?? {})) {
    const current = doc[key];
    const items: unknown[] = Array.isArray(current) ? current : [];
    const oldLength = items.length;
    if (!Number.isInteger(change.length) || change.length < 0) {
      throw new StateDeltaError(`an impossible length ${change.length} for ${key}`);
    }
    items.length = change.length;
    for (const [index, value] of Object.entries(change.set)) {
      const i = Number(index);
      if (!Number.isInteger(i) || i < 0 || i >= change.length) {
        throw new StateDeltaError(`an item ${index} outside ${key} (length ${change.length})`);
      }
      items[i] = value;
    }
    for (let i = oldLength; i < change.length; i++) {
      if (!(i in items)) {
        throw new StateDeltaError(
          `${key} grown from ${oldLength} to ${change.length} items without item ${i}`,
        );
      }
    }
    doc[key] = items;
  }
  return doc;
}
