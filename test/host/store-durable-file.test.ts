// The one module for durable writes (host/store/durable-file.ts), as the file tools use it:
// replaceDurably writes a temp file in the same folder, fsyncs it and renames it over the
// target, keeping the mode it is given, and leaves nothing behind when it fails.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fsyncDirAsync, replaceDurably } from '../../host/store/durable-file.js';
import { tempDir } from '../support/scratch.js';

void describe('replaceDurably', () => {
  void it('replaces the file whole, keeps the mode given, and leaves no temp file', async () => {
    const dir = tempDir('durable');
    const file = path.join(dir, 'run.sh');
    fs.writeFileSync(file, 'old\n');
    fs.chmodSync(file, 0o755);
    await replaceDurably(file, 'new\n', fs.statSync(file).mode & 0o7777);
    assert.equal(fs.readFileSync(file, 'utf8'), 'new\n');
    assert.equal(fs.statSync(file).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(dir), ['run.sh']);
  });

  void it('makes a new file with the mode of any new file (0666 under the umask)', async () => {
    const dir = tempDir('durable-new');
    const file = path.join(dir, 'a.txt');
    await replaceDurably(file, Buffer.from('bytes'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'bytes');
    const umask = process.umask();
    assert.equal(fs.statSync(file).mode & 0o777, 0o666 & ~umask);
  });

  void it('on failure leaves the target as it was and removes its temp file', async () => {
    const dir = tempDir('durable-fail');
    const target = path.join(dir, 'folder');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'x');
    await assert.rejects(replaceDurably(target, 'text'));
    assert.ok(fs.statSync(target).isDirectory());
    assert.deepEqual(fs.readdirSync(dir), ['folder']);
  });

  void it('fsyncDirAsync is best effort: a missing folder is no error', async () => {
    await fsyncDirAsync(path.join(tempDir('durable-dir'), 'missing'));
  });
});
