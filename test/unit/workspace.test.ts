// Workspace confinement on a real temp directory: what resolves, what is refused, and that a
// refusal never touches anything outside.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ToolError } from '../../host/runtime/tool.js';
import { Workspace } from '../../host/tools/workspace.js';

let base: string;
let root: string;
let outside: string;
let ws: Workspace;

before(async () => {
  base = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'airlock-ws-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'src'), { recursive: true });
  await mkdir(path.join(root, '.git'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'src', 'a.ts'), 'a\n');
  await writeFile(path.join(outside, 'secret.txt'), 'secret\n');
  await symlink(path.join(outside, 'secret.txt'), path.join(root, 'file-link'));
  await symlink(outside, path.join(root, 'dir-link'));
  await symlink(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling-out'));
  await symlink(path.join(root, 'src', 'new.ts'), path.join(root, 'dangling-in'));
  await symlink(path.join(root, 'src'), path.join(root, 'src-link'));
  ws = new Workspace(root);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

function refused(input: string, pattern: RegExp = /paths must stay inside the workspace/): void {
  assert.throws(
    () => ws.resolve(input),
    (error: unknown) => {
      assert.ok(error instanceof ToolError, `expected a ToolError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.ok(error.message.includes(input), 'the message names the path');
      return true;
    },
  );
}

void describe('Workspace.resolve', () => {
  void it('resolves relative paths against the root', () => {
    assert.deepEqual(ws.resolve('src/a.ts'), {
      abs: path.join(root, 'src', 'a.ts'),
      rel: 'src/a.ts',
    });
    assert.deepEqual(ws.resolve('./src/../src/a.ts').rel, 'src/a.ts');
    assert.deepEqual(ws.resolve('.'), { abs: root, rel: '.' });
  });

  void it('accepts absolute paths inside the root', () => {
    assert.equal(ws.resolve(path.join(root, 'src', 'a.ts')).rel, 'src/a.ts');
  });

  void it('resolves not-yet-existing paths (for creation)', () => {
    assert.equal(ws.resolve('docs/new/x.md').rel, 'docs/new/x.md');
  });

  void it('refuses .. escapes', () => {
    refused('../outside/secret.txt');
    refused('src/../../outside/secret.txt');
    refused('..');
  });

  void it('refuses absolute paths outside the root', () => {
    refused(path.join(outside, 'secret.txt'));
    refused('/etc/passwd');
  });

  void it('names the workspace root in the message', () => {
    assert.throws(
      () => ws.resolve('../x'),
      (error: Error) => error.message.includes(root),
    );
  });

  void it('refuses a symlinked file that leaves the root', () => {
    refused('file-link', /symlink/);
  });

  void it('refuses paths through a symlinked directory that leaves the root, existing or not', () => {
    refused('dir-link', /symlink/);
    refused('dir-link/secret.txt', /symlink/);
    refused('dir-link/new/deeper.txt', /symlink/);
  });

  void it('refuses a dangling symlink whose target is outside', () => {
    refused('dangling-out', /outside the workspace/);
  });

  void it('follows symlinks that stay inside, to the real path', () => {
    assert.equal(ws.resolve('src-link/a.ts').rel, 'src/a.ts');
    assert.equal(ws.resolve('dangling-in').rel, 'src/new.ts');
  });

  void it('refuses .git internals', () => {
    refused('.git/config', /\.git/);
    refused('.git', /\.git/);
  });

  void it('accepts absolute paths spelled through a symlinked root', async () => {
    const alias = path.join(base, 'alias');
    await symlink(root, alias);
    const viaAlias = new Workspace(alias);
    assert.equal(viaAlias.root, root);
    assert.equal(viaAlias.resolve(path.join(alias, 'src', 'a.ts')).rel, 'src/a.ts');
  });

  void it('touches nothing outside when refusing', async () => {
    for (const p of ['dir-link/new.txt', '../outside/x', 'dangling-out']) {
      assert.throws(() => ws.resolve(p), ToolError);
    }
    assert.deepEqual((await readdir(outside)).sort(), ['secret.txt']);
  });
});
