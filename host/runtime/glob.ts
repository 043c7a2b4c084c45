// The one meaning of a glob in Airlock, wherever one is taken: policy rules (`paths`), protected
// paths, standing rules, and the `glob` of list_files and search_text.
//
// A glob matches the whole workspace-relative path, with `/` between folders, dot files
// included. `*` and `?` never cross a `/`; `**` spans any number of folders. So `*.md` is a file
// at the top only, `**/*.md` one at any depth, `docs/**` everything under docs/. There is no
// .gitignore-style "a glob without / matches the file name at any depth": a policy rule means
// exactly the paths it spells out, and an "always allow" on the workspace root's files (`*`) or on
// one root file never grows to the files of the same name below it.
import picomatch from 'picomatch';

export interface GlobOptions {
  /** Ignore case (protected paths: macOS and Windows file systems do). */
  nocase?: boolean;
}

/** A path as globs see it: `/` between folders, no leading `./`. */
export function globPath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/** A test for workspace-relative paths: true when one of the globs matches the whole path. */
export function globMatcher(
  globs: string | readonly string[],
  options: GlobOptions = {},
): (path: string) => boolean {
  const list = typeof globs === 'string' ? [globs] : [...globs];
  if (list.length === 0) return () => false;
  // `windows: false`: a backslash in a glob escapes the next character on every platform (paths
  // are given with `/`), so a glob written for one literal path means the same everywhere.
  const isMatch = picomatch(list, { dot: true, nocase: options.nocase ?? false, windows: false });
  return (path) => isMatch(globPath(path));
}
