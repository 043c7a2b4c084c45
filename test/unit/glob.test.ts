// One meaning of a glob (host/runtime/glob.ts): the same table of globs × paths through a policy
// rule, protected paths, list_files and search_text (on a temp directory), and the standing rules
// an "always allow" makes, which must never grow to files of the same name below.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { globMatcher } from '../../host/runtime/glob.js';
import { coverPaths, isProtectedPath, judge, matchPolicy } from '../../host/runtime/policy.js';
import type { ToolContext } from '../../host/runtime/tool.js';
import { listFilesTool, searchTextTool } from '../../host/tools/files.js';

const PATHS = [
  'README.md',
  'notes.md',
  'docs/README.md',
  'docs/guide/intro.md',
  'src/a.ts',
  'src/lib/b.ts',
  '.env',
  'config/.env.local',
  'src/(x).ts',
];

/** Each glob and exactly the paths it matches. */
const TABLE: [glob: string, matches: string[]][] = [
  ['*.md', ['README.md', 'notes.md']],
  ['**/*.md', ['README.md', 'notes.md', 'docs/README.md', 'docs/guide/intro.md']],
  ['README.md', ['README.md']],
  ['**/README.md', ['README.md', 'docs/README.md']],
  ['docs/*.md', ['docs/README.md']],
  ['docs/**', ['docs/README.md', 'docs/guide/intro.md']],
  ['src/**/*.ts', ['src/a.ts', 'src/lib/b.ts', 'src/(x).ts']],
  ['*.ts', []],
  ['*', ['README.md', 'notes.md', '.env']],
  ['.env*', ['.env']],
  ['**/.env*', ['.env', 'config/.env.local']],
  ['src/\\(x\\).ts', ['src/(x).ts']],
  ['{README,notes}.md', ['README.md', 'notes.md']],
];

let root: string;

before(async () => {
  root = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'airlock-glob-')));
  for (const rel of PATHS) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), 'needle\n');
  }
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function ctx(): ToolContext {
  return {
    runId: 'r',
    callId: 'c',
    approval: null,
    signal: new AbortController().signal,
    forwarded: {},
    reportUsage: () => undefined,
    visible: () => true,
  };
}

const sorted = (list: readonly string[]): string[] => [...list].sort();

void describe('a glob means one thing everywhere', () => {
  for (const [glob, expected] of TABLE) {
    void it(`${glob} matches ${expected.length ? expected.join(', ') : 'nothing here'}`, async () => {
      const matcher = globMatcher(glob);
      assert.deepEqual(sorted(PATHS.filter(matcher)), sorted(expected), 'the matcher');

      const rule = [{ tool: 'write_file', paths: [glob], action: 'deny' as const }];
      const byRule = PATHS.filter((p) => matchPolicy(rule, 'write_file', p) !== undefined);
      assert.deepEqual(sorted(byRule), sorted(expected), 'a policy rule');
      const denied = PATHS.filter(
        (p) =>
          judge({ layers: [rule], standing: [], protectedPaths: [] }, 'write_file', p, true)
            .action === 'deny',
      );
      assert.deepEqual(sorted(denied), sorted(expected), 'the verdict');
      const prot = PATHS.filter((p) => isProtectedPath(p, [glob]));
      assert.deepEqual(sorted(prot), sorted(expected), 'a protected path');

      const listed = String(await listFilesTool(root).handler({ glob }, ctx()));
      const listedPaths = listed.startsWith('No files match') ? [] : listed.split('\n');
      assert.deepEqual(sorted(listedPaths), sorted(expected), 'list_files');

      const found = String(await searchTextTool(root).handler({ query: 'needle', glob }, ctx()));
      const foundPaths = found.startsWith('No matches')
        ? []
        : found.split('\n').map((line) => line.slice(0, line.indexOf(':1: ')));
      assert.deepEqual(sorted(foundPaths), sorted(expected), 'search_text');
    });
  }

  void it('list_files with a path matches the glob below that folder too', async () => {
    const tool = listFilesTool(root);
    assert.equal(await tool.handler({ path: 'docs', glob: '*.md' }, ctx()), 'docs/README.md');
    assert.equal(
      await tool.handler({ path: 'docs', glob: '**/*.md' }, ctx()),
      ['docs/README.md', 'docs/guide/intro.md'].join('\n'),
    );
    assert.equal(await tool.handler({ path: 'docs', glob: 'docs/*.md' }, ctx()), 'docs/README.md');
  });

  void it('paths are matched with / whatever the separator given, without a leading ./', () => {
    assert.ok(globMatcher('docs/*.md')('docs\\README.md'));
    assert.ok(globMatcher('*.md')('./README.md'));
    assert.ok(!globMatcher([])('README.md'), 'no globs match nothing');
    assert.ok(globMatcher('**/.VSCODE/**', { nocase: true })('a/.vscode/x.json'));
    assert.ok(!globMatcher('**/.VSCODE/**')('a/.vscode/x.json'));
  });

  void it('an always-allow on a root file or the root folder never covers the files below', () => {
    const standing = (cover: 'file' | 'folder', at: string) => ({
      rule_id: 'r',
      workspace: root,
      run_id: null,
      tool: 'write_file',
      paths: coverPaths(cover, at),
      action: 'allow' as const,
      cover,
      created_by: null,
      created_at: '2026-01-01T00:00:00.000Z',
      approval_id: null,
    });
    const allowed = (rule: ReturnType<typeof standing>) =>
      PATHS.filter(
        (p) =>
          judge({ layers: [], standing: [rule], protectedPaths: [] }, 'write_file', p, true)
            .action === 'allow',
      );
    assert.deepEqual(allowed(standing('file', 'README.md')), ['README.md']);
    assert.deepEqual(sorted(allowed(standing('folder', 'notes.md'))), [
      '.env',
      'README.md',
      'notes.md',
    ]);
    assert.deepEqual(allowed(standing('file', 'src/(x).ts')), ['src/(x).ts']);
    assert.deepEqual(sorted(allowed(standing('folder', 'src/a.ts'))), [
      'src/(x).ts',
      'src/a.ts',
      'src/lib/b.ts',
    ]);
  });
});
