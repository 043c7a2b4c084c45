// Where the host's options come from, watched from activation on: an `airlock.*` setting or the
// API key (SecretStorage) changing must reach a running host, and a bad setting is reported when
// it is made. Light on purpose (the activation module imports it); reading and sending the
// options is host-options.ts.
import * as vscode from 'vscode';

export const API_KEY_SECRET = 'airlock.apiKey';

/** Calls `changed` when a setting or the API key changes, once a folder is open to configure. */
export function watchHostOptions(
  secrets: vscode.SecretStorage,
  changed: () => void,
): vscode.Disposable[] {
  const reconfigure = () => {
    if (vscode.workspace.workspaceFolders?.length) changed(); // nothing to configure yet
  };
  return [
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('airlock')) reconfigure();
    }),
    secrets.onDidChange((e) => {
      if (e.key === API_KEY_SECRET) reconfigure();
    }),
  ];
}
