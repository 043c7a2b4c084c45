// A revert whose file changed since the change (issue 16): VS Code's multi-file diff editor shows
// the file before the agent's change against it now, and the file as the change left it against
// it now (three versions, two comparisons); a quick pick then asks whether to restore the content
// from before anyway or to keep the file. The texts are the host's redacted copies, served
// read-only under `airlock-revert:` for as long as this window lives.
import * as vscode from 'vscode';
import type { RevertConflict } from './actions.js';
import { plainText } from './indicator-text.js';
import { REVERT_SCHEME } from './proposal-uri.js';

type Side = 'before' | 'applied' | 'now';

const SIDE_FOLDER: Record<Side, string> = {
  before: 'before the agent',
  applied: 'as the agent left it',
  now: 'now (redacted)',
};

export class RevertViews implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  provideTextDocumentContent(uri: vscode.Uri): string {
    return (
      this.texts.get(uri.toString()) ??
      '(This comparison is no longer available: revert again to compare.)'
    );
  }

  private doc(conflict: RevertConflict, side: Side, text: string | null): vscode.Uri {
    const uri = vscode.Uri.from({
      scheme: REVERT_SCHEME,
      path: `/${SIDE_FOLDER[side]}/${conflict.path}`,
      query: new URLSearchParams({ change: conflict.change_id, side }).toString(),
    });
    this.texts.set(uri.toString(), text ?? '');
    return uri;
  }

  /** The comparisons, then the developer's choice for this file. */
  async decide(_runId: string, conflict: RevertConflict): Promise<'restore' | 'keep'> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    const before = this.doc(conflict, 'before', conflict.before);
    const applied = this.doc(conflict, 'applied', conflict.applied);
    // The file itself when it exists and nothing in it is masked (else masks read as changes).
    const now =
      root && conflict.now !== null && !conflict.masked
        ? vscode.Uri.joinPath(root, conflict.path)
        : this.doc(conflict, 'now', conflict.now);
    const name = plainText(conflict.path, 120);
    await vscode.commands.executeCommand(
      'vscode.changes',
      `Airlock: ${name} changed since the agent's change`,
      [
        [before, before, now],
        [applied, applied, now],
      ],
    );
    const restore = {
      label: '$(discard) Restore the content from before the agent',
      detail: 'Replaces the file as it is now, later edits included. The revert can be reverted.',
    };
    const keep = {
      label: '$(check) Keep the file as it is',
      detail: 'Nothing is written (Escape does the same).',
    };
    // Restore first: the developer asked to revert, and nothing is lost by it (the file as it is
    // now is kept as the revert's own "before": reverting the revert brings it back).
    const picked = await vscode.window.showQuickPick([restore, keep], {
      title: `Airlock: revert ${name}?`,
      placeHolder: `${name} changed since the agent's change: compare, then choose`,
      ignoreFocusOut: true,
    });
    return picked === restore ? 'restore' : 'keep';
  }
}
