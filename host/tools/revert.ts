// Reverting applied changes (issue 16). A file that still holds what the change left is put back
// exactly (a deleted file comes back, a created one goes); a file changed since is not touched
// unless the developer, shown before / applied / now, chooses to restore it anyway. Each revert
// is itself a recorded change, claimed once: two windows reverting at once revert once.
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { changeEvent, contentText, recordChange, revertChangeId } from '../runtime/changes.js';
import type { Redactor } from '../runtime/redact.js';
import { fsyncDirAsync, replaceDurably } from '../store/durable-file.js';
import { selfOwner } from '../store/file-lock.js';
import type { ChangeRow, Store } from '../store/store.js';
import type { FileChangeEvent } from '../protocol/events.js';
import type { RevertOutcome } from '../protocol/rpc.js';
import { standingChanges } from '../protocol/change-chain.js';
import type { ChangeInfo } from '../protocol/rpc.js';
import { readCurrent, type Current } from './files.js';
import { worksIn, type Workspace } from './workspace.js';
import { startedOnOf } from '../runtime/run-state.js';

export interface RevertDeps {
  store: Store;
  workspace: Workspace;
  redactor: Redactor;
  /** Who reverts, for the transcript and the audit (e.g. "ana via VS Code"). */
  by: string;
  /** Sees each revert's transcript entry once it is committed. */
  onEvent?: (event: FileChangeEvent) => void;
}

export class UnknownChangeError extends Error {
  override name = 'UnknownChangeError';
}

/** A run's changes and reverts, oldest first, each saying whether it stands. */
export function listChanges(store: Store, runId: string): ChangeInfo[] {
  const changes = store.changes(runId);
  const standing = new Set(standingChanges(changes).map((c) => c.change_id));
  return changes.map((c) => ({
    change_id: c.change_id,
    path: c.path,
    kind: c.kind,
    reverts: c.reverts,
    reverted_by: c.reverted_by,
    by: c.by,
    at: c.at,
    standing: standing.has(c.change_id),
  }));
}

/**
 * Reverts one change of the run, or every standing change of it (newest first). `force`: restore
 * the content from before even where the file changed since (the developer chose so, per file).
 */
export async function revert(
  deps: RevertDeps,
  runId: string,
  options: { changeId?: string; force?: boolean } = {},
): Promise<RevertOutcome[]> {
  const { store } = deps;
  const run = store.getRun(runId);
  if (!run) throw new UnknownChangeError(`There is no run ${runId}.`);
  // Its paths are relative to its own workspace: never applied to another one (a shared database).
  if (!worksIn(run.row.workspace, deps.workspace.root, startedOnOf(run.state))) {
    throw new UnknownChangeError(
      `Run ${runId} changed files in ${run.row.workspace}, not in ${deps.workspace.root}: revert it from that folder's window, or with \`airlock revert ${runId}\`.`,
    );
  }
  const changes = store.changes(runId);
  let targets: ChangeRow[];
  if (options.changeId) {
    const one = changes.find((c) => c.change_id === options.changeId);
    if (!one) {
      throw new UnknownChangeError(
        `Run ${runId} has no change ${options.changeId}; \`airlock revert ${runId} --list\` lists its changes.`,
      );
    }
    targets = [one];
  } else {
    targets = standingChanges(changes);
  }
  const outcomes: RevertOutcome[] = [];
  for (const change of targets) outcomes.push(await revertOne(deps, change, !!options.force));
  return outcomes;
}

async function revertOne(deps: RevertDeps, c: ChangeRow, force: boolean): Promise<RevertOutcome> {
  const { store, workspace: ws, redactor } = deps;
  const base = { change_id: c.change_id, path: c.path };
  const latest = store.change(c.change_id) ?? c;
  if (latest.reverted_by) {
    return {
      ...base,
      status: 'already_reverted',
      message: `${c.path}: this change was already reverted (${latest.reverted_by}).`,
    };
  }
  const refused = (message: string): RevertOutcome => ({ ...base, status: 'refused', message });
  const content = (hash: string | null): Uint8Array | null | undefined =>
    hash === null ? null : store.content(hash);
  const before = content(c.before);
  const applied = content(c.after);
  if (before === undefined || applied === undefined) {
    return refused(`${c.path}: the undo data of this change is gone (dropped by retention).`);
  }
  let target;
  try {
    target = ws.resolveForChange(c.path);
  } catch (err) {
    return refused(`${c.path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const state = ws.buffers.state(target.rel);
  if (state === 'held') {
    return refused(
      `${c.path} has unsaved changes in another VS Code window; nothing was reverted. Revert it from that window, or save or revert the file there first.`,
    );
  }
  // The file as the developer sees it, read as the file tools read it (open buffer, else disk).
  let current: Current | null;
  try {
    current = await readCurrent(ws, target);
  } catch (err) {
    return refused(`${c.path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const now = current?.bytes ?? null;
  const nowHash = current?.sha ?? null;
  const restored = nowHash === c.before;
  if (nowHash !== c.after && !restored && !force) {
    const shown = (b: Uint8Array | null) => {
      if (b === null) return null;
      const text = contentText(b);
      return text === null ? '(binary content)' : redactor.text(text);
    };
    const texts = [before, applied, now].map((b) => ({ raw: b, shown: shown(b) }));
    return {
      ...base,
      status: 'conflict',
      message: `${c.path} changed since this change was applied; nothing was written. Compare before / applied / now, then restore the content from before or keep the file.`,
      before: texts[0]!.shown,
      applied: texts[1]!.shown,
      now: texts[2]!.shown,
      masked: texts.some((t) => t.raw !== null && contentText(t.raw) !== t.shown),
    };
  }
  if (!restored) {
    const problem = await putBack(ws, target, current, before, c.mode);
    if (problem) return refused(problem);
  }
  const revertId = revertChangeId();
  const { row, ops } = recordChange(
    c.run_id,
    null,
    { path: c.path, before: now, after: before, mode: current?.mode ?? null },
    { change_id: revertId, reverts: c.change_id, by: redactor.text(deps.by) },
  );
  const event = changeEvent(row, now, before, redactor);
  const segment = store.segments(c.run_id).at(-1)?.segment_id ?? 'revert';
  await store.ready();
  const result = store.commit([
    {
      op: 'claim',
      run_id: c.run_id,
      ids: [`revert:${c.change_id}`],
      owner: selfOwner,
      at: row.at,
    },
    ...ops,
    { op: 'markReverted', change_id: c.change_id, by: revertId },
    { op: 'appendEvents', run_id: c.run_id, segment_id: segment, events: [event] },
  ]);
  if (!result.ok) {
    // Another window or the CLI reverted it at the same moment (it wrote the same content).
    return {
      ...base,
      status: 'already_reverted',
      message: `${c.path}: this change was already reverted (at the same moment, elsewhere).`,
    };
  }
  deps.onEvent?.(event);
  const what =
    before === null
      ? `removed ${c.path} (the change created it)`
      : applied === null
        ? `restored ${c.path} (the change deleted it)`
        : `restored ${c.path} to its content before the change`;
  const where = current?.unsaved ? ' in the open editor (unsaved: save it to keep it)' : '';
  return {
    ...base,
    status: 'reverted',
    revert_id: revertId,
    message: restored
      ? `${c.path} already held its content from before the change; the revert is recorded.`
      : `Reverted: ${what}${where}.`,
  };
}

/** Puts `content` in place (null: removes the file); a message when it could not. */
async function putBack(
  ws: Workspace,
  target: { abs: string; rel: string },
  current: Current | null,
  content: Uint8Array | null,
  /** The permission bits the file had before the change, for a file that must be re-created. */
  mode: number | null,
): Promise<string | null> {
  try {
    if (current?.unsaved) {
      // The developer's unsaved document is the truth: change it there, undoably (SPEC §7).
      const text = content === null ? null : contentText(content);
      if (text === null || current.text === null) {
        return `${target.rel} has unsaved changes in the editor; nothing was reverted. Save or revert the file, then revert again.`;
      }
      const applied = await ws.buffers.apply(target.rel, current.text, text);
      if (applied.status === 'applied') return null;
      if (applied.status === 'changed') {
        return `${target.rel} changed in the editor while reverting; nothing was reverted. Try again.`;
      }
      // No longer dirty: the disk is the truth again, and holds what was read (checked below).
    }
    if (content === null) {
      await unlink(target.abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await fsyncDirAsync(path.dirname(target.abs));
      return null;
    }
    await mkdir(path.dirname(target.abs), { recursive: true });
    // A file still there keeps its permissions; a deleted one comes back with its own.
    await replaceDurably(target.abs, content, current?.mode ?? mode ?? undefined);
    return null;
  } catch (err) {
    return `${target.rel}: could not revert (${err instanceof Error ? err.message : String(err)}).`;
  }
}
