// The "Airlock" sidebar: a webview view whose UI lives in dist/webview.js. This side posts
// nothing before the webview says `ready` (it says so again each time it is shown, as the
// content is not retained while hidden), validates every message, and answers each request.
import * as vscode from 'vscode';
import type { RunEvent } from '../host/protocol/events.js';
import type {
  RulesMessage,
  ToWebview,
  UnsavedMessage,
  WorkspaceMessage,
} from '../webview/protocol.js';
import type { Actions } from './actions.js';
import { SIDEBAR_VIEW_ID } from './contributions.js';
import { toStateMessage, type PendingModel } from './pending-model.js';
import { makeNonce, sidebarHtml } from './webview-html.js';
import {
  handleRequest,
  parseInbound,
  transcriptMessage,
  type LoadRunEvents,
} from './webview-requests.js';
type Sticky = RulesMessage | WorkspaceMessage | UnsavedMessage;

export class SidebarView implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = SIDEBAR_VIEW_ID;
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private badge: vscode.ViewBadge | undefined;
  private readonly viewScope: vscode.Disposable[] = [];
  /** The latest standing rules and workspace trust, posted again whenever the webview loads. */
  private readonly sticky = new Map<Sticky['type'], Sticky>();
  private readonly modelListener: { dispose(): void };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: PendingModel,
    private readonly actions: Actions,
    private readonly output: vscode.LogOutputChannel,
    private readonly loadRunEvents?: LoadRunEvents,
  ) {
    this.modelListener = model.onDidChange((snapshot) => this.post(toStateMessage(snapshot)));
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.disposeView();
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = sidebarHtml({
      cspSource: view.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      codiconUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'codicon.css')).toString(),
    });
    view.badge = this.badge;
    this.viewScope.push(
      view.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.ready = false; // the content is discarded; it says ready again
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        this.ready = false;
        this.disposeView();
      }),
    );
    void this.model.refresh(); // starts the host on first need
  }

  setBadge(count: number, tooltip: string): void {
    // Zero, not undefined: VS Code (1.100 at least) never clears a webview view's badge set back
    // to undefined (WebviewViewPane.updateBadge only ever adds the activity), while a zero badge
    // is hidden. Its empty tooltip keeps the activity bar's label plain.
    this.badge = count > 0 ? { value: count, tooltip } : { value: 0, tooltip: '' };
    if (this.view) this.view.badge = this.badge;
  }

  /** Standing rules, workspace trust, unsaved files: kept, posted when changed and on load. */
  show(message: Sticky): void {
    const last = this.sticky.get(message.type);
    if (last && JSON.stringify(last) === JSON.stringify(message)) return;
    this.sticky.set(message.type, message);
    this.post(message);
  }

  /** A live run event, for streamed model text. */
  postEvent(event: RunEvent): void {
    this.post({ type: 'event', event });
  }

  /** Shows the sidebar; with preserveFocus the editor keeps the keyboard. */
  async reveal(preserveFocus: boolean): Promise<void> {
    if (this.view) this.view.show(preserveFocus);
    else await vscode.commands.executeCommand(`${SidebarView.viewId}.focus`);
  }

  dispose(): void {
    this.modelListener.dispose();
    this.disposeView();
  }

  private async receive(raw: unknown): Promise<void> {
    const inbound = parseInbound(raw);
    if (inbound.tag === 'invalid') {
      this.output.warn(`Ignored an invalid message from the sidebar: ${inbound.problem}`);
      return;
    }
    if (inbound.tag === 'ready') {
      this.ready = true;
      this.post(toStateMessage(this.model.current));
      for (const message of this.sticky.values()) this.post(message);
      void this.model.refresh();
      return;
    }
    if (inbound.tag === 'loadTranscripts') {
      const load = this.loadRunEvents;
      if (!load) return;
      // One at a time: a reload asks for up to 20 runs, the host reads each from its store.
      for (const runId of inbound.runIds) this.post(await transcriptMessage(runId, load));
      return;
    }
    this.post(await handleRequest(inbound.request, this.actions));
  }

  private post(message: ToWebview): void {
    if (!this.view || !this.ready) return;
    void this.view.webview.postMessage(message);
  }

  private disposeView(): void {
    for (const disposable of this.viewScope.splice(0)) disposable.dispose();
  }
}
