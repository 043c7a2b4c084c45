// Persistence of a run's steps. A step stages its events and store operations as it goes; its end
// commits them as ONE store transaction carrying only what changed (the state as a delta, pending
// rows added and dropped), then shows its events: every event anyone sees is committed first.
//
// The commits are written to the journal, where every process reads them and no process kill
// loses them; the drive ends with one fdatasync that puts them all on the disk, after its last
// commit (the run pauses or ends: docs/store.md, "Group commit"). So a pause→resume cycle pays
// two disk flushes, whatever number of steps it took.
import type { RunEvent } from '../protocol/events.js';
import { selfOwner } from '../store/file-lock.js';
import { StateBaseline } from '../store/state-delta.js';
import type { CommitResult, PendingRow, StoredStatus, StoreOp } from '../store/store.js';
import type { RunContext } from './run-context.js';

interface Committed {
  state: StateBaseline;
  pending: ReadonlyMap<string, PendingRow>;
  stored: StoredStatus;
}

export class RunPersistence {
  /** The run row's version as this process last wrote or read it (optimistic concurrency). */
  private version = 0;
  /** What the store holds at `version`; null for a run not yet written. */
  private committed: Committed | null = null;
  /** The step being built: its events (and whether each is shown) and extra operations. */
  private events: { event: RunEvent; show: boolean }[] = [];
  private ops: StoreOp[] = [];

  constructor(private readonly run: RunContext) {}

  /** The run as loaded: later commits carry what changed since this stored state. */
  loaded(version: number, storedState: unknown, stored: StoredStatus): void {
    this.version = version;
    // Compared with the state as stored, not as parsed: whatever parsing changed is written too.
    this.committed = {
      state: StateBaseline.of(storedState),
      pending: new Map(this.run.pendingRows),
      stored,
    };
  }

  /**
   * Adds events (and operations) to the current step. `show: false` for what was already shown
   * live and is stored only for the trace (a turn's coalesced text).
   */
  stage(events: readonly RunEvent[], ops: readonly StoreOp[] = [], show = true): void {
    for (const event of events) this.events.push({ event, show });
    this.ops.push(...ops);
  }

  /**
   * Commits the current step and returns its events to show; null when another process took a
   * claim of it or moved the run on (nothing of the step is written then). A step that changed
   * nothing commits nothing.
   */
  async commit(
    stored: StoredStatus,
    reason: string,
    message: string,
    sync: boolean,
  ): Promise<RunEvent[] | null> {
    const change = this.committed?.state.diff(this.run.state);
    // A nested run's items are listed under the run that drives it, which is resumed instead.
    const pending = new Map(this.run.state.nested_in ? [] : this.run.pendingRows);
    const before = this.committed?.pending ?? new Map<string, PendingRow>();
    const put = [...pending.values()].filter((p) => before.get(p.id) !== p);
    const drop = [...before.keys()].filter((id) => !pending.has(id));
    const unchanged =
      this.committed !== null &&
      this.committed.stored === stored &&
      !this.events.length &&
      !this.ops.length &&
      !put.length &&
      !drop.length &&
      !change?.delta.set &&
      !change?.delta.unset &&
      !change?.delta.items;
    if (unchanged) return [];
    const ops: StoreOp[] = [...this.ops, this.putRun(stored, reason, message, change?.delta)];
    if (put.length || drop.length) {
      ops.push({ op: 'updatePending', run_id: this.run.runId, put, drop });
    }
    if (this.events.length) {
      ops.push({
        op: 'appendEvents',
        run_id: this.run.runId,
        segment_id: this.run.segmentId,
        events: this.events.map((e) => e.event as Record<string, unknown>),
      });
    }
    // Waits for another process's commit with the event loop free; the commit then takes the
    // lock without waiting (nothing runs between the two).
    await this.run.cfg.store.ready();
    const result: CommitResult = this.run.cfg.store.commit(ops, { sync });
    if (!result.ok) return null;
    this.version++;
    this.committed = {
      state: change?.next ?? StateBaseline.of(this.run.state),
      pending,
      stored,
    };
    const shown = this.events.filter((e) => e.show).map((e) => e.event);
    this.events = [];
    this.ops = [];
    return shown;
  }

  /**
   * Commits the step before the run does something that must not be repeated or that may take
   * long (a handler, a model call), and shows its events. The run stays `running`.
   */
  async *step(): AsyncGenerator<RunEvent, void> {
    yield* this.settled(await this.commit('running', 'running', 'The run is in progress.', false));
  }

  /**
   * The drive's last commit: the run paused or ended. Its events show once it is written; the
   * drive ends once it and every step before it are flushed to the disk (the flush runs off the
   * event loop while the card goes out).
   */
  async *last(stored: StoredStatus, reason: string, message: string): AsyncGenerator<RunEvent> {
    const events = this.settled(await this.commit(stored, reason, message, false));
    try {
      yield* events;
    } finally {
      await this.run.cfg.store.flush();
    }
  }

  private settled(events: RunEvent[] | null): RunEvent[] {
    if (!events) {
      throw new Error(
        `Run ${this.run.runId} was changed by another process while this one drove it; stopped here.`,
      );
    }
    return events;
  }

  private putRun(
    stored: StoredStatus,
    reason: string,
    message: string,
    delta: ReturnType<StateBaseline['diff']>['delta'] | undefined,
  ): StoreOp {
    const run = this.run;
    return {
      op: 'putRun',
      row: {
        run_id: run.runId,
        agent: run.cfg.agent,
        workspace: run.cfg.workspace,
        prompt: run.shownPrompt(),
        status: stored,
        reason,
        message,
        created_at: run.createdAt,
        updated_at: new Date().toISOString(),
        owner: stored === 'running' ? selfOwner : null,
        version: this.version + 1,
        nested_in: run.state.nested_in,
      },
      expect_version: this.committed ? this.version : null,
      ...(delta ? { delta } : { state: run.state }),
    };
  }
}
