// Which open "Open trace" documents to re-read, and when: a run's events and database changes
// mark the traces of watched runs as changed, coalesced so a burst of events re-reads each open
// trace once. Pure (no vscode import): trace-documents.ts fires the document change.

/** A nested run's trace is its top run's (`run~call~call`). */
export function traceRunId(runId: string): string {
  const cut = runId.indexOf('~');
  return cut === -1 ? runId : runId.slice(0, cut);
}

export class TraceRefresh {
  private readonly watched = new Set<string>();
  private readonly due = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `fire(runId)` re-reads that run's open trace; `delayMs` coalesces a burst of changes. */
  constructor(
    private readonly fire: (runId: string) => void,
    private readonly delayMs = 150,
  ) {}

  watch(runId: string): void {
    this.watched.add(traceRunId(runId));
  }

  unwatch(runId: string): void {
    this.watched.delete(traceRunId(runId));
    this.due.delete(traceRunId(runId));
  }

  /** The run changed (an event of it or of a nested run); no id: anything may have changed. */
  changed(runId?: string): void {
    const ids = runId === undefined ? [...this.watched] : [traceRunId(runId)];
    for (const id of ids) if (this.watched.has(id)) this.due.add(id);
    if (this.due.size === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const ids = [...this.due];
      this.due.clear();
      for (const id of ids) this.fire(id);
    }, this.delayMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
    this.watched.clear();
  }
}
