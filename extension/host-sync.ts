// The host's notifications → the sidebar: live events are forwarded (streamed model text), and
// anything that may change the database re-reads pending and runs. When the host is running
// again after a restart, the cards come back from its database.
import type * as vscode from 'vscode';
import type { HostClient } from './host-client.js';
import type { PendingModel } from './pending-model.js';
import { toRulesMessage, type RulesModel } from './rules-model.js';
import type { SidebarView } from './sidebar-view.js';
import type { TraceDocuments } from './trace-documents.js';

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

/**
 * The standing rules → the sidebar: re-read when the database changed (a decision made one, a
 * revoke, another window) and when the host is running again; a run's prompt labels its rules.
 */
export function syncRules(
  host: HostClient,
  rules: RulesModel,
  model: PendingModel,
  sidebar: SidebarView,
): { dispose(): void }[] {
  const post = () => sidebar.show(toRulesMessage(rules.current, model.current.runs));
  return [
    rules.onDidChange(post),
    model.onDidChange(post),
    host.onChanged(() => void rules.refresh()),
    host.onStatus((status) => {
      if (status.tag === 'running') void rules.refresh();
    }),
  ];
}

/** Open traces are live: a run's events and database changes re-read its open trace. */
export function syncTraces(
  host: Pick<HostClient, 'onEvent' | 'onChanged' | 'onStatus'>,
  traces: Pick<TraceDocuments, 'runChanged'>,
): { dispose(): void }[] {
  return [
    host.onEvent((event) => {
      if (event.type !== 'delta') traces.runChanged(event.run_id);
    }),
    host.onChanged(() => traces.runChanged()),
    host.onStatus((status) => {
      if (status.tag === 'running') traces.runChanged();
    }),
  ];
}
