// What the sidebar, badge and status bar show: the latest pending items and runs read from the
// host, whether it is connected, and which gates are new since the last read (for the
// notification). Pure: `load` is the host call, so this is tested with a fake.
import type { Pending, RunSummary } from '../host/protocol/rpc.js';
import type { StateMessage } from '../webview/protocol.js';
import type { PendingItem } from './decisions.js';
import { errorMessage } from './rpc-call.js';

export interface Snapshot {
  pending: Pending;
  runs: RunSummary[];
  connected: boolean;
  error: string | null;
}

type Listener = (snapshot: Snapshot, fresh: PendingItem[]) => void;

const EMPTY: Pending = { approvals: [], interactions: [], interrupted: [] };

/** Runs `work` once at a time; calls during a run share one more run after it. */
export function coalesce(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const trigger = (): Promise<void> => {
    if (!running) {
      running = work().finally(() => (running = undefined));
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return trigger();
      });
    return queued;
  };
  return trigger;
}

export function pendingIds(pending: Pending): string[] {
  return [
    ...pending.approvals.map((a) => a.approval_id),
    ...pending.interactions.map((i) => i.interaction_id),
  ];
}

export function pendingCount(snapshot: Snapshot): number {
  return snapshot.pending.approvals.length + snapshot.pending.interactions.length;
}

export function toStateMessage(snapshot: Snapshot): StateMessage {
  return {
    type: 'state',
    runs: snapshot.runs.map((r) => ({
      run_id: r.run_id,
      prompt: r.prompt,
      status: r.status,
      reason: r.reason,
      message: r.message,
      updated_at: r.updated_at,
      pending: r.pending,
    })),
    approvals: snapshot.pending.approvals,
    interactions: snapshot.pending.interactions,
    connected: snapshot.connected,
    error: snapshot.error,
  };
}

export class PendingModel {
  private snapshot: Snapshot = { pending: EMPTY, runs: [], connected: false, error: null };
  /** Ids seen so far; undefined until the first read (gates already waiting are not "new"). */
  private known: Set<string> | undefined;
  private readonly listeners = new Set<Listener>();
  private hostError: string | null = null;
  private readError: string | null = null;
  /** Re-reads pending and runs; calls while a read is under way share the next one. */
  readonly refresh: () => Promise<void>;

  constructor(private readonly load: () => Promise<{ pending: Pending; runs: RunSummary[] }>) {
    this.refresh = coalesce(() => this.reload());
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  onDidChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The host's state; its error outranks a failed read (which is usually its consequence). */
  setConnection(connected: boolean, error: string | null): void {
    this.hostError = error;
    this.snapshot = { ...this.snapshot, connected, error: error ?? this.readError };
    this.emit([]);
  }

  private async reload(): Promise<void> {
    try {
      const { pending, runs } = await this.load();
      const known = this.known;
      const fresh: PendingItem[] = known
        ? [
            ...pending.approvals
              .filter((a) => !known.has(a.approval_id))
              .map((event) => ({ tag: 'approval' as const, event })),
            ...pending.interactions
              .filter((i) => !known.has(i.interaction_id))
              .map((event) => ({ tag: 'interaction' as const, event })),
          ]
        : [];
      this.known = new Set([...(known ?? []), ...pendingIds(pending)]);
      this.readError = null;
      this.hostError = null;
      this.snapshot = { pending, runs, connected: true, error: null };
      this.emit(fresh);
    } catch (err) {
      this.readError = errorMessage(err);
      this.snapshot = { ...this.snapshot, error: this.hostError ?? this.readError };
      this.emit([]);
    }
  }

  private emit(fresh: PendingItem[]): void {
    for (const listener of [...this.listeners]) listener(this.snapshot, fresh);
  }
}
