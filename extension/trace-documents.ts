// "Open trace": a run's trace (segments, events, decisions; redacted by the host) as a read-only
// JSON document under `airlock-trace:`, re-read from the host each time it is opened.
import * as vscode from 'vscode';
import { GetRun } from '../host/protocol/rpc.js';
import { TRACE_SCHEME } from './proposal-uri.js';
import type { HostApi } from './rpc-call.js';

export class TraceDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;

  constructor(private readonly host: HostApi) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const runId = new URLSearchParams(uri.query).get('run');
    if (!runId) return '';
    const trace = await this.host.request(GetRun, { run_id: runId });
    return JSON.stringify(trace, null, 2) + '\n';
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
    this.changes.dispose();
  }
}
