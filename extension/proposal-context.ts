// The context keys that show Airlock's buttons and keys on a proposal's editors: an edited
// proposal's copy is active ("Approve Edited" in its title bar), a proposal's diff is active
// (Approve / Deny in its title bar and keybindings). Kept from activation on, so editors that
// the window restores get their buttons before anything else of Airlock is loaded.
import * as vscode from 'vscode';
import { parseEditPath, PROPOSAL_SCHEME, type EditRef } from './proposal-uri.js';

export const EDITING_CONTEXT = 'airlock.editingProposal';
/** Set while the active tab is a proposal's diff (Approve / Deny in its title bar and keys). */
export const DIFF_CONTEXT = 'airlock.proposalDiff';

export class ProposalContext implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[];
  private diffActive: boolean | undefined;

  /** `storage` holds the edited copies (the extension's global storage). */
  constructor(private readonly storage: vscode.Uri) {
    this.disposables = [
      vscode.window.onDidChangeActiveTextEditor((editor) => this.updateContext(editor)),
      vscode.window.tabGroups.onDidChangeTabs(() => this.updateDiffContext()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.updateDiffContext()),
    ];
    this.updateContext(vscode.window.activeTextEditor);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  private updateContext(editor: vscode.TextEditor | undefined): void {
    const editing =
      editor !== undefined && editRef(this.storage, editor.document.uri) !== undefined;
    void vscode.commands.executeCommand('setContext', EDITING_CONTEXT, editing);
    this.updateDiffContext();
  }

  private updateDiffContext(): void {
    const active = vscode.window.tabGroups.activeTabGroup.activeTab;
    const diff = active?.input instanceof vscode.TabInputTextDiff && !!proposalUri(active);
    if (diff === this.diffActive) return;
    this.diffActive = diff;
    void vscode.commands.executeCommand('setContext', DIFF_CONTEXT, diff);
  }
}

/** The gate of an edited proposal's copy under `storage`, else undefined. */
export function editRef(storage: vscode.Uri, uri: vscode.Uri): EditRef | undefined {
  return uri.scheme === 'file' ? parseEditPath(storage.fsPath, uri.fsPath) : undefined;
}

/** The proposal side of a tab: a diff's right side, or a proposal document opened alone. */
export function proposalUri(tab: vscode.Tab): vscode.Uri | undefined {
  const input = tab.input;
  const uri =
    input instanceof vscode.TabInputTextDiff
      ? input.modified
      : input instanceof vscode.TabInputText
        ? input.uri
        : undefined;
  return uri?.scheme === PROPOSAL_SCHEME ? uri : undefined;
}
