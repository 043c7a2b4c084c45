// The palette commands (category "Airlock"): every action of the sidebar, plus the API key, the
// audit log export and restarting the host. Each one reports its own errors.
import * as vscode from 'vscode';
import { GetRun, type RevertOutcome, type RunSummary } from '../host/protocol/rpc.js';
import { continuable, type Actions } from './actions.js';
import { auditLogFileName, auditLogLines } from './audit-log.js';
import { isEditable, requireApproval } from './decisions.js';
import type { HostClient } from './host-client.js';
import type { CommandId } from './contributions.js';
import { configureHost } from './host-options.js';
import { API_KEY_SECRET, DB_PASSWORD_SECRET } from './options-watch.js';
import type { PendingModel } from './pending-model.js';
import { approvalItems, changeItems, interactionItems, ruleItems, runItems } from './pick-items.js';
import { askAnswer, askDenyReason, pickOne, report } from './prompts.js';
import type { ProposalDocuments } from './proposal-documents.js';
import type { SidebarView } from './sidebar-view.js';
import type { WorkspaceTrust } from './workspace-trust.js';
import { plainText } from './indicator-text.js';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  host: HostClient;
  actions: Actions;
  model: PendingModel;
  sidebar: SidebarView;
  proposals: ProposalDocuments;
  trust: WorkspaceTrust;
}

const LIVE: ReadonlySet<RunSummary['status']> = new Set(['running', 'paused', 'interrupted']);

/**
 * Runs a palette command by id (the activation module registered each id with a thin callback
 * that lands here), reporting its errors.
 */
export function commandRunner(
  deps: CommandDeps,
): (id: CommandId, args: unknown[]) => Promise<void> {
  const { actions, sidebar } = deps;
  const pickApproval = async (title: string, filter = (_tool: string) => true) =>
    pickOne(
      approvalItems(await actions.pending()).filter((item) => filter(item.value.tool)),
      title,
      'nothing waits for approval.',
    );

  const pickRun = async (title: string) =>
    pickOne(
      runItems(await actions.runs()).filter((i) => i.value.status !== 'running'),
      title,
      'no run that could have changed files.',
    );
  const reverted = (outcomes: readonly RevertOutcome[]) => {
    const done = outcomes.filter((o) => o.status === 'reverted').length;
    const kept = outcomes.length - done;
    void vscode.window.showInformationMessage(
      done || kept
        ? `Airlock: reverted ${done} ${done === 1 ? 'change' : 'changes'}${kept ? `; ${kept} kept as ${kept === 1 ? 'it is' : 'they are'}` : ''}.`
        : 'Airlock: nothing to revert: no change of this run stands.',
    );
  };

  const commands: Record<CommandId, (...args: unknown[]) => Promise<void>> = {
    // A string argument is the prompt (a keybinding's `"args"`); without one, an input box asks.
    'airlock.startRun': async (given) => {
      const prompt =
        typeof given === 'string' && given.trim()
          ? given
          : await vscode.window.showInputBox({
              title: 'Airlock: Start Run',
              prompt: 'What should the agent do in this workspace?',
              ignoreFocusOut: true,
              validateInput: (text) => (text.trim() ? undefined : 'Type a prompt first.'),
            });
      if (!prompt?.trim()) return;
      await actions.startRun(prompt);
      await sidebar.reveal(true);
    },
    'airlock.showPending': () => sidebar.reveal(false),
    'airlock.refresh': () => deps.model.refresh(),
    'airlock.approve': async () => {
      const gate = await pickApproval('Airlock: Approve');
      if (gate) await actions.approve(gate.run_id, gate.approval_id);
    },
    'airlock.deny': async () => {
      const gate = await pickApproval('Airlock: Deny');
      const reason = gate && (await askDenyReason(gate.prompt));
      if (gate && reason !== undefined)
        await actions.deny(gate.run_id, gate.approval_id, { reason });
    },
    'airlock.answer': async () => {
      const items = interactionItems(await actions.pending());
      const question = await pickOne(items, 'Airlock: Answer', 'no question waits for you.');
      const value = question && (await askAnswer(question));
      if (question && value !== undefined) {
        await actions.answer(question.run_id, question.interaction_id, value);
      }
    },
    'airlock.openDiff': async () => {
      const gate = await pickApproval('Airlock: Open Diff');
      if (gate) await actions.openDiff(gate.run_id, gate.approval_id);
    },
    'airlock.editThenApprove': async () => {
      const gate = await pickApproval('Airlock: Edit, Then Approve', isEditable);
      if (gate) await actions.editThenApprove(gate.run_id, gate.approval_id);
    },
    // The active proposal diff's gate (editor title bar, keybinding, palette while it is active).
    'airlock.approveFromDiff': async (target) => {
      const ref = deps.proposals.gateOf(target);
      if (!ref) throw new Error('open a proposal\'s diff first ("Open diff" on an approval card).');
      await actions.approve(ref.runId, ref.approvalId);
    },
    'airlock.denyFromDiff': async (target) => {
      const ref = deps.proposals.gateOf(target);
      if (!ref) throw new Error('open a proposal\'s diff first ("Open diff" on an approval card).');
      const gate = requireApproval(await actions.pending(), ref.runId, ref.approvalId);
      const reason = await askDenyReason(gate.prompt);
      if (reason !== undefined) await actions.deny(ref.runId, ref.approvalId, { reason });
    },
    'airlock.approveEdited': (uri) =>
      deps.proposals.approveEditedCommand(uri instanceof vscode.Uri ? uri : undefined),
    'airlock.cancelRun': async () => {
      const items = runItems(await actions.runs(), LIVE);
      const run = await pickOne(items, 'Airlock: Cancel Run', 'no run is running or paused.');
      const reason =
        run &&
        (await vscode.window.showInputBox({
          title: 'Airlock: Cancel Run',
          prompt: 'Why cancel? (optional, kept in the audit trail)',
          ignoreFocusOut: true,
        }));
      if (run && reason !== undefined) await actions.cancelRun(run.run_id, reason);
    },
    // Interrupted runs, and runs whose model call failed (this is their Retry).
    'airlock.continueRun': async () => {
      const interrupted = new Set((await actions.pending()).interrupted);
      const items = runItems(await actions.runs()).filter(
        (i) => interrupted.has(i.value.run_id) || continuable(i.value),
      );
      const run = await pickOne(
        items,
        'Airlock: Continue Run',
        'no run was interrupted or failed on a model call.',
      );
      if (run) await actions.continueRun(run.run_id);
    },
    'airlock.openTrace': async () => {
      const run = await pickOne(
        runItems(await actions.runs()),
        'Airlock: Open Trace',
        'no runs yet.',
      );
      if (run) await actions.openTrace(run.run_id);
    },
    'airlock.setApiKey': () => setApiKey(deps),
    'airlock.setDatabasePassword': () => setDatabasePassword(deps),
    'airlock.exportAuditLog': () => exportAuditLog(deps),
    'airlock.restartHost': () => deps.host.restart(),
    // Pick a standing "always allow / deny" rule to revoke it.
    'airlock.manageRules': async () => {
      const [rules, runs] = await Promise.all([actions.rules(), actions.runs()]);
      const items = ruleItems(rules, runs);
      const rule = await pickOne(
        items,
        'Airlock: Standing Rules',
        'there are no standing rules ("always allow / deny" on a card makes one).',
        'Pick a rule to revoke it',
      );
      if (!rule) return;
      await actions.revokeRule(rule.rule_id);
      const label = items.find((item) => item.value === rule)?.label ?? rule.rule_id;
      void vscode.window.showInformationMessage(`Airlock: revoked "${plainText(label, 160)}".`);
    },
    'airlock.trustWorkspaceConfig': () => deps.trust.review(),
    // Optional arguments (a run id, a change id) skip the pickers: keybindings, other extensions.
    'airlock.revertRun': async (given) => {
      const runId =
        typeof given === 'string' ? given : (await pickRun('Airlock: Revert a Run'))?.run_id;
      if (runId) reverted(await actions.revert(runId));
    },
    'airlock.revertChange': async (givenRun, givenChange) => {
      const runId =
        typeof givenRun === 'string'
          ? givenRun
          : (await pickRun('Airlock: Revert a Change'))?.run_id;
      if (!runId) return;
      let changeId = typeof givenChange === 'string' ? givenChange : undefined;
      if (!changeId) {
        const change = await pickOne(
          changeItems(await actions.changes(runId)),
          'Airlock: Revert a Change',
          'this run changed no file.',
          'Pick a change to revert it (a revert: to apply the change again)',
        );
        changeId = change?.change_id;
      }
      if (changeId) reverted(await actions.revert(runId, changeId));
    },
  };
  return async (id, args) => {
    try {
      await commands[id](...args);
    } catch (err) {
      report(err);
    }
  };
}

async function setApiKey({ context, host }: CommandDeps): Promise<void> {
  const key = await vscode.window.showInputBox({
    title: 'Airlock: Set API Key',
    prompt:
      "The model endpoint's API key, kept in VS Code's secret storage. Leave empty to remove it (then OPENAI_API_KEY is used).",
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  if (key.trim()) await context.secrets.store(API_KEY_SECRET, key.trim());
  else await context.secrets.delete(API_KEY_SECRET);
  if (vscode.workspace.workspaceFolders?.length) await configureHost(host, context.secrets);
  void vscode.window.showInformationMessage(
    key.trim() ? 'Airlock: API key saved.' : 'Airlock: API key removed.',
  );
}

/** Team mode's PostgreSQL password, in secret storage; saving it restarts the host (options-watch). */
async function setDatabasePassword({ context }: CommandDeps): Promise<void> {
  const password = await vscode.window.showInputBox({
    title: 'Airlock: Set Team Database Password',
    prompt:
      "The password of the PostgreSQL server the airlock.database setting names, kept in VS Code's secret storage. Leave empty to remove it (then PGPASSWORD is used).",
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) return;
  if (password) await context.secrets.store(DB_PASSWORD_SECRET, password);
  else await context.secrets.delete(DB_PASSWORD_SECRET);
  void vscode.window.showInformationMessage(
    password ? 'Airlock: database password saved.' : 'Airlock: database password removed.',
  );
}

async function exportAuditLog({ host, actions }: CommandDeps): Promise<void> {
  const runs = (await actions.runs()).reverse(); // oldest first
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('Airlock: there are no runs to export yet.');
    return;
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    title: 'Export Airlock Audit Log',
    saveLabel: 'Export',
    filters: { 'JSON Lines': ['jsonl'] },
    ...(root ? { defaultUri: vscode.Uri.joinPath(root, auditLogFileName(new Date())) } : {}),
  });
  if (!target) return;
  const traces = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Airlock: exporting the audit log' },
    async (progress) => {
      const read = [];
      for (const run of runs) {
        read.push(await host.request(GetRun, { run_id: run.run_id }));
        progress.report({ increment: 100 / runs.length });
      }
      return read;
    },
  );
  await vscode.workspace.fs.writeFile(target, Buffer.from(auditLogLines(traces), 'utf8'));
  const choice = await vscode.window.showInformationMessage(
    `Airlock: exported ${runs.length} run(s) to ${vscode.workspace.asRelativePath(target)}.`,
    'Open',
  );
  if (choice === 'Open') await vscode.window.showTextDocument(target);
}
