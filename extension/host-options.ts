// The HostOptions the host starts with, read from VS Code (first workspace folder, `airlock.*`
// settings, the API key in SecretStorage), and kept current: a settings or key change reaches
// the running host through `airlock/configure`, and an action that starts or resumes a run
// re-reads them first (HostClient), so a change made just before it is never overtaken.
import * as vscode from 'vscode';
import type { HostOptions } from '../host/protocol/rpc.js';
import type { HostClient } from './host-client.js';
import { API_KEY_SECRET, DB_PASSWORD_SECRET } from './options-watch.js';
import { report } from './prompts.js';
import { databaseLocation, hostOptions, settingsFromConfiguration } from './settings.js';

let lastProblems = '';

export async function readHostOptions(secrets: vscode.SecretStorage): Promise<HostOptions> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder || folder.uri.scheme !== 'file') {
    throw new Error('Open a folder on this machine to use Airlock.');
  }
  const config = vscode.workspace.getConfiguration('airlock', folder.uri);
  const { settings, problems } = settingsFromConfiguration((key) => config.get(key));
  const shown = problems.join('\n');
  if (shown && shown !== lastProblems) {
    void vscode.window
      .showWarningMessage(`Airlock ignores some settings: ${problems.join(' ')}`, 'Open Settings')
      .then((choice) => {
        if (choice)
          void vscode.commands.executeCommand('workbench.action.openSettings', 'airlock.');
      });
  }
  lastProblems = shown;
  const apiKey = (await secrets.get(API_KEY_SECRET)) ?? '';
  // The user's own value only (the setting is application-scoped): a repository's settings must
  // never send runs, approvals and the conversation to a server of its choosing (SPEC §9).
  const db = databaseSetting(config.inspect<unknown>('database')?.globalValue);
  const dbPassword = db ? await secrets.get(DB_PASSWORD_SECRET) : undefined;
  return hostOptions(
    folder.uri.fsPath,
    settings,
    apiKey,
    !vscode.workspace.isTrusted,
    db,
    dbPassword,
  );
}

let lastDatabaseProblem = '';

/** `airlock.database` as the host takes it; a value it cannot use is reported once and ignored. */
function databaseSetting(value: unknown): string {
  const { db, problem } = databaseLocation(value);
  if (problem && problem !== lastDatabaseProblem) {
    void vscode.window.showWarningMessage(`Airlock: ${problem}`);
  }
  lastDatabaseProblem = problem;
  return db;
}

/** Sends the current options to the host (if it runs; otherwise it starts with them). */
export async function configureHost(host: HostClient, secrets: vscode.SecretStorage) {
  await host.configure(await readHostOptions(secrets));
}

/** A setting or the API key changed (options-watch.ts): the running host gets them. */
export function reconfigureHost(host: HostClient): void {
  void host.refresh().catch(report);
}
