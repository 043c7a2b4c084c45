// Where a proposal's documents live: the read-only `airlock-proposal:` documents of the diff
// editor, and the editable copies for "Edit, then approve" under the extension's storage. Pure
// (paths and query strings); proposal-documents.ts turns them into vscode.Uri.
import * as path from 'node:path';

export const PROPOSAL_SCHEME = 'airlock-proposal';
export const TRACE_SCHEME = 'airlock-trace';
/** Read-only copies of a reverted file's versions (before / as applied / now). */
export const REVERT_SCHEME = 'airlock-revert';

export type Side = 'current' | 'proposed' | 'empty';

export interface ProposalRef {
  runId: string;
  approvalId: string;
  side: Side;
}

export function proposalQuery(ref: ProposalRef): string {
  return new URLSearchParams({
    run: ref.runId,
    approval: ref.approvalId,
    side: ref.side,
  }).toString();
}

export function parseProposalQuery(query: string): ProposalRef | undefined {
  const params = new URLSearchParams(query);
  const runId = params.get('run');
  const approvalId = params.get('approval');
  const side = params.get('side');
  if (!runId || !approvalId) return undefined;
  if (side !== 'current' && side !== 'proposed' && side !== 'empty') return undefined;
  return { runId, approvalId, side };
}

/** The virtual document's path: the file's own path, so the tab and language mode fit it. */
export function proposalPath(filePath: string): string {
  return '/' + filePath.replace(/\\/g, '/').replace(/^\/+/, '');
}

export interface EditRef {
  runId: string;
  approvalId: string;
}

/** An id as one safe path segment (no separators, never "." or ".."). */
const segment = (id: string) => encodeURIComponent(id).replace(/\./g, '%2E');

/** The editable copy's path segments under globalStorage: edits/<run>/<approval>/<file name>. */
export function editSegments(ref: EditRef, filePath: string): string[] {
  const base = path.posix.basename(filePath.replace(/\\/g, '/'));
  const name = base === '' || base === '.' || base === '..' ? 'proposal.txt' : base;
  return ['edits', segment(ref.runId), segment(ref.approvalId), name];
}

/** Which gate an editable copy belongs to, from its path (survives a window reload). */
export function parseEditPath(storagePath: string, filePath: string): EditRef | undefined {
  const rel = path.relative(storagePath, filePath).split(/[\\/]/);
  if (rel.length !== 4 || rel[0] !== 'edits' || !rel[1] || !rel[2]) return undefined;
  try {
    return { runId: decodeURIComponent(rel[1]), approvalId: decodeURIComponent(rel[2]) };
  } catch {
    return undefined;
  }
}
