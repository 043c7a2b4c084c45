// Who a decision names: the setting (or --approver) > `git config user.name` in the workspace >
// the OS user; untrusted names are cleaned text, and a missing or failing git is no name.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import pkg from '../../package.json';
import {
  cleanApproverName,
  findExecutable,
  gitUserName,
  MAX_APPROVER_LENGTH,
  resolveApprover,
} from '../../host/approver.js';

const GIT = findExecutable('git');
const noGit = GIT ? false : 'git is not installed on PATH: the git user.name cases are skipped';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-approver-')));
  dirs.push(dir);
  return dir;
}

/** A git repository whose own config names `name` (or no one), isolated from ~/.gitconfig. */
function repo(name?: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(home, '.gitconfig'),
  };
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  execFileSync(GIT!, ['init', '-q'], { cwd: ws, env });
  if (name !== undefined) execFileSync(GIT!, ['config', 'user.name', name], { cwd: ws, env });
  return { dir: ws, env };
}

void describe('approver names are cleaned text', () => {
  void it('drops control and format characters, collapses spaces, trims', () => {
    assert.equal(cleanApproverName('  Dana\tReviewer \n'), 'Dana Reviewer');
    assert.equal(cleanApproverName('Dana\u001b[31m Red\u0007'), 'Dana [31m Red');
    assert.equal(cleanApproverName('Dana\u202eREVIEWER\u2028x'), 'Dana REVIEWER x');
    assert.equal(cleanApproverName('Zoë Ångström'), 'Zoë Ångström');
  });

  void it('is no name when empty, blank or not a string', () => {
    for (const raw of ['', '   ', '\n\u0000\t', undefined, null, 42, {}]) {
      assert.equal(cleanApproverName(raw), undefined, JSON.stringify(raw));
    }
  });

  void it(`is cut at ${MAX_APPROVER_LENGTH} characters, never mid-character`, () => {
    assert.equal(cleanApproverName('a'.repeat(500)), 'a'.repeat(MAX_APPROVER_LENGTH));
    const emoji = cleanApproverName('😀'.repeat(150))!;
    assert.equal([...emoji].length, MAX_APPROVER_LENGTH);
    assert.equal(emoji, '😀'.repeat(MAX_APPROVER_LENGTH));
  });
});

void describe('resolution order: explicit > git user.name in the workspace > OS user', () => {
  const osUser = () => 'os-account';

  void it('an explicit name wins, cleaned', async () => {
    assert.equal(
      await resolveApprover({ explicit: ' Pat\u0000 Lead ', workspace: tempDir(), osUser }),
      'Pat Lead',
    );
  });

  void it('a blank explicit name counts as unset', async () => {
    assert.equal(await resolveApprover({ explicit: '  ', osUser }), 'os-account');
  });

  void it('git user.name of the workspace, when set', { skip: noGit }, async () => {
    const { dir, env } = repo('Dana Reviewer');
    assert.equal(await gitUserName(dir, { env }), 'Dana Reviewer');
    assert.equal(await resolveApprover({ workspace: dir, git: { env }, osUser }), 'Dana Reviewer');
    assert.equal(
      await resolveApprover({ explicit: 'Pat', workspace: dir, git: { env }, osUser }),
      'Pat',
    );
  });

  void it(
    'a hostile git user.name is text: control characters stripped, length capped',
    {
      skip: noGit,
    },
    async () => {
      const { dir, env } = repo(`Eve\u001b]0;pwned\u0007\nAdmin ${'x'.repeat(300)}`);
      const name = (await resolveApprover({ workspace: dir, git: { env }, osUser })) ?? '';
      assert.ok(name.startsWith('Eve ]0;pwned Admin x'), name);
      assert.equal(name.length, MAX_APPROVER_LENGTH);
      assert.doesNotMatch(name, /\p{Cc}/u);
    },
  );

  void it('the OS user when the repository names no one', { skip: noGit }, async () => {
    const { dir, env } = repo();
    assert.equal(await gitUserName(dir, { env }), undefined);
    assert.equal(await resolveApprover({ workspace: dir, git: { env }, osUser }), 'os-account');
  });

  void it('the OS user when the folder is not a repository or does not exist', async () => {
    const plain = tempDir();
    const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull };
    assert.equal(await resolveApprover({ workspace: plain, git: { env }, osUser }), 'os-account');
    const gone = path.join(plain, 'missing');
    assert.equal(await gitUserName(gone, { env }), undefined);
    assert.equal(await resolveApprover({ workspace: gone, git: { env }, osUser }), 'os-account');
  });

  void it('the OS user when git is missing or fails', async () => {
    const dir = tempDir();
    const noPath = { ...process.env, PATH: path.join(dir, 'nothing-here') };
    assert.equal(await gitUserName(dir, { env: noPath }), undefined);
    assert.equal(
      await resolveApprover({ workspace: dir, git: { env: noPath }, osUser }),
      'os-account',
    );
    const missing = path.join(dir, 'no-such-git');
    assert.equal(await gitUserName(dir, { git: missing }), undefined);
    // A git that hangs is given up on at the timeout.
    if (process.platform !== 'win32') {
      const slow = path.join(dir, 'slow-git');
      fs.writeFileSync(slow, '#!/bin/sh\nsleep 5\necho Late\n', { mode: 0o755 });
      const started = Date.now();
      assert.equal(await gitUserName(dir, { git: slow, timeoutMs: 200 }), undefined);
      assert.ok(Date.now() - started < 3000, 'the timeout stopped it');
    }
  });

  void it('no name at all when nothing names anyone', async () => {
    assert.equal(await resolveApprover({ osUser: () => undefined }), undefined);
  });

  void it('git is found on PATH, never in the working directory or a relative PATH entry', () => {
    const dir = tempDir();
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'git'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'git.exe'), '');
    const rel = path.relative(process.cwd(), bin);
    assert.equal(findExecutable('git', { PATH: ['', '.', rel].join(path.delimiter) }), undefined);
    assert.equal(findExecutable('git', { PATH: bin }, 'linux'), path.join(bin, 'git'));
    assert.equal(findExecutable('git', { Path: bin }, 'win32'), path.join(bin, 'git.exe'));
  });
});

void describe('the airlock.approverName setting', () => {
  void it('is a user setting (application scope): a repository cannot name someone else', () => {
    const declared = pkg.contributes.configuration.properties as Record<string, unknown>;
    const p = declared['airlock.approverName'] as {
      type: string;
      default: unknown;
      scope: string;
      markdownDescription: string;
    };
    assert.equal(p.type, 'string');
    assert.equal(p.default, '');
    assert.equal(p.scope, 'application');
    assert.match(p.markdownDescription, /User settings only/);
    assert.match(p.markdownDescription, /git config user\.name/);
  });
});
