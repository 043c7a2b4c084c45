// The run store's interface. Every write is one atomic batch of logical operations, so a
// durable implementation can journal batches and replay them, and a claim can fail the whole
// batch (exclusive across processes).
import type { StandingRule } from '../runtime/policy.js';
import type { StateDelta } from './state-delta.js';

export type StoredStatus = 'running' | 'paused' | 'success' | 'error' | 'cancelled';
/** What readers see: a `running` run whose owner process is gone is `interrupted`. */
export type RunState = StoredStatus | 'interrupted';

export interface RunRow {
  run_id: string;
  agent: string;
  workspace: string | null;
  /** Redacted. */
  prompt: string | null;
  status: StoredStatus;
  reason: string;
  message: string;
  created_at: string;
  updated_at: string;
  /** `host:pid` of the process driving the run while it is `running`. */
  owner: string | null;
  /** Bumped by every write of the run: a writer holding an older version lost a race. */
  version: number;
  /** Set on a nested run: the run whose tool drives it (lists and pending show that one). */
  nested_in: string | null;
}

/** A run in one of these has ended: retention may drop it; its events are packed (file store). */
export const FINISHED_STATUSES: readonly StoredStatus[] = ['success', 'error', 'cancelled'];

const STORED_STATUSES: readonly StoredStatus[] = [
  'running',
  'paused',
  'success',
  'error',
  'cancelled',
];

/**
 * A `runs` row as the store reads it. A status this Airlock does not know (a newer Airlock's, a
 * damaged row) is an error naming the run, never read as some other status.
 */
export function toRunRow(r: Readonly<Record<string, unknown>>): RunRow {
  const runId = String(r.run_id);
  const status = STORED_STATUSES.find((s) => s === r.status);
  if (!status) {
    throw new Error(
      `Run ${runId} has a status this Airlock does not know (${JSON.stringify(r.status)}); it was written by a newer or incompatible Airlock. Update Airlock to read it.`,
    );
  }
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    run_id: runId,
    agent: String(r.agent),
    workspace: text(r.workspace),
    prompt: text(r.prompt),
    status,
    reason: String(r.reason),
    message: String(r.message),
    created_at: String(r.created_at),
    updated_at: String(r.updated_at),
    owner: text(r.owner),
    version: Number(r.version),
    nested_in: text(r.nested_in),
  };
}

export interface RunSummary extends Omit<RunRow, 'status'> {
  status: RunState;
  pending: number;
}

export interface PendingRow {
  id: string;
  run_id: string;
  kind: 'approval' | 'interaction';
  /** The redacted ApprovalEvent / InteractionEvent. */
  event: Record<string, unknown>;
  created_at: string;
}

export interface EventRow {
  seq: number;
  run_id: string;
  segment_id: string;
  event: Record<string, unknown>;
}

export interface SegmentRow {
  segment_id: string;
  run_id: string;
  parent_segment_id: string | null;
  kind: 'start' | 'resume';
  /** The redacted resume map. */
  resume: Record<string, unknown> | null;
  started_at: string;
}

/**
 * A file change a run applied, or a revert of one (itself a change, so it can be reverted too).
 * `before` and `after` name the file's content by its SHA-256 (see `putContent`); null: no file.
 */
export interface ChangeRow {
  change_id: string;
  run_id: string;
  /** The tool call that made it; null for a revert (made by the developer). */
  call_id: string | null;
  /** Workspace-relative. */
  path: string;
  kind: 'create' | 'edit' | 'delete';
  before: string | null;
  after: string | null;
  /** Set on a revert: the change it undid. */
  reverts: string | null;
  /** Set once a later change reverted this one. */
  reverted_by: string | null;
  /** Who made a revert (redacted), null for the agent's own changes. */
  by: string | null;
  /** The file's permission bits before the change (null: no file), to restore a deleted one. */
  mode: number | null;
  at: string;
}

export type StoreOp =
  | {
      op: 'putRun';
      row: RunRow;
      /** The version the writer read; null for a new run. A mismatch fails the batch. */
      expect_version: number | null;
      /**
       * The full run state (unredacted: handlers need the real input); stored as a BLOB. A new
       * run's first commit carries it, and so did every commit of journals before deltas.
       */
      state?: unknown;
      /**
       * What changed in the state since the version `expect_version` names, applied on top of
       * the stored state (see state-delta.ts). Exactly one of `state` and `delta` is present.
       */
      delta?: StateDelta;
    }
  | { op: 'addSegment'; row: SegmentRow }
  | { op: 'appendEvents'; run_id: string; segment_id: string; events: Record<string, unknown>[] }
  /** Replaces a run's pending rows (journals before `updatePending` wrote this per commit). */
  | { op: 'setPending'; run_id: string; rows: PendingRow[] }
  /** Adds or replaces these pending rows of a run and removes the ones listed in `drop`. */
  | { op: 'updatePending'; run_id: string; put: PendingRow[]; drop: string[] }
  | { op: 'claim'; run_id: string; ids: string[]; owner: string; at: string }
  | { op: 'decide'; run_id: string; id: string; resolution: unknown; at: string }
  | { op: 'addRule'; rule: StandingRule }
  /** Revokes a standing rule (a no-op when it is already revoked or unknown). */
  | { op: 'revokeRule'; rule_id: string; at: string; by: string | null }
  | { op: 'deleteRuns'; run_ids: string[] }
  /**
   * A file's content, by its SHA-256, for undo (a change's before and after). Stored once however
   * many changes name it: as text or base64 in the record, or `file: true` when it went to a
   * content file beside the database (written durably before the record).
   */
  | { op: 'putContent'; hash: string; text?: string; base64?: string; file?: true }
  | { op: 'addChange'; row: ChangeRow }
  /** Marks a change reverted; with the revert's `claim`, a second revert fails the batch. */
  | { op: 'markReverted'; change_id: string; by: string }
  /**
   * Team mode: a decision made away from the process that continues the run (`airlock wait`),
   * kept until that process applies it: the value as a resume map holds it (unredacted, like a
   * run's state), committed with a `claim` of `decide:<id>` so the first decision wins.
   */
  | { op: 'deferDecision'; run_id: string; id: string; resolution: unknown; at: string }
  /**
   * The deferred decisions of a run that its resume applied (the gates' own claims now say they
   * were decided) or refused (to be decided again): their values and `decide:` claims go.
   */
  | { op: 'dropDeferred'; run_id: string; ids: string[] };

export interface CommitOptions {
  /** Flush to the disk before returning (default true). */
  sync?: boolean;
}

export type CommitResult =
  | { ok: true }
  | { ok: false; claimed: string[] }
  | { ok: false; conflict: 'version'; run_id: string };

/** A subscription to a store's changes; `close` ends it. */
export interface StoreWatch {
  close(): void;
}

export interface Store {
  /**
   * Applies the batch atomically and durably; fails whole if any claim is already taken or a
   * run changed since the writer read it. Once it returns, every process reads it and no kill of
   * any process loses it. With `sync: false` it is not yet flushed to the disk itself: the next
   * synced commit (of any process) flushes it with its own, so a power loss in between may lose
   * it (docs/store.md, "Group commit").
   */
  commit(ops: StoreOp[], options?: CommitOptions): CommitResult;
  /**
   * Resolves once a commit made right after (in the same tick) takes the cross-process lock at
   * once: callers that can await wait here, so no commit waits with the event loop blocked.
   */
  ready(): Promise<void>;
  /**
   * Resolves once every commit this process made is on the disk: what `sync: false` left to a
   * later flush, done off the event loop (a run shows a pause's card while its record is flushed).
   */
  flush(): Promise<void>;
  getRun(runId: string): { row: RunRow; state: unknown } | undefined;
  listRuns(): RunSummary[];
  /** Top-level runs whose driving process died mid-step (newest first). */
  interruptedRuns(): string[];
  /** Top-level runs that ended on a failed model call and may be retried (newest first). */
  retryableRuns(): { run_id: string; message: string }[];
  pending(runId?: string): PendingRow[];
  events(runId: string): EventRow[];
  segments(runId: string): SegmentRow[];
  claims(runId: string): { id: string; owner: string; claimed_at: string }[];
  decisions(runId: string): { id: string; resolution: unknown; decided_at: string }[];
  /**
   * Active (unrevoked) standing rules of a workspace: its own (run_id null) and those of its runs
   * that have not finished. Oldest first.
   */
  rules(workspace: string): StandingRule[];
  /** Team mode: decisions made for `airlock wait` to apply (deferDecision), unredacted. */
  deferred(runId: string): { id: string; resolution: unknown; at: string }[];
  /** Whether the process an owner id names (`host:pid:start`) is alive, as far as it can tell. */
  ownerAlive(owner: string): boolean;
  /** A run's file changes and reverts, oldest first. */
  changes(runId: string): ChangeRow[];
  /** One change by id, whichever run made it. */
  change(changeId: string): ChangeRow | undefined;
  /** File content stored by `putContent`; undefined when no change names it (any more). */
  content(hash: string): Buffer | undefined;
  /** `running` runs whose owner died read as `interrupted`. */
  statusOf(row: RunRow): RunState;
  /** Drops finished runs beyond the retention limits, in small batches; returns how many. */
  compact(retention: Retention): number;
  /**
   * Rewrites the database files so that nothing dropped remains on disk: no raw state of a
   * finished run, no deleted row, in the snapshot, its free pages, `FILE.prev` or the journal.
   * Live runs keep their raw state (in the owner-only files).
   */
  scrub(): void;
  /**
   * Calls `listener` (not at once, possibly several times for one commit) after another process
   * may have committed: the file store watches its folder, PostgreSQL notifies. A watch that
   * cannot be set up says so by throwing.
   */
  watch(listener: () => void): StoreWatch;
  /** Problems found and repaired while opening (a torn journal tail…), for the user to see. */
  readonly warnings: readonly string[];
  close(): void;
}

export interface Retention {
  /** Keep at most this many finished runs (newest first). */
  keepRuns?: number;
  /** Keep finished runs updated within this many days. */
  keepDays?: number;
  now?: Date;
}
