// The window's open documents as the host's file tools see them (SPEC §7): the editor reports
// which files have unsaved changes, the tools ask it for their text and to apply an approved
// change to them. Every dirty path is also listed in the registry beside the database, so the
// CLI and other windows leave these files alone.
import * as path from 'node:path';
import type { BufferApply, OpenBuffers } from '../tools/open-buffers.js';
import { heldElsewhere, publishDirty } from '../tools/open-buffers.js';
import { Workspace } from '../tools/workspace.js';

/** What the host can ask the editor that holds the buffers (absolute paths). */
export interface EditorLink {
  read(abs: string): Promise<string | null>;
  apply(abs: string, expected: string, text: string): Promise<BufferApply>;
}

export class EditorBuffers implements OpenBuffers {
  /** Workspace-relative paths the editor has open with unsaved changes. */
  private dirty = new Set<string>();
  private readonly ws: Workspace;
  private readonly root: string;

  constructor(
    workspace: string,
    private readonly dbFile: string,
    private readonly editor: EditorLink,
  ) {
    this.ws = new Workspace(workspace);
    this.root = this.ws.root;
  }

  /**
   * The editor's full list of dirty files; paths outside the workspace are not ours. It comes
   * with every edit of a dirty document: the registry is rewritten only when the list changed.
   */
  update(absPaths: readonly string[]): void {
    const next = new Set<string>();
    for (const abs of absPaths) {
      try {
        const { rel } = this.ws.resolve(abs);
        if (rel !== '.') next.add(rel);
      } catch {
        // Outside the workspace or unresolvable: no tool of this workspace can touch it.
      }
    }
    const same = next.size === this.dirty.size && [...next].every((rel) => this.dirty.has(rel));
    this.dirty = next;
    if (!same) publishDirty(this.dbFile, this.root, [...next].sort());
  }

  state(rel: string): 'open' | 'held' | 'none' {
    if (this.dirty.has(rel)) return 'open';
    return heldElsewhere(this.dbFile, this.root).has(rel) ? 'held' : 'none';
  }

  read(rel: string): Promise<string | null> {
    return this.editor.read(path.join(this.root, rel));
  }

  apply(rel: string, expected: string, text: string): Promise<BufferApply> {
    return this.editor.apply(path.join(this.root, rel), expected, text);
  }

  dispose(): void {
    publishDirty(this.dbFile, this.root, []);
  }
}
