// How a standing "always allow / deny" rule reads, in the sidebar, on the card that makes one and
// in the palette: one wording everywhere. Pure and browser-safe (the extension imports it too).
import type { Cover, RuleRow } from './protocol.js';

/** A glob written for one literal path (the host escapes glob characters): the path again. */
function literal(glob: string): string {
  return glob.replace(/\\(.)/g, '$1');
}

/**
 * What a rule with this cover would hold for, for a gate on `path` (as host/runtime/policy.ts's
 * coverPaths records it): the file, `dir/**`, the files at the workspace root (`*`), or null for
 * every call of the tool.
 */
export function coverGlob(cover: Cover, path: string | null): string | null {
  if (cover === 'tool' || path === null) return null;
  const rel = path.replace(/\\/g, '/').replace(/^\.\//, '');
  if (cover === 'file') return rel;
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '*' : `${rel.slice(0, slash)}/**`;
}

/**
 * "this file (docs/a.md)", "this folder (docs/**)", "every write_file call"; for a shell
 * command, its `patterns`: "these commands exactly (npm test)", "these programs (npm test *)".
 */
export function coverLabel(
  cover: Cover,
  path: string | null,
  tool: string,
  patterns?: readonly string[] | null,
): string {
  if (cover === 'command' || cover === 'program') {
    const list = (patterns ?? []).join(', ');
    return cover === 'command' ? `exactly these commands (${list})` : `these programs (${list})`;
  }
  const glob = coverGlob(cover, path);
  if (glob === null) return `every ${tool} call`;
  if (cover === 'file') return `this file (${glob})`;
  return glob === '*' ? 'files at the workspace root (*)' : `this folder (${glob})`;
}

/** "write_file on docs/a.md" or "every write_file call". */
export function ruleSubject(tool: string, paths: readonly string[] | null, cover?: Cover): string {
  if (!paths || paths.length === 0) return `every ${tool} call`;
  if (cover === 'command' || cover === 'program') return `${tool} of ${paths.join(', ')}`;
  const shown = cover === 'file' ? paths.map(literal) : paths;
  return `${tool} on ${shown.join(', ')}`;
}

export function scopeLabel(runScoped: boolean): string {
  return runScoped ? 'for this run' : 'for this workspace';
}

/** What the card says once an "always" decision was accepted. */
export function decidedSentence(o: {
  approved: boolean;
  tool: string;
  cover: Cover;
  path: string | null;
  scope: 'run' | 'workspace';
  /** A shell command's patterns for this cover. */
  patterns?: readonly string[] | null;
}): string {
  const glob = coverGlob(o.cover, o.path);
  const subject = o.patterns
    ? ruleSubject(o.tool, o.patterns, o.cover)
    : ruleSubject(o.tool, glob === null ? null : [glob]);
  return `Always ${o.approved ? 'allowed' : 'denied'} ${subject} ${scopeLabel(o.scope === 'run')}.`;
}

/** "Always allow write_file on docs/a.md for this workspace" (a rule as it stands). */
export function ruleSentence(
  rule: Pick<RuleRow, 'action' | 'tool' | 'paths' | 'cover' | 'run_id'>,
) {
  const verb = rule.action === 'allow' ? 'Always allow' : 'Always deny';
  return `${verb} ${ruleSubject(rule.tool, rule.paths, rule.cover)} ${scopeLabel(rule.run_id !== null)}`;
}
