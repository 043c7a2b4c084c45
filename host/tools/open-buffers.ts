// Open documents are the truth (SPEC §7): a file the developer has open with unsaved changes is
// read from that buffer and changed in it (a WorkspaceEdit, so Ctrl+Z undoes the agent), never by
// writing the disk behind it: the next save would silently undo the approved change.
//
// The window's host asks its own editor for a buffer's text and to apply a change to it. Every
// host also lists its dirty paths in a small registry beside the database, so a process that has
// no editor (the CLI, another window's host) knows a file is held and does not write it.
import * as fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StaleBaseError } from '../runtime/tool.js';

/** What applying a change to an open buffer did. */
export type BufferApply =
  /** The buffer now holds the change (unsaved; the developer saves it). */
  | { status: 'applied' }
  /** The buffer no longer holds the text the change was computed against. */
  | { status: 'changed' }
  /** The document is no longer open with unsaved changes: the disk is the truth again. */
  | { status: 'clean' };

export interface OpenBuffers {
  /**
   * `open`: dirty in the editor this process can ask; `held`: dirty in an editor this process
   * cannot reach (write nothing); `none`: the disk is the truth.
   */
  state(rel: string): 'open' | 'held' | 'none';
  /** The open buffer's text; null when it is no longer dirty. */
  read(rel: string): Promise<string | null>;
  /** Replaces the buffer's text `expected` with `text`, as one undoable edit. */
  apply(rel: string, expected: string, text: string): Promise<BufferApply>;
}

/** No editor: the disk is the truth. */
export const NO_BUFFERS: OpenBuffers = {
  state: () => 'none',
  read: () => Promise.resolve(null),
  apply: () => Promise.resolve({ status: 'clean' }),
};

/**
 * The file is dirty in an editor this process cannot change: nothing was written and the gate is
 * asked again, so the decision can be made where the buffer is (or after saving it).
 */
export class BufferHeldError extends StaleBaseError {
  constructor(rel: string, message: string) {
    super(rel);
    this.message = message;
    this.name = 'BufferHeldError';
  }
}

// ---------------------------------------------------------------------------------------------
// The registry of dirty paths, one small file per host process

const Entry = z.object({
  pid: z.number().int().positive(),
  workspace: z.string(),
  paths: z.array(z.string()),
});

/** `<db>.buffers/`: beside the database, so every process on this database finds it. */
export function registryDir(dbFile: string): string {
  return `${dbFile}.buffers`;
}

/**
 * Publishes this process's dirty paths (workspace-relative) for `workspace`; an empty list
 * removes the entry. Written by rename, so a reader sees the old or the new list.
 */
export function publishDirty(dbFile: string, workspace: string, paths: readonly string[]): void {
  const dir = registryDir(dbFile);
  const file = path.join(dir, `${process.pid}.json`);
  if (paths.length === 0) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ pid: process.pid, workspace, paths }), { mode: 0o600 });
  fs.renameSync(temp, file);
}

/** Workspace-relative paths that another live process lists as dirty in `workspace`. */
export function heldElsewhere(dbFile: string, workspace: string): Set<string> {
  const held = new Set<string>();
  let names: string[];
  try {
    names = fs.readdirSync(registryDir(dbFile));
  } catch {
    return held;
  }
  for (const name of names) {
    if (!name.endsWith('.json') || name === `${process.pid}.json`) continue;
    let entry;
    try {
      entry = Entry.parse(
        JSON.parse(fs.readFileSync(path.join(registryDir(dbFile), name), 'utf8')),
      );
    } catch {
      continue; // half-written or foreign: not a claim on any file
    }
    if (entry.workspace !== workspace || !alive(entry.pid)) continue;
    for (const rel of entry.paths) held.add(rel);
  }
  return held;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

/** A process with no editor of its own (the CLI): files dirty in any window are held. */
export function registryBuffers(dbFile: string, workspace: string): OpenBuffers {
  return {
    state: (rel) => (heldElsewhere(dbFile, workspace).has(rel) ? 'held' : 'none'),
    read: () => Promise.resolve(null),
    apply: () => Promise.resolve({ status: 'clean' }),
  };
}
