// The VS Code extension's entry point: wires the host client, the sidebar, the proposal
// documents, the indicators and the commands. Activation is cheap: the host process starts only
// when the sidebar is shown or a command needs it.
import * as vscode from 'vscode';
import { resolveApprover } from '../host/approver.js';
import { GetPending, GetRun, ListRuns } from '../host/protocol/rpc.js';
import { Actions } from './actions.js';
import { registerCommands } from './commands.js';
import { HostClient } from './host-client.js';
import { configureHost, readHostOptions, watchHostOptions } from './host-options.js';
import { syncRules, syncTraces, syncWithHost } from './host-sync.js';
import { LazyOutputChannel } from './lazy-output.js';
import { PendingIndicators } from './pending-indicators.js';
import { PendingModel } from './pending-model.js';
import { OpenDocuments } from './open-documents.js';
import { ProposalDocuments } from './proposal-documents.js';
import { PROPOSAL_SCHEME, TRACE_SCHEME } from './proposal-uri.js';
import { RulesModel } from './rules-model.js';
import { SidebarView } from './sidebar-view.js';
import { TraceDocuments } from './trace-documents.js';
import { WorkspaceTrust } from './workspace-trust.js';

let host: HostClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = new LazyOutputChannel('Airlock');
  const documents = new OpenDocuments();
  host = new HostClient(
    context.asAbsolutePath('dist/host.js'),
    output,
    () => readHostOptions(context.secrets),
    documents,
  );
  const client = host;
  const model = new PendingModel(async () => {
    const [pending, { runs }] = await Promise.all([
      client.request(GetPending, {}),
      client.request(ListRuns, {}),
    ]);
    return { pending, runs };
  });
  const traces = new TraceDocuments(client);
  const approveEdited = (run: string, id: string, text: string): Promise<void> =>
    actions.approveEdited(run, id, text);
  const proposals = new ProposalDocuments(client, context.globalStorageUri, approveEdited);
  const editors = {
    openDiff: proposals.openDiff.bind(proposals),
    editThenApprove: proposals.editThenApprove.bind(proposals),
    openTrace: traces.open.bind(traces),
    manageTrust: async () => {
      await vscode.commands.executeCommand('workbench.trust.manage');
    },
    reviewWorkspaceConfig: (): Promise<void> => trust.review(),
  };
  const rules = new RulesModel(() => actions.rules());
  const actions = new Actions(
    client,
    editors,
    () => {
      void model.refresh();
      void rules.refresh();
    },
    approverName,
  );
  const sidebar = new SidebarView(
    context.extensionUri,
    model,
    actions,
    output,
    async (run_id) => (await client.request(GetRun, { run_id })).events,
  );
  const trust = new WorkspaceTrust(client, context.globalState, sidebar, output, () =>
    configureHost(client, context.secrets),
  );
  // Cards say when their file has unsaved changes (workspace-relative, as previews name files).
  const showUnsaved = (paths: readonly string[]) =>
    sidebar.show({
      type: 'unsaved',
      paths: paths.map((p) => vscode.workspace.asRelativePath(vscode.Uri.file(p), false)),
    });
  showUnsaved(documents.dirtyPaths());
  context.subscriptions.push(
    output,
    documents,
    documents.onDidChange(showUnsaved),
    client,
    traces,
    proposals,
    sidebar,
    vscode.window.registerWebviewViewProvider(SidebarView.viewId, sidebar),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, proposals),
    vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, traces),
    new PendingIndicators(model, client, sidebar, actions),
    // A decided gate's diff tabs close themselves, whoever decided (here, a window, the CLI).
    model.onDidChange((snapshot) => {
      if (snapshot.connected && !snapshot.error) void proposals.closeDecided(snapshot.pending);
    }),
    trust,
    ...syncWithHost(client, model, sidebar),
    ...syncTraces(client, traces),
    ...syncRules(client, rules, model, sidebar),
    ...watchHostOptions(client, context.secrets),
    ...registerCommands({ context, host: client, actions, model, sidebar, proposals, trust }),
  );
}

/** Stops the host gracefully (shutdown, exit, then kill) before the extension host goes. */
export async function deactivate(): Promise<void> {
  await host?.stop();
  host = undefined;
}

/**
 * Who decides in this window, recorded with each decision and standing rule: the user setting
 * `airlock.approverName`, else `git config user.name` in the workspace folder, else the OS
 * account. Only the user's own value of the setting is read (it is application-scoped): a
 * repository's `.vscode/settings.json` cannot name someone else.
 */
function approverName(): Promise<string | undefined> {
  const explicit = vscode.workspace.getConfiguration('airlock').inspect<string>('approverName');
  const folder = vscode.workspace.workspaceFolders?.[0];
  return resolveApprover({
    explicit: explicit?.globalValue,
    workspace: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
  });
}
