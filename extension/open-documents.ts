// The developer's open documents with unsaved changes, as the host sees them (SPEC §7): the host
// reads a dirty file from here instead of the disk, and an approved change to it is applied here
// as one WorkspaceEdit (Ctrl+Z undoes it; the developer saves it), never written behind it.
import * as vscode from 'vscode';
import { changedMiddle } from './text-span.js';

export type ApplyStatus = 'applied' | 'changed' | 'clean';

/** A dirty document: its absolute path and its version (which changes with every edit). */
export interface DirtyBuffer {
  path: string;
  version: number;
}

export class OpenDocuments implements vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<readonly string[]>();
  private readonly edits = new vscode.EventEmitter<readonly DirtyBuffer[]>();
  private readonly disposables: vscode.Disposable[];
  private last = '';
  private lastEdit = '';
  /** The dirty files' paths whenever that list changes (absolute file-system paths). */
  readonly onDidChange = this.changes.event;
  /** The dirty files and their versions whenever the list or a dirty document changes. */
  readonly onDidEdit = this.edits.event;

  constructor() {
    const check = () => this.check();
    this.disposables = [
      this.changes,
      this.edits,
      vscode.workspace.onDidChangeTextDocument(check),
      vscode.workspace.onDidSaveTextDocument(check),
      vscode.workspace.onDidCloseTextDocument(check),
      vscode.workspace.onDidOpenTextDocument(check),
    ];
    this.last = JSON.stringify(this.dirtyPaths());
    this.lastEdit = JSON.stringify(this.dirtyBuffers());
  }

  /** The files open with unsaved changes, with their document versions. */
  dirtyBuffers(): DirtyBuffer[] {
    return vscode.workspace.textDocuments
      .filter((d) => d.isDirty && d.uri.scheme === 'file')
      .map((d) => ({ path: d.uri.fsPath, version: d.version }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Absolute paths of the files open with unsaved changes, sorted. */
  dirtyPaths(): string[] {
    return this.dirtyBuffers().map((b) => b.path);
  }

  /** The unsaved text of the file, or null when it is not open with unsaved changes. */
  read(abs: string): string | null {
    return this.dirty(abs)?.getText() ?? null;
  }

  /**
   * Replaces the document's text with `text` if it still holds `expected`: one edit over the
   * changed middle (prefix and suffix kept, so the cursor and folding outside it stay put).
   */
  async apply(abs: string, expected: string, text: string): Promise<ApplyStatus> {
    const document = this.dirty(abs);
    if (!document) return 'clean';
    if (document.getText() !== expected) return 'changed';
    const { start, end, middle } = changedMiddle(expected, text);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(
      document.uri,
      new vscode.Range(document.positionAt(start), document.positionAt(end)),
      middle,
    );
    // applyEdit checks the document's version: a keystroke in between makes it fail, not merge.
    if (!(await vscode.workspace.applyEdit(edit))) return 'changed';
    return document.getText() === text ? 'applied' : 'changed';
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private dirty(abs: string): vscode.TextDocument | undefined {
    const target = vscode.Uri.file(abs).fsPath;
    return vscode.workspace.textDocuments.find(
      (d) => d.isDirty && d.uri.scheme === 'file' && d.uri.fsPath === target,
    );
  }

  private check(): void {
    const buffers = this.dirtyBuffers();
    const edited = JSON.stringify(buffers);
    if (edited !== this.lastEdit) {
      this.lastEdit = edited;
      this.edits.fire(buffers);
    }
    const paths = buffers.map((b) => b.path);
    const key = JSON.stringify(paths);
    if (key === this.last) return;
    this.last = key;
    this.changes.fire(paths);
  }
}
