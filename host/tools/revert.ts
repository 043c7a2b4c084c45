// Reverting applied changes (issue 16). A file that still holds what the change left is put back
// exactly (a deleted file comes back, a created one goes); a file changed since is not touched
// unless the developer, shown before / applied / now, chooses to restore it anyway. Each revert
// is itself a recorded change, claimed once: two windows reverting at once revert once.
import { realpathSync } from 'node:fs';
import { mkdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { changeEvent, contentText, recordChange, revertChangeId } from '../runtime/changes.js';
import { sha256 } from '../runtime/ids.js';
import type { Redactor } from '../runtime/redact.js';
import { fsyncDirAsync, replaceDurably } from '../store/durable-file.js';
import { selfOwner } from '../store/file-lock.js';
import type { ChangeRow, Store } from '../store/store.js';
import type { FileChangeEvent } from '../protocol/events.js';
import type { RevertOutcome } from '../protocol/rpc.js';
import { standingChanges } from '../protocol/change-chain.js';

export { standingChanges };
import type { Workspace } from './workspace.js';

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
  if (run.row.workspace !== null && realRoot(run.row.workspace) !== deps.workspace.root) {
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

interface Current {
  bytes: Uint8Array | null;
  /** The file's permission bits on disk (null: no file). */
  mode: number | null;
  /** Read from this window's open document with unsaved changes. */
  buffer: boolean;
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
  const current = await readNow(ws, target, state === 'open');
  const nowHash = current.bytes === null ? null : sha256(current.bytes);
  const restored = nowHash === c.before;
  if (nowHash !== c.after && !restored && !force) {
    const shown = (b: Uint8Array | null) => {
      if (b === null) return null;
      const text = contentText(b);
      return text === null ? '(binary content)' : redactor.text(text);
    };
    const texts = [before, applied, current.bytes].map((b) => ({ raw: b, shown: shown(b) }));
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
    { path: c.path, before: current.bytes, after: before, mode: current.mode },
    { change_id: revertId, reverts: c.change_id, by: redactor.text(deps.by) },
  );
  const event = changeEvent(row, current.bytes, before, redactor);
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
  const where = current.buffer ? ' in the open editor (unsaved: save it to keep it)' : '';
  return {
    ...base,
    status: 'reverted',
    revert_id: revertId,
    message: restored
      ? `${c.path} already held its content from before the change; the revert is recorded.`
      : `Reverted: ${what}${where}.`,
  };
}

function realRoot(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir); // gone: it matches no open workspace
  }
}

async function readNow(
  ws: Workspace,
  target: { abs: string; rel: string },
  open: boolean,
): Promise<Current> {
  if (open) {
    const text = await ws.buffers.read(target.rel);
    if (text !== null) {
      const mode = await stat(target.abs).then(
        (info) => info.mode & 0o7777,
        () => null,
      );
      return { bytes: Buffer.from(text, 'utf8'), buffer: true, mode };
    }
  }
  try {
    const info = await stat(target.abs);
    const mode = info.mode & 0o7777;
    if (!info.isFile()) {
      return { bytes: Buffer.from(`(${target.rel} is not a file)`), buffer: false, mode };
    }
    return { bytes: await readFile(target.abs), buffer: false, mode };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { bytes: null, buffer: false, mode: null };
    }
    throw err;
  }
}

/** Puts `content` in place (null: removes the file); a message when it could not. */
async function putBack(
  ws: Workspace,
  target: { abs: string; rel: string },
  current: Current,
  content: Uint8Array | null,
  /** The permission bits the file had before the change, for a file that must be re-created. */
  mode: number | null,
): Promise<string | null> {
  try {
    if (current.buffer) {
      // The developer's unsaved document is the truth: change it there, undoably (SPEC §7).
      const text = content === null ? null : contentText(content);
      if (text === null) {
        return `${target.rel} has unsaved changes in the editor; nothing was reverted. Save or revert the file, then revert again.`;
      }
      const applied = await ws.buffers.apply(
        target.rel,
        Buffer.from(current.bytes ?? []).toString('utf8'),
        text,
      );
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
    await replaceDurably(target.abs, content, current.mode ?? mode ?? undefined);
    return null;
  } catch (err) {
    return `${target.rel}: could not revert (${err instanceof Error ? err.message : String(err)}).`;
  }
}
