// Confines tool paths to the workspace root (SPEC §4). Every path a file tool touches goes through
// `resolve`, which refuses `..` escapes, absolute paths elsewhere, symlinks (at any component,
// dangling ones included) whose target leaves the root, and the repository's `.git/` internals.
import { lstatSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ToolError } from '../runtime/tool.js';
import { NO_BUFFERS, type OpenBuffers } from './open-buffers.js';

/** Whether a run whose `started_on` label is `startedOn` was started on this machine (none: yes). */
export function startedHere(startedOn: string | undefined): boolean {
  return startedOn === undefined || startedOn === hostname();
}

/**
 * Whether a run recorded in `runWorkspace` works in the workspace at `root` (realpath'd) of this
 * machine: its paths are relative to its own folder, never to be applied to another one (a shared
 * database, a team's server), nor to a folder of the same path on another machine (`startedOn`,
 * the run's `started_on` label). A run with no recorded folder (the library's) goes anywhere.
 */
export function worksIn(
  runWorkspace: string | null,
  root: string,
  startedOn: string | undefined,
): boolean {
  if (!startedHere(startedOn)) return false;
  if (runWorkspace === null) return true;
  let real: string;
  try {
    real = realpathSync(runWorkspace);
  } catch {
    real = path.resolve(runWorkspace); // gone: it matches no open workspace
  }
  return real === root;
}

export interface ResolvedPath {
  /** The real absolute path to operate on (symlinks inside the workspace already followed). */
  abs: string;
  /** Workspace-relative with `/` separators; `.` for the root itself. */
  rel: string;
}

/** Bounds how many dangling symlinks one resolution may chase (the kernel's own limit is 40). */
const MAX_LINK_HOPS = 40;

export class Workspace {
  /** The realpath of the root, taken once: every check compares against it. */
  readonly root: string;
  /** The root as given (resolved but not realpath'd), so absolute paths spelled through it work. */
  private readonly givenRoot: string;

  /** `buffers`: the developer's open documents with unsaved changes (SPEC §7). */
  constructor(
    root: string,
    readonly buffers: OpenBuffers = NO_BUFFERS,
  ) {
    this.givenRoot = path.resolve(root);
    this.root = realpathSync(this.givenRoot);
  }

  resolve(relOrAbs: string): ResolvedPath {
    if (relOrAbs.includes('\0')) throw this.refuse(relOrAbs, 'contains a NUL byte');
    const spelled = relOrAbs.trim() === '' ? '.' : relOrAbs;
    const candidate = this.intoRealRoot(
      path.isAbsolute(spelled) ? path.resolve(spelled) : path.resolve(this.root, spelled),
    );
    if (!this.contains(candidate)) throw this.refuse(relOrAbs, 'is outside the workspace');
    const abs = this.follow(relOrAbs, candidate, 0);
    const rel = this.relOf(abs);
    // Lower-cased because macOS and Windows file systems treat `.GIT` as `.git`.
    const lower = rel.toLowerCase();
    if (lower === '.git' || lower.startsWith('.git/')) {
      throw new ToolError(
        `Path "${relOrAbs}" is inside .git/: tools may not read or change the repository's internals.`,
      );
    }
    return { abs, rel };
  }

  /**
   * `resolve` for a path a tool will change: also refuses anything inside a `.git` entry at any
   * depth (a nested repository's config or hooks run code on the next git command).
   */
  resolveForChange(relOrAbs: string): ResolvedPath {
    const target = this.resolve(relOrAbs);
    if (target.rel.split('/').some((segment) => segment.toLowerCase() === '.git')) {
      throw new ToolError(
        `Path "${relOrAbs}" is inside a .git directory: tools never change a repository's internals, at any depth.`,
      );
    }
    return target;
  }

  /** Workspace-relative form of an absolute path already known to be inside the root. */
  relOf(abs: string): string {
    const rel = path.relative(this.root, abs);
    return rel === '' ? '.' : rel.split(path.sep).join('/');
  }

  contains(abs: string): boolean {
    return isInside(this.root, abs);
  }

  /** Maps a path spelled through the given (possibly symlinked) root onto the real root. */
  private intoRealRoot(abs: string): string {
    if (this.givenRoot === this.root || !isInside(this.givenRoot, abs)) return abs;
    return path.join(this.root, path.relative(this.givenRoot, abs));
  }

  /**
   * The real path of `candidate`: realpath when it exists; otherwise the realpath of the nearest
   * existing ancestor plus the missing tail, so a not-yet-created file under a symlinked directory
   * is judged by where it would really land. A dangling symlink is followed to its target.
   */
  private follow(original: string, candidate: string, hops: number): string {
    if (hops > MAX_LINK_HOPS) throw this.refuse(original, 'goes through too many symlinks');
    let existing = candidate;
    const tail: string[] = [];
    let stat = lstatOrNull(existing);
    while (!stat) {
      const parent = path.dirname(existing);
      if (parent === existing) throw this.refuse(original, 'has no existing ancestor');
      tail.unshift(path.basename(existing));
      existing = parent;
      stat = lstatOrNull(existing);
    }
    let real: string;
    try {
      real = realpathSync(existing);
    } catch (error) {
      if (errno(error) === 'ELOOP') throw this.refuse(original, 'goes through a symlink loop');
      if (errno(error) !== 'ENOENT' || !stat.isSymbolicLink()) throw error;
      // A dangling symlink: a write would land on its target, so judge the target.
      const target = path.resolve(path.dirname(existing), readlinkSync(existing));
      const next = this.intoRealRoot(path.join(target, ...tail));
      if (!this.contains(next)) throw this.escapes(original, next);
      return this.follow(original, next, hops + 1);
    }
    const full = path.join(real, ...tail);
    if (!this.contains(full)) throw this.escapes(original, full);
    return full;
  }

  private refuse(original: string, why: string): ToolError {
    return new ToolError(
      `Path "${original}" ${why}: paths must stay inside the workspace ${this.root}.`,
    );
  }

  private escapes(original: string, real: string): ToolError {
    return this.refuse(
      original,
      `resolves through a symlink to ${real}, which is outside the workspace`,
    );
  }
}

function isInside(base: string, abs: string): boolean {
  const rel = path.relative(base, abs);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** lstat, with "does not exist" (also: a parent is a file) as null. */
function lstatOrNull(abs: string): Stats | null {
  try {
    return lstatSync(abs);
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

function errno(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}
