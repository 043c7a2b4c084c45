// Everything of the extension but its activation, bundled apart as dist/extension-main.js and
// loaded on first use (extension.ts): the host client, the pending model, the sidebar's logic,
// the proposal and trace documents, the indicators and the commands' implementations. The
// activation module registered the providers and commands; they call into what `start` returns.
import * as vscode from 'vscode';
import { resolveApprover } from '../host/approver.js';
import { GetPending, GetRun, ListRuns } from '../host/protocol/rpc.js';
import type { ApprovalEvent } from '../host/protocol/events.js';
import { Actions } from './actions.js';
import { CommandTerminals } from './command-terminals.js';
import { commandRunner } from './commands.js';
import type { CommandId } from './contributions.js';
import { HostClient } from './host-client.js';
import { configureHost, readHostOptions, reconfigureHost } from './host-options.js';
import { report } from './prompts.js';
import { syncRules, syncTraces, syncWithHost } from './host-sync.js';
import { LazyOutputChannel } from './lazy-output.js';
import { PendingIndicators } from './pending-indicators.js';
import { PendingModel } from './pending-model.js';
import { OpenDocuments } from './open-documents.js';
import { ProposalDocuments } from './proposal-documents.js';
import { RevertViews } from './revert-views.js';
import { RulesModel } from './rules-model.js';
import { SidebarView } from './sidebar-view.js';
import { TraceDocuments } from './trace-documents.js';
import { WorkspaceTrust } from './workspace-trust.js';

/** What the activation module's providers, commands and listeners call into. */
export interface AirlockWindow {
  readonly sidebar: vscode.WebviewViewProvider;
  readonly proposals: vscode.TextDocumentContentProvider;
  readonly traces: vscode.TextDocumentContentProvider;
  readonly reverts: vscode.TextDocumentContentProvider;
  /** Runs a palette command, reporting its errors. */
  run(command: CommandId, args: unknown[]): Promise<void>;
  /** A setting or the API key changed. */
  reconfigure(): void;
  /** The database (`airlock.database`) or its password changed: a new host opens it. */
  relocate(): void;
  /** The folder became trusted. */
  trustGranted(): void;
  /** Stops the host gracefully (shutdown, exit, then kill). */
  stop(): Promise<void>;
}

export function start(context: vscode.ExtensionContext): AirlockWindow {
  const output = new LazyOutputChannel('Airlock');
  const documents = new OpenDocuments();
  const client = new HostClient(
    context.asAbsolutePath('dist/host.js'),
    output,
    () => readHostOptions(context.secrets),
    documents,
  );
  // A new database (or password) needs a new host: the store is opened once. A change that
  // leaves it as the running host opened it restarts nothing.
  const relocate = async () => {
    const running = client.startedWith();
    const wanted = await readHostOptions(context.secrets);
    if (running && (running.db !== wanted.db || running.dbPassword !== wanted.dbPassword)) {
      await client.restart();
    }
  };
  const model = new PendingModel(async () => {
    const [pending, { runs }] = await Promise.all([
      client.request(GetPending, {}),
      client.request(ListRuns, {}),
    ]);
    return { pending, runs };
  });
  const traces = new TraceDocuments(client);
  const terminals = new CommandTerminals();
  const reverts = new RevertViews();
  const approveEdited = (run: string, id: string, text: string): Promise<void> =>
    actions.approveEdited(run, id, text);
  const proposals = new ProposalDocuments(client, context.globalStorageUri, approveEdited);
  const editors = {
    openDiff: proposals.openDiff.bind(proposals),
    editThenApprove: async (gate: ApprovalEvent): Promise<void> => {
      if (!gate.command) return proposals.editThenApprove(gate);
      // A shell command is one line: edited in place, and the edited line is what runs.
      const line = await vscode.window.showInputBox({
        title: 'Edit the command, then approve it',
        prompt: `Runs in ${gate.command.cwd} instead of the proposal; no rule judges it again.`,
        value: gate.command.command,
        ignoreFocusOut: true,
        validateInput: (text) => (text.trim() ? null : 'Type the command to run.'),
      });
      if (line?.trim())
        await actions.approve(gate.run_id, gate.approval_id, { command: line.trim() });
    },
    openTrace: traces.open.bind(traces),
    manageTrust: async () => {
      await vscode.commands.executeCommand('workbench.trust.manage');
    },
    reviewWorkspaceConfig: (): Promise<void> => trust.review(),
    revertConflict: reverts.decide.bind(reverts),
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
    sidebar,
    new PendingIndicators(model, client, sidebar, actions),
    // A decided gate's diff tabs close themselves, whoever decided (here, a window, the CLI).
    model.onDidChange((snapshot) => {
      if (snapshot.connected && !snapshot.error) void proposals.closeDecided(snapshot.pending);
    }),
    trust,
    ...syncWithHost(client, model, sidebar),
    terminals,
    client.onEvent((event) => terminals.onEvent(event)),
    ...syncTraces(client, traces),
    ...syncRules(client, rules, model, sidebar),
  );
  return {
    sidebar,
    proposals,
    traces,
    reverts,
    run: commandRunner({ context, host: client, actions, model, sidebar, proposals, trust }),
    reconfigure: () => reconfigureHost(client),
    relocate: () => void relocate().catch(report),
    trustGranted: () => trust.granted(),
    stop: () => client.stop(),
  };
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
