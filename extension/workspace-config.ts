// The repository's airlock.config.json and VS Code's workspace trust, the pure half (SPEC §9):
// when its loosening rules are offered to the developer (once per version, never in Restricted
// Mode, never again once declined), how the offer reads, and what the sidebar is told.
import type { WorkspaceConfigStatus } from '../host/protocol/rpc.js';
import type { WorkspaceMessage } from '../webview/protocol.js';
import { plainText } from './indicator-text.js';

/** globalState key: the `offerKey`s of versions the developer chose to keep ignoring. */
export const DECLINED_STATE_KEY = 'airlock.workspaceConfig.declined';
/** At most this many declines are remembered (the oldest are forgotten first). */
export const MAX_DECLINES = 200;

/** A version of a workspace file: its path and its SHA-256 (any change is a new version). */
export function offerKey(file: string, sha256: string): string {
  return `${file}\n${sha256}`;
}

/** A status worth offering: a file whose loosening lines are ignored because it is not trusted. */
export type Offerable = WorkspaceConfigStatus & { file: string; sha256: string };

export function isOfferable(status: WorkspaceConfigStatus): status is Offerable {
  return (
    status.file !== null && status.sha256 !== null && !status.trusted && status.loosening.length > 0
  );
}

export interface OfferContext {
  /** VS Code's Restricted Mode (`workspace.isTrusted` is false). */
  restricted: boolean;
  /** Versions the developer chose to keep ignoring (from globalState). */
  declined: readonly string[];
  /** Versions already offered in this window (an offer is made once). */
  offered: ReadonlySet<string>;
}

export function shouldOffer(status: WorkspaceConfigStatus, ctx: OfferContext): boolean {
  if (ctx.restricted || !isOfferable(status)) return false;
  const key = offerKey(status.file, status.sha256);
  return !ctx.declined.includes(key) && !ctx.offered.has(key);
}

/** The declines with one more (deduplicated, newest last, bounded). */
export function withDecline(declined: readonly string[], key: string): string[] {
  return [...declined.filter((k) => k !== key), key].slice(-MAX_DECLINES);
}

/** The notification: what the file wants, one clipped line each, at most `max` of them. */
export function offerMessage(loosening: readonly string[], max = 4): string {
  const shown = loosening.slice(0, max).map((line) => plainText(line, 160));
  const more = loosening.length - shown.length;
  return `This repository's airlock.config.json wants to loosen Airlock: ${shown.join('; ')}${
    more > 0 ? `; and ${more} more (Show File to read them all)` : ''
  }. Until you trust this version, Airlock ignores these rules.`;
}

/** The modal's detail: every line, then what trusting does. */
export function reviewDetail(status: Offerable): string {
  return [
    ...status.loosening.map((line) => `• ${plainText(line, 300)}`),
    '',
    `Trusting records this exact version (SHA-256 ${status.sha256.slice(0, 12)}…) outside the workspace; any change to the file revokes it.`,
  ].join('\n');
}

/** A path to show: relative to the workspace when inside it. */
export function displayPath(file: string, workspace: string | undefined): string {
  if (!workspace) return file;
  const root = workspace.replace(/[\\/]+$/, '');
  if (file.startsWith(`${root}/`) || file.startsWith(`${root}\\`)) {
    return file.slice(root.length + 1);
  }
  return file;
}

export function toWorkspaceMessage(
  restricted: boolean,
  status: WorkspaceConfigStatus | null,
  workspace: string | undefined,
): WorkspaceMessage {
  return {
    type: 'workspace',
    restricted,
    config:
      status?.file != null
        ? {
            file: displayPath(status.file, workspace),
            trusted: status.trusted,
            loosening: status.loosening,
            ignored: status.ignored,
          }
        : null,
  };
}
