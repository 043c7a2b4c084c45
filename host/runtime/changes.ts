// Undo data (issue 16): every file change a run applies is recorded with the file's content
// before and after it, in the same commit as the call's result, so it can be reverted exactly
// later, from any window or the CLI, after a reload or a crash.
import { randomBytes } from 'node:crypto';
import { diffLines } from 'diff';
import type { FileChangeEvent } from '../protocol/events.js';
import type { ChangeRow, StoreOp } from '../store/store.js';
import { canonicalJson, sha256 } from './ids.js';
import type { Redactor } from './redact.js';

/** What a file tool changed: the file's bytes before (null: it did not exist) and after. */
export interface FileChange {
  /** Workspace-relative. */
  path: string;
  before: Uint8Array | null;
  after: Uint8Array | null;
  /** The file's permission bits before the change (null: it did not exist). */
  mode: number | null;
}

// ignoreBOM keeps a byte-order mark in the text, so decoding and re-encoding round-trips exactly.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of a content, or null when it is binary (NUL bytes or invalid UTF-8). */
export function contentText(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Stores a content by its hash: as text when it is text (readable in the record), else base64. */
export function contentOp(bytes: Uint8Array): Extract<StoreOp, { op: 'putContent' }> {
  const hash = sha256(bytes);
  const text = contentText(bytes);
  return text === null
    ? { op: 'putContent', hash, base64: Buffer.from(bytes).toString('base64') }
    : { op: 'putContent', hash, text };
}

export function changeKind(before: unknown, after: unknown): ChangeRow['kind'] {
  if (before === null) return 'create';
  if (after === null) return 'delete';
  return 'edit';
}

/** A call's change id: the same call's change always gets the same id (a re-run records once). */
export function callChangeId(runId: string, callId: string, path: string): string {
  const hash = sha256(canonicalJson(['change', runId, callId, path])).slice(0, 24);
  return `chg_${hash}`;
}

export function revertChangeId(): string {
  return `chg_${randomBytes(12).toString('hex')}`;
}

/** The row, content and operations that record a change. */
export function recordChange(
  runId: string,
  callId: string | null,
  change: FileChange,
  extra: Pick<ChangeRow, 'change_id' | 'reverts' | 'by'>,
): { row: ChangeRow; ops: StoreOp[] } {
  const contents = [change.before, change.after].filter((c): c is Uint8Array => c !== null);
  const row: ChangeRow = {
    ...extra,
    run_id: runId,
    call_id: callId,
    path: change.path,
    kind: changeKind(change.before, change.after),
    before: change.before === null ? null : sha256(change.before),
    after: change.after === null ? null : sha256(change.after),
    reverted_by: null,
    mode: change.before === null ? null : change.mode,
    at: new Date().toISOString(),
  };
  return { row, ops: [...contents.map(contentOp), { op: 'addChange', row }] };
}

/** Lines added and removed between two texts. */
export function textLineCounts(before: string, after: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const part of diffLines(before, after)) {
    if (part.added) added += part.count;
    if (part.removed) removed += part.count;
  }
  return { added, removed };
}

/** Lines added and removed between two contents (binary content counts as one line). */
export function lineCounts(
  before: Uint8Array | null,
  after: Uint8Array | null,
): { added: number; removed: number } {
  const text = (b: Uint8Array | null) => (b === null ? '' : (contentText(b) ?? '\u0000\n'));
  return textLineCounts(text(before), text(after));
}

/** The transcript's entry for a change (the revert's too): what and where, never the content. */
export function changeEvent(
  row: ChangeRow,
  before: Uint8Array | null,
  after: Uint8Array | null,
  redactor: Redactor,
): FileChangeEvent {
  return redactor.strings({
    type: 'file_change',
    run_id: row.run_id,
    change_id: row.change_id,
    call_id: row.call_id,
    path: row.path,
    kind: row.kind,
    ...lineCounts(before, after),
    ...(row.reverts ? { reverts: row.reverts } : {}),
    ...(row.by ? { by: row.by } : {}),
  });
}
