// What package.json contributes, by id: the activation module registers each of them before any
// use (extension.ts), and the modules loaded later implement them (commands.ts, sidebar-view.ts).
// No imports: activation loads this and little else.

/** The palette commands (`contributes.commands`); commands.ts has one handler per id. */
export const COMMAND_IDS = [
  'airlock.startRun',
  'airlock.showPending',
  'airlock.refresh',
  'airlock.approve',
  'airlock.deny',
  'airlock.answer',
  'airlock.openDiff',
  'airlock.editThenApprove',
  'airlock.approveFromDiff',
  'airlock.denyFromDiff',
  'airlock.approveEdited',
  'airlock.cancelRun',
  'airlock.continueRun',
  'airlock.openTrace',
  'airlock.setApiKey',
  'airlock.setDatabasePassword',
  'airlock.exportAuditLog',
  'airlock.restartHost',
  'airlock.manageRules',
  'airlock.revertChange',
  'airlock.revertRun',
  'airlock.trustWorkspaceConfig',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];

/** The "Airlock" sidebar's webview view (`contributes.views`). */
export const SIDEBAR_VIEW_ID = 'airlock.sidebar';
