// The host's notifications → the sidebar: live events are forwarded (streamed model text), and
// anything that may change the database re-reads pending and runs. When the host is running
// again after a restart, the cards come back from its database.
import type * as vscode from 'vscode';
import type { HostClient } from './host-client.js';
import type { PendingModel } from './pending-model.js';
import type { SidebarView } from './sidebar-view.js';

export function syncWithHost(
  host: HostClient,
  model: PendingModel,
  sidebar: SidebarView,
): vscode.Disposable[] {
  return [
    host.onEvent((event) => {
      sidebar.postEvent(event);
      if (event.type !== 'delta') void model.refresh();
    }),
    host.onChanged(() => void model.refresh()),
    host.onStatus((status) => {
      if (status.tag === 'running') void model.refresh();
      else model.setConnection(false, status.tag === 'failed' ? status.message : null);
    }),
  ];
}
