// A pending file gate in VS Code's own editors. "Open diff": the current file against the proposal
// served read-only under `airlock-proposal:`. "Edit, then approve": an editable copy of the
// proposal under the extension's storage, approved with "Approve Edited" (command, editor title
// button, notification button); its path names the gate, so it survives a window reload.
import * as vscode from 'vscode';
import type { ApprovalEvent } from '../host/protocol/events.js';
import { GetProposal, type Pending, type Proposal } from '../host/protocol/rpc.js';
import { NO_LONGER_PENDING } from './decisions.js';
import { plainText } from './indicator-text.js';
import { editRef, proposalUri } from './proposal-context.js';
import {
  editSegments,
  parseProposalQuery,
  PROPOSAL_SCHEME,
  proposalPath,
  proposalQuery,
  type EditRef,
  type ProposalRef,
} from './proposal-uri.js';
import { report } from './prompts.js';
import type { HostApi } from './rpc-call.js';

type ApproveEdited = (runId: string, approvalId: string, edited: string) => Promise<void>;

export class ProposalDocuments implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly host: HostApi,
    private readonly storage: vscode.Uri,
    private readonly approveEdited: ApproveEdited,
  ) {}

  /** The gate of a proposal document (a title-bar button's argument), else of the active tab. */
  gateOf(target?: unknown): Pick<ProposalRef, 'runId' | 'approvalId'> | undefined {
    if (target instanceof vscode.Uri && target.scheme === PROPOSAL_SCHEME) {
      return parseProposalQuery(target.query);
    }
    const active = vscode.window.tabGroups.activeTabGroup.activeTab;
    const uri = active && proposalUri(active);
    return uri && parseProposalQuery(uri.query);
  }

  /**
   * Closes every proposal diff whose gate is no longer pending (decided here, in another window
   * or by the CLI), unless the file on its left has unsaved changes (closing never risks them).
   */
  async closeDecided(pending: Pending): Promise<void> {
    const open = new Set(pending.approvals.map((a) => `${a.run_id}\n${a.approval_id}`));
    const decided = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter((tab) => {
        const uri = proposalUri(tab);
        const ref = uri && parseProposalQuery(uri.query);
        if (!ref || open.has(`${ref.runId}\n${ref.approvalId}`)) return false;
        const left = tab.input instanceof vscode.TabInputTextDiff ? tab.input.original : undefined;
        return !vscode.workspace.textDocuments.some(
          (d) => d.isDirty && left !== undefined && d.uri.toString() === left.toString(),
        );
      });
    if (decided.length === 0) return;
    try {
      await vscode.window.tabGroups.close(decided, true);
    } catch {
      // Already closed by the user meanwhile.
    }
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = parseProposalQuery(uri.query);
    if (!ref || ref.side === 'empty') return '';
    const proposal = await this.proposal(ref);
    return (ref.side === 'current' ? proposal.current : proposal.proposed) ?? '';
  }

  async openDiff(gate: ApprovalEvent): Promise<void> {
    const ref = { runId: gate.run_id, approvalId: gate.approval_id };
    const proposal = await this.proposal(ref);
    const right = this.virtualUri(proposal.path, { ...ref, side: 'proposed' });
    // The real file when it exists; the host's redacted copy when masks would show as changes.
    const real = this.workspaceFile(proposal.path);
    const left =
      proposal.current !== null && !proposal.masked && real && (await exists(real))
        ? real
        : this.virtualUri(proposal.path, {
            ...ref,
            side: proposal.current === null ? 'empty' : 'current',
          });
    await vscode.commands.executeCommand(
      'vscode.diff',
      left,
      right,
      `${proposal.path} ↔ proposed (Airlock)`,
      { preview: true },
    );
  }

  async editThenApprove(gate: ApprovalEvent): Promise<void> {
    const ref = { runId: gate.run_id, approvalId: gate.approval_id };
    const proposal = await this.proposal(ref);
    if (proposal.proposed === null) {
      throw new Error(`Deleting ${proposal.path} has no content to edit: approve or deny it.`);
    }
    if (proposal.masked) {
      const choice = await vscode.window.showWarningMessage(
        `The proposal for ${plainText(proposal.path)} shows masked secrets as ***. If you approve your edit, every *** left in it is written to the file as-is.`,
        { modal: true },
        'Edit Anyway',
      );
      if (choice !== 'Edit Anyway') return;
    }
    const file = vscode.Uri.joinPath(this.storage, ...editSegments(ref, proposal.path));
    // An open copy may hold the user's unsaved work: show it rather than overwrite it.
    if (!vscode.workspace.textDocuments.some((d) => d.uri.toString() === file.toString())) {
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(file, '..'));
      await vscode.workspace.fs.writeFile(file, Buffer.from(proposal.proposed, 'utf8'));
    }
    await vscode.window.showTextDocument(file, { preview: false });
    void this.offerApprove(file, proposal.path);
  }

  /** "Airlock: Approve Edited Proposal": the given copy, else the active editor's. */
  async approveEditedCommand(target?: vscode.Uri): Promise<void> {
    const uri = target ?? vscode.window.activeTextEditor?.document.uri;
    const ref = uri && this.editRef(uri);
    if (!uri || !ref) {
      void vscode.window.showWarningMessage(
        'Airlock: open an edited proposal first ("Edit, then approve" on an approval card).',
      );
      return;
    }
    let document: vscode.TextDocument;
    try {
      document = await vscode.workspace.openTextDocument(uri);
    } catch {
      // The copy is deleted once approved: a late click on its notification's button.
      report(new Error(NO_LONGER_PENDING));
      return;
    }
    try {
      await this.approveEdited(ref.runId, ref.approvalId, document.getText());
    } catch (err) {
      report(err); // refused by the host: nothing ran, the gate is still pending
      return;
    }
    await this.discard(document);
  }

  private proposal(ref: Pick<ProposalRef, 'runId' | 'approvalId'>): Promise<Proposal> {
    return this.host.request(GetProposal, { run_id: ref.runId, approval_id: ref.approvalId });
  }

  private virtualUri(filePath: string, ref: ProposalRef): vscode.Uri {
    return vscode.Uri.from({
      scheme: PROPOSAL_SCHEME,
      path: proposalPath(filePath),
      query: proposalQuery(ref),
    });
  }

  private workspaceFile(filePath: string): vscode.Uri | undefined {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    return root ? vscode.Uri.joinPath(root, filePath) : undefined;
  }

  private editRef(uri: vscode.Uri): EditRef | undefined {
    return editRef(this.storage, uri);
  }

  private async offerApprove(file: vscode.Uri, filePath: string): Promise<void> {
    const choice = await vscode.window.showInformationMessage(
      `Airlock: edit the proposal for ${plainText(filePath)}, then approve it.`,
      'Approve Edited',
    );
    if (choice === 'Approve Edited') await this.approveEditedCommand(file);
  }

  /** After approving: save (so closing asks nothing), close its tabs, delete the copy. */
  private async discard(document: vscode.TextDocument): Promise<void> {
    try {
      if (document.isDirty) await document.save();
      const tabs = vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter(
          (tab) =>
            tab.input instanceof vscode.TabInputText &&
            tab.input.uri.toString() === document.uri.toString(),
        );
      await vscode.window.tabGroups.close(tabs, true);
      await vscode.workspace.fs.delete(vscode.Uri.joinPath(document.uri, '..'), {
        recursive: true,
        useTrash: false,
      });
    } catch {
      // Only tidying: the decision is already recorded.
    }
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
