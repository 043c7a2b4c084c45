// The VS Code extension's entry point (dist/extension.js), kept small so activation is cheap
// (vscode-eslint's activate → realActivate): it registers what must exist before any use — the
// sidebar's view provider, the proposal and trace document schemes, the palette commands, the
// proposal editors' context keys, the watchers of settings, API key and workspace trust — with
// thin callbacks, and loads the rest (dist/extension-main.js: the host client, zod, the sidebar's
// logic) on first use. The host process starts later still: when the sidebar is shown (which
// brings back the badge of gates left pending) or a command needs it.
import * as vscode from 'vscode';
import { COMMAND_IDS, SIDEBAR_VIEW_ID } from './contributions.js';
import type { AirlockWindow } from './main.js';
import { watchHostOptions } from './options-watch.js';
import { ProposalContext } from './proposal-context.js';
import { PROPOSAL_SCHEME, REVERT_SCHEME, TRACE_SCHEME } from './proposal-uri.js';

let loaded: AirlockWindow | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const proposals = new LazyContentProvider(() => airlock().proposals);
  const traces = new LazyContentProvider(() => airlock().traces);
  const reverts = new LazyContentProvider(() => airlock().reverts);
  const airlock = (): AirlockWindow => {
    if (!loaded) {
      // A bundle of its own, loaded synchronously: a provider or command waits on nothing else.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const main = require(context.asAbsolutePath('dist/extension-main.js')) as MainModule;
      loaded = main.start(context);
      proposals.attach(loaded.proposals);
      traces.attach(loaded.traces);
      reverts.attach(loaded.reverts);
    }
    return loaded;
  };
  context.subscriptions.push(
    proposals,
    traces,
    reverts,
    vscode.window.registerWebviewViewProvider(SIDEBAR_VIEW_ID, {
      resolveWebviewView: (view, state, token) =>
        airlock().sidebar.resolveWebviewView(view, state, token),
    }),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, proposals),
    vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, traces),
    vscode.workspace.registerTextDocumentContentProvider(REVERT_SCHEME, reverts),
    ...COMMAND_IDS.map((id) =>
      vscode.commands.registerCommand(id, (...args: unknown[]) => airlock().run(id, args)),
    ),
    new ProposalContext(context.globalStorageUri),
    ...watchHostOptions(
      context.secrets,
      () => airlock().reconfigure(),
      () => airlock().relocate(),
    ),
    vscode.workspace.onDidGrantWorkspaceTrust(() => airlock().trustGranted()),
  );
}

/** Stops the host gracefully (shutdown, exit, then kill) before the extension host goes. */
export async function deactivate(): Promise<void> {
  await loaded?.stop();
  loaded = undefined;
}

type MainModule = typeof import('./main.js');

/**
 * A document scheme's provider registered at activation: it loads the real one on the first
 * document asked for, and passes on the real one's changes once it is loaded (by any use).
 */
class LazyContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  private forwarding: vscode.Disposable | undefined;
  readonly onDidChange = this.changes.event;

  constructor(private readonly real: () => vscode.TextDocumentContentProvider) {}

  attach(real: vscode.TextDocumentContentProvider): void {
    this.forwarding = real.onDidChange?.((uri) => this.changes.fire(uri));
  }

  provideTextDocumentContent(
    uri: vscode.Uri,
    token: vscode.CancellationToken,
  ): vscode.ProviderResult<string> {
    return this.real().provideTextDocumentContent(uri, token);
  }

  dispose(): void {
    this.forwarding?.dispose();
    this.changes.dispose();
  }
}
