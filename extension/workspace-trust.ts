// The workspace's trust in the editor (SPEC §9). VS Code's Restricted Mode shows as a banner in
// the sidebar (Airlock still runs there). The repository's airlock.config.json is read through the
// host (`airlock/workspaceConfig`) when the host starts, when the file changes and when the folder
// becomes trusted; what it asks for that would loosen Airlock is offered to the developer once,
// in one notification that takes no focus, and applied only if they trust that exact version.
// "Keep Ignoring" is remembered per path and SHA-256 outside the workspace (globalState); the
// palette's "Review Workspace Config…" shows the same lines in a modal.
import * as vscode from 'vscode';
import {
  GetWorkspaceConfig,
  TrustWorkspaceConfig,
  type WorkspaceConfigStatus,
} from '../host/protocol/rpc.js';
import type { HostClient } from './host-client.js';
import { coalesce } from './pending-model.js';
import { report } from './prompts.js';
import { errorMessage } from './rpc-call.js';
import type { SidebarView } from './sidebar-view.js';
import {
  DECLINED_STATE_KEY,
  isOfferable,
  offerKey,
  offerMessage,
  reviewDetail,
  shouldOffer,
  toWorkspaceMessage,
  withDecline,
  type Offerable,
} from './workspace-config.js';

export const CONFIG_FILE = 'airlock.config.json';
const SHOW = 'Show File';
const TRUST = 'Trust This Version';
const KEEP = 'Keep Ignoring';

export class WorkspaceTrust implements vscode.Disposable {
  private status: WorkspaceConfigStatus | null = null;
  /** Versions offered in this window: the notification comes once per version. */
  private readonly offered = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Re-reads the file's status from the host (if it runs) and offers it when it should. */
  readonly check: () => Promise<void>;

  constructor(
    private readonly host: HostClient,
    private readonly state: vscode.Memento,
    private readonly sidebar: SidebarView,
    private readonly output: vscode.LogOutputChannel,
    /** Sends the host the current options (Restricted Mode among them). */
    private readonly reconfigure: () => Promise<void>,
  ) {
    this.check = coalesce(() => this.reload());
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder) {
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(folder, CONFIG_FILE),
      );
      const changed = () => void this.check();
      this.disposables.push(
        watcher,
        watcher.onDidChange(changed),
        watcher.onDidCreate(changed),
        watcher.onDidDelete(changed),
      );
    }
    this.disposables.push(
      host.onStatus((status) => {
        if (status.tag === 'running') void this.check();
      }),
    );
    this.post();
  }

  /** The folder became trusted (the activation module watches for it from the start). */
  granted(): void {
    this.post();
    // The host leaves Restricted Mode first, so the status read next is the trusted one.
    void this.reconfigure()
      .catch(report)
      .then(() => this.check());
  }

  /** VS Code's Restricted Mode: the folder is not trusted. */
  get restricted(): boolean {
    return !vscode.workspace.isTrusted;
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }

  /** "Airlock: Review Workspace Config…": every loosening line in a modal; trust on accept. */
  async review(): Promise<void> {
    if (this.restricted) {
      const choice = await vscode.window.showInformationMessage(
        `Airlock: this folder is in Restricted Mode, so Airlock does not offer to trust its ${CONFIG_FILE}; only its rules that tighten Airlock apply. Trust the folder first.`,
        'Manage Workspace Trust',
      );
      if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    const status = await this.host.request(GetWorkspaceConfig, {});
    this.update(status);
    if (status.file === null) {
      void vscode.window.showInformationMessage(`Airlock: this workspace has no ${CONFIG_FILE}.`);
      return;
    }
    if (status.trusted) {
      void vscode.window.showInformationMessage(
        `Airlock: this version of ${CONFIG_FILE} is trusted; all of its rules apply.`,
      );
      return;
    }
    if (!isOfferable(status)) {
      void vscode.window.showInformationMessage(
        `Airlock: nothing in ${CONFIG_FILE} loosens Airlock, so all of its rules apply.`,
      );
      return;
    }
    const choice = await vscode.window.showWarningMessage(
      `This repository's ${CONFIG_FILE} wants to loosen Airlock`,
      { modal: true, detail: reviewDetail(status) },
      TRUST,
      SHOW,
    );
    if (choice === TRUST) await this.trust(status);
    else if (choice === SHOW) await this.showFile(status.file);
  }

  private async reload(): Promise<void> {
    if (this.host.status.tag !== 'running') return; // read when it starts
    let status: WorkspaceConfigStatus;
    try {
      status = await this.host.request(GetWorkspaceConfig, {});
    } catch (err) {
      this.output.warn(`Could not read the status of ${CONFIG_FILE}: ${errorMessage(err)}`);
      this.update(null);
      return;
    }
    this.update(status);
    const declined = this.state.get<string[]>(DECLINED_STATE_KEY, []);
    if (!shouldOffer(status, { restricted: this.restricted, declined, offered: this.offered })) {
      return;
    }
    const offerable = status as Offerable;
    this.offered.add(offerKey(offerable.file, offerable.sha256));
    void this.offer(offerable).catch(report);
  }

  /** The one notification (non-modal: it never takes the keyboard from the editor). */
  private async offer(status: Offerable): Promise<void> {
    const choice = await vscode.window.showWarningMessage(
      offerMessage(status.loosening),
      SHOW,
      TRUST,
      KEEP,
    );
    if (choice === SHOW) {
      await this.showFile(status.file);
      // The developer asked to read it before deciding: the same offer again, same version.
      return this.offer(status);
    }
    if (choice === TRUST) return this.trust(status);
    if (choice === KEEP) {
      const declined = this.state.get<string[]>(DECLINED_STATE_KEY, []);
      await this.state.update(
        DECLINED_STATE_KEY,
        withDecline(declined, offerKey(status.file, status.sha256)),
      );
    }
    // Dismissed: not offered again in this window; the sidebar keeps listing what is ignored.
  }

  /** Trusts exactly the version that was shown (the host refuses if the file changed since). */
  private async trust(status: Offerable): Promise<void> {
    const after = await this.host.request(TrustWorkspaceConfig, { sha256: status.sha256 });
    this.update(after);
    if (after.trusted) {
      void vscode.window.showInformationMessage(
        `Airlock: trusted this version of ${CONFIG_FILE}; its rules apply to runs started or resumed from now on. Any change to the file revokes the trust.`,
      );
    } else {
      void vscode.window.showWarningMessage(
        `Airlock: ${CONFIG_FILE} was not trusted (it may have changed since it was shown). Review it again.`,
      );
    }
  }

  private async showFile(file: string): Promise<void> {
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  }

  private update(status: WorkspaceConfigStatus | null): void {
    this.status = status;
    this.post();
  }

  private post(): void {
    const folder = vscode.workspace.workspaceFolders?.[0];
    this.sidebar.show(toWorkspaceMessage(this.restricted, this.status, folder?.uri.fsPath));
  }
}
