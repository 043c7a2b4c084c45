// Where the host's options come from, watched from activation on: an `airlock.*` setting or the
// API key (SecretStorage) changing must reach a running host, and a bad setting is reported when
// it is made. Light on purpose (the activation module imports it); reading and sending the
// options is host-options.ts.
import * as vscode from 'vscode';

export const API_KEY_SECRET = 'airlock.apiKey';
/** Team mode's PostgreSQL password (the setting `airlock.database` names the server). */
export const DB_PASSWORD_SECRET = 'airlock.databasePassword';

/**
 * Calls `changed` when a setting or the API key changes, once a folder is open to configure;
 * `moved` instead when the database or its password does (the host opens its store once).
 */
export function watchHostOptions(
  secrets: vscode.SecretStorage,
  changed: () => void,
  moved: () => void,
): vscode.Disposable[] {
  const open = () => vscode.workspace.workspaceFolders?.length; // nothing to configure yet
  return [
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!open()) return;
      if (e.affectsConfiguration('airlock.database')) moved();
      else if (e.affectsConfiguration('airlock')) changed();
    }),
    secrets.onDidChange((e) => {
      if (!open()) return;
      if (e.key === API_KEY_SECRET) changed();
      if (e.key === DB_PASSWORD_SECRET) moved();
    }),
  ];
}
