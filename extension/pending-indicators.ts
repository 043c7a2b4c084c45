// What tells the user something waits while they work elsewhere: the badge on the sidebar view,
// the status bar item, and — for a gate that arrives while the sidebar is hidden — a notification
// with Review / Approve / Deny. None of them takes focus; only the user's click does.
import * as vscode from 'vscode';
import type { Actions } from './actions.js';
import type { PendingItem } from './decisions.js';
import type { HostClient } from './host-client.js';
import { gateNotice, pendingTooltip, statusBarText } from './indicator-text.js';
import { pendingCount, type PendingModel } from './pending-model.js';
import { askAnswer, askDenyReason, report } from './prompts.js';
import type { SidebarView } from './sidebar-view.js';

export class PendingIndicators implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'airlock.pending',
    vscode.StatusBarAlignment.Left,
    50,
  );
  private readonly disposables: { dispose(): void }[];

  constructor(
    private readonly model: PendingModel,
    private readonly host: HostClient,
    private readonly sidebar: SidebarView,
    private readonly actions: Actions,
  ) {
    this.item.name = 'Airlock';
    this.disposables = [
      this.item,
      model.onDidChange((_snapshot, fresh) => {
        this.update();
        if (fresh.length > 0 && !sidebar.visible) void this.notify(fresh);
      }),
      host.onStatus(() => this.update()),
    ];
    this.update();
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  private update(): void {
    const snapshot = this.model.current;
    this.sidebar.setBadge(pendingCount(snapshot), pendingTooltip(snapshot));
    const status = this.host.status;
    const shown = statusBarText(snapshot, status.tag === 'failed' ? status.message : null);
    if (shown.tag === 'hidden') {
      this.item.hide();
      return;
    }
    this.item.text = shown.text;
    this.item.tooltip = shown.tooltip;
    this.item.accessibilityInformation = { label: shown.tooltip, role: 'button' };
    this.item.command = shown.error ? 'airlock.restartHost' : 'airlock.showPending';
    this.item.backgroundColor = shown.error
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : undefined;
    this.item.show();
  }

  private async notify(fresh: PendingItem[]): Promise<void> {
    const notice = gateNotice(fresh);
    if (!notice) return;
    const choice = await vscode.window.showInformationMessage(notice.message, ...notice.actions);
    try {
      await this.act(choice, notice.item);
    } catch (err) {
      report(err);
    }
  }

  private async act(choice: string | undefined, item: PendingItem | undefined): Promise<void> {
    if (choice === 'Review' || (choice && !item)) return this.sidebar.reveal(true);
    if (!item) return;
    if (item.tag === 'approval') {
      const { run_id, approval_id, prompt } = item.event;
      if (choice === 'Approve') await this.actions.approve(run_id, approval_id);
      if (choice === 'Deny') {
        const reason = await askDenyReason(prompt);
        if (reason !== undefined) await this.actions.deny(run_id, approval_id, { reason });
      }
    } else if (choice === 'Answer') {
      const value = await askAnswer(item.event);
      if (value !== undefined) {
        await this.actions.answer(item.event.run_id, item.event.interaction_id, value);
      }
    }
  }
}
