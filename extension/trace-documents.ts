// "Open trace": a run's trace (segments, events, decisions; redacted by the host) as a read-only
// JSON document under `airlock-trace:`. It is live: while it is open, the run's events and
// database changes (another window, the CLI) make VS Code re-read it from the host.
import * as vscode from 'vscode';
import { GetRun } from '../host/protocol/rpc.js';
import { TRACE_SCHEME } from './proposal-uri.js';
import type { HostApi } from './rpc-call.js';
import { TraceRefresh } from './trace-refresh.js';

const runOf = (uri: vscode.Uri): string | null => new URLSearchParams(uri.query).get('run');

export class TraceDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;
  /** The open trace documents, by run id. */
  private readonly shown = new Map<string, vscode.Uri>();
  private readonly refresh = new TraceRefresh((runId) => {
    const uri = this.shown.get(runId);
    if (uri) this.changes.fire(uri);
  });
  private readonly closed: vscode.Disposable;

  constructor(private readonly host: HostApi) {
    this.closed = vscode.workspace.onDidCloseTextDocument((document) => {
      const runId = document.uri.scheme === TRACE_SCHEME ? runOf(document.uri) : null;
      if (!runId) return;
      this.shown.delete(runId);
      this.refresh.unwatch(runId);
    });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const runId = runOf(uri);
    if (!runId) return '';
    // Re-read whenever the run changes, for as long as the document is open.
    this.shown.set(runId, uri);
    this.refresh.watch(runId);
    const trace = await this.host.request(GetRun, { run_id: runId });
    return JSON.stringify(trace, null, 2) + '\n';
  }

  /** A run changed (one of its events, or of a nested run); no id: the database changed. */
  runChanged(runId?: string): void {
    this.refresh.changed(runId);
  }

  async open(runId: string): Promise<void> {
    const uri = vscode.Uri.from({
      scheme: TRACE_SCHEME,
      path: `/${encodeURIComponent(runId)}.json`,
      query: new URLSearchParams({ run: runId }).toString(),
    });
    this.changes.fire(uri); // an open copy re-reads the latest trace
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    this.closed.dispose();
    this.refresh.dispose();
    this.changes.dispose();
  }
}
