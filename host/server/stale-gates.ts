// Cards go stale live (SPEC §7): while a file gate waits, its file may change on disk (another
// tool, the developer, git) or in the developer's unsaved buffer. The host watches the folders of
// the pending gates' files and the buffers' versions, recomputes each proposal's preview, and
// hands out the fresh diff, marked stale, in place of the one the run recorded: the reviewer sees
// what approving would now do before clicking. The decision still names the recorded gate, whose
// approved base no longer matches, so the run asks once more on the fresh content: nothing is
// ever applied to content the reviewer was not shown.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApprovalEvent, type FilePreview } from '../protocol/events.js';
import { parseRunState } from '../runtime/run-state.js';
import type { Tool } from '../runtime/tool.js';
import type { Store } from '../store/store.js';

/** Folders watched at most (a few pending gates touch a few folders). */
const MAX_WATCHED = 64;
/** Changes come in bursts (a save writes, renames, touches): one recheck per burst. */
const SETTLE_MS = 150;

export interface StaleGatesOptions {
  store: Store;
  /** The workspace's real root (previews name files relative to it). */
  root: string;
  /** The file tools as runs use them now (reading open buffers). */
  tools: () => readonly Tool[];
  /** What a card may show: the preview redacted like every public surface. */
  redact: (preview: FilePreview) => FilePreview;
  /** The fresh previews changed: clients read pending again. */
  changed: () => void;
  log: (message: string) => void;
}

export class StaleGates {
  /** Approval id → the fresh preview (stale) of a gate whose file changed since. */
  private fresh = new Map<string, FilePreview>();
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(private readonly opts: StaleGatesOptions) {}

  /** Something may have changed: recheck once things settle. */
  schedule(): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.checking = this.checking
        .then(() => this.check())
        .catch((err: unknown) => {
          this.opts.log(`Checking pending diffs for changes failed: ${String(err)}`);
        });
    }, SETTLE_MS);
  }

  /** The pending approvals as a card should show them: a changed file's gate with its fresh diff. */
  apply(approvals: ApprovalEvent[]): ApprovalEvent[] {
    return approvals.map((a) => {
      const preview = this.fresh.get(a.approval_id);
      return preview ? { ...a, preview } : a;
    });
  }

  /** Resolves once a recheck under way is done (tests). */
  settled(): Promise<void> {
    return this.checking;
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private async check(): Promise<void> {
    if (this.disposed) return;
    const next = new Map<string, FilePreview>();
    const folders = new Set<string>();
    const tools = this.opts.tools();
    for (const row of this.opts.store.pending()) {
      if (row.kind !== 'approval') continue;
      const gate = ApprovalEvent.safeParse(row.event);
      const shown = gate.success ? gate.data.preview : null;
      if (!gate.success || !shown) continue;
      folders.add(path.dirname(path.join(this.opts.root, shown.path)));
      const fresh = await this.preview(gate.data, tools);
      if (fresh && fresh.base_sha256 !== shown.base_sha256) {
        next.set(gate.data.approval_id, this.opts.redact({ ...fresh, stale: true }));
      }
    }
    if (this.disposed) return;
    this.watch(folders);
    if (JSON.stringify([...next]) === JSON.stringify([...this.fresh])) return;
    this.fresh = next;
    this.opts.changed();
  }

  /** The call's preview now; null when it cannot be computed (the handler will say why). */
  private async preview(gate: ApprovalEvent, tools: readonly Tool[]): Promise<FilePreview | null> {
    const found = this.opts.store.getRun(gate.run_id);
    if (!found) return null;
    try {
      const state = parseRunState(found.state, gate.run_id);
      const call = state.calls.find((c) => c.gate?.approval_id === gate.approval_id);
      const tool = tools.find((t) => t.name === call?.tool);
      if (!call || !tool?.preview) return null; // a nested run's gate: its own run knows it
      return (await tool.preview(tool.params.parse(call.args))) ?? null;
    } catch {
      return null;
    }
  }

  private watch(folders: Set<string>): void {
    for (const [folder, watcher] of this.watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      this.watchers.delete(folder);
    }
    for (const folder of folders) {
      if (this.watchers.has(folder) || this.watchers.size >= MAX_WATCHED) continue;
      try {
        const watcher = fs.watch(folder, () => this.schedule());
        watcher.on('error', () => undefined); // the folder went away: the next check drops it
        this.watchers.set(folder, watcher);
      } catch {
        // Missing folder (a create into a new one): checked again on the next change.
      }
    }
  }
}
