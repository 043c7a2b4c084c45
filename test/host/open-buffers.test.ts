// Open documents are the truth (SPEC §7): the file tools read a dirty buffer instead of the disk,
// change it through the editor instead of writing behind it, and never write a file that another
// process's editor holds dirty. The editor here is a stand-in for the buffer API the host asks;
// the real VS Code case is in test/extension-host/cases.ts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sha256 } from '../../host/runtime/ids.js';
import { StaleBaseError, ToolError, type ToolContext } from '../../host/runtime/tool.js';
import {
  deleteFileTool,
  editFileTool,
  readFileTool,
  writeFileTool,
} from '../../host/tools/files.js';
import {
  BufferHeldError,
  heldElsewhere,
  publishDirty,
  registryBuffers,
  registryDir,
  type BufferApply,
  type OpenBuffers,
} from '../../host/tools/open-buffers.js';
import { Workspace } from '../../host/tools/workspace.js';

let base: string;
let root: string;

beforeEach(async () => {
  base = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'airlock-buffers-')));
  root = path.join(base, 'root');
  await mkdir(path.join(root, 'src'), { recursive: true });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const file = (rel: string) => path.join(root, rel);
const onDisk = (rel: string) => readFile(file(rel), 'utf8');
const hashOf = (text: string) => sha256(Buffer.from(text, 'utf8'));

function ctx(baseSha256?: string | null): ToolContext {
  return {
    runId: 'r',
    callId: 'c',
    approval: baseSha256 === undefined ? null : { approvalId: 'apr_test', baseSha256 },
    signal: new AbortController().signal,
    forwarded: {},
    reportUsage: () => undefined,
    visible: () => true,
  };
}

/** An editor with open documents: path → text while dirty. Records what it was asked to do. */
class Editor implements OpenBuffers {
  readonly dirty = new Map<string, string>();
  readonly applied: { rel: string; text: string }[] = [];
  /** Set to make the next apply find the document changed or saved meanwhile. */
  next: BufferApply['status'] | undefined;

  state(rel: string) {
    return this.dirty.has(rel) ? ('open' as const) : ('none' as const);
  }
  read(rel: string) {
    return Promise.resolve(this.dirty.get(rel) ?? null);
  }
  apply(rel: string, expected: string, text: string): Promise<BufferApply> {
    const status = this.next ?? (this.dirty.get(rel) === expected ? 'applied' : 'changed');
    this.next = undefined;
    if (status === 'clean') this.dirty.delete(rel);
    if (status === 'applied') {
      this.applied.push({ rel, text });
      this.dirty.set(rel, text);
    }
    return Promise.resolve({ status });
  }
}

void describe('a file open with unsaved changes', () => {
  let editor: Editor;
  let ws: Workspace;
  beforeEach(async () => {
    await writeFile(file('src/greet.js'), 'hello wrold\n');
    editor = new Editor();
    editor.dirty.set('src/greet.js', '// typed, not saved\nhello wrold\n');
    ws = new Workspace(root, editor);
  });

  void it('is what the diff is computed against, and the card says so', async () => {
    const edit = editFileTool(ws);
    const input = { path: 'src/greet.js', old_string: 'wrold', new_string: 'world' };
    const preview = await edit.preview?.(input);
    assert.equal(preview?.unsaved, true);
    assert.match(preview?.diff ?? '', /^ \/\/ typed, not saved$/m);
    assert.equal(preview?.base_sha256, hashOf('// typed, not saved\nhello wrold\n'));
    const proposal = await edit.proposal?.(input);
    assert.equal(proposal?.before, '// typed, not saved\nhello wrold\n');
    assert.equal(proposal?.after, '// typed, not saved\nhello world\n');
  });

  void it('is what read_file returns to the model', async () => {
    const text = await readFileTool(ws).handler({ path: 'src/greet.js' }, ctx());
    assert.equal(text, '// typed, not saved\nhello wrold\n');
  });

  void it('receives the approved edit in the editor; the disk is not written', async () => {
    const edit = editFileTool(ws);
    const input = { path: 'src/greet.js', old_string: 'wrold', new_string: 'world' };
    const preview = await edit.preview?.(input);
    const result = await edit.handler(input, ctx(preview?.base_sha256));
    assert.match(String(result), /Edited src\/greet.js in the open editor/);
    assert.deepEqual(editor.applied, [
      { rel: 'src/greet.js', text: '// typed, not saved\nhello world\n' },
    ]);
    assert.equal(await onDisk('src/greet.js'), 'hello wrold\n');
  });

  void it('turns the gate stale when the buffer changed after the diff was shown', async () => {
    const write = writeFileTool(ws);
    const input = { path: 'src/greet.js', content: 'replaced\n' };
    const preview = await write.preview?.(input);
    editor.dirty.set('src/greet.js', '// typed more\nhello wrold\n');
    await assert.rejects(
      Promise.resolve(write.handler(input, ctx(preview?.base_sha256))),
      StaleBaseError,
    );
    assert.deepEqual(editor.applied, []);
    assert.equal(await onDisk('src/greet.js'), 'hello wrold\n');
  });

  void it('turns stale when the buffer changes between reading and applying', async () => {
    const write = writeFileTool(ws);
    const input = { path: 'src/greet.js', content: 'replaced\n' };
    const preview = await write.preview?.(input);
    editor.next = 'changed';
    await assert.rejects(
      Promise.resolve(write.handler(input, ctx(preview?.base_sha256))),
      StaleBaseError,
    );
    assert.equal(await onDisk('src/greet.js'), 'hello wrold\n');
  });

  void it('goes to the disk when the developer saved the buffer just before', async () => {
    const write = writeFileTool(ws);
    const input = { path: 'src/greet.js', content: 'replaced\n' };
    const preview = await write.preview?.(input);
    // Saved: the disk now holds what the diff was computed against, and the buffer is clean.
    await writeFile(file('src/greet.js'), '// typed, not saved\nhello wrold\n');
    editor.next = 'clean';
    const result = await write.handler(input, ctx(preview?.base_sha256));
    assert.match(String(result), /^Wrote src\/greet.js \(/);
    assert.equal(await onDisk('src/greet.js'), 'replaced\n');
  });

  void it('is bound like a file on disk: an open buffer over 16 MB is refused', async () => {
    editor.dirty.set('src/greet.js', 'x'.repeat(16 * 1024 * 1024 + 1));
    await assert.rejects(
      Promise.resolve(writeFileTool(ws).preview?.({ path: 'src/greet.js', content: 'y' })),
      (error: unknown) =>
        error instanceof ToolError && /16777217 bytes; Airlock writes/.test(error.message),
    );
  });

  void it('is never deleted: the gate is asked again, the file stays', async () => {
    const del = deleteFileTool(ws);
    const preview = await del.preview?.({ path: 'src/greet.js' });
    await assert.rejects(
      Promise.resolve(del.handler({ path: 'src/greet.js' }, ctx(preview?.base_sha256))),
      (error: unknown) =>
        error instanceof BufferHeldError && /unsaved changes in the editor/.test(error.message),
    );
    assert.equal(await onDisk('src/greet.js'), 'hello wrold\n');
  });
});

void describe('a file held dirty by another process', () => {
  let holder: ChildProcess;
  beforeEach(async () => {
    await writeFile(file('src/greet.js'), 'hello wrold\n');
    holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  });
  afterEach(() => {
    holder.kill('SIGKILL');
  });

  async function listAs(pid: number, db: string, paths: string[]) {
    await mkdir(registryDir(db), { recursive: true });
    await writeFile(
      path.join(registryDir(db), `${pid}.json`),
      JSON.stringify({ pid, workspace: root, paths }),
    );
  }

  void it('is not written by the CLI: the gate is asked again with the reason', async () => {
    const db = path.join(base, 'runs.db');
    await listAs(holder.pid ?? 0, db, ['src/greet.js']);
    const ws = new Workspace(root, registryBuffers(db, root));
    const edit = editFileTool(ws);
    const input = { path: 'src/greet.js', old_string: 'wrold', new_string: 'world' };
    await assert.rejects(
      Promise.resolve(edit.handler(input, ctx(hashOf('hello wrold\n')))),
      (error: unknown) =>
        error instanceof BufferHeldError &&
        /has unsaved changes in a VS Code window; nothing was written/.test(error.message),
    );
    assert.equal(await onDisk('src/greet.js'), 'hello wrold\n');
  });

  void it('is free again once that process is gone', async () => {
    const db = path.join(base, 'runs.db');
    await listAs(holder.pid ?? 0, db, ['src/greet.js']);
    assert.deepEqual([...heldElsewhere(db, root)], ['src/greet.js']);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.deepEqual([...heldElsewhere(db, root)], []);
    const edit = editFileTool(new Workspace(root, registryBuffers(db, root)));
    const input = { path: 'src/greet.js', old_string: 'wrold', new_string: 'world' };
    await edit.handler(input, ctx(hashOf('hello wrold\n')));
    assert.equal(await onDisk('src/greet.js'), 'hello world\n');
  });

  void it("lists this process's own dirty paths privately, and removes the entry when clean", async () => {
    const db = path.join(base, 'runs.db');
    publishDirty(db, root, ['src/greet.js']);
    const entry = path.join(registryDir(db), `${process.pid}.json`);
    assert.equal((await stat(entry)).mode & 0o777, 0o600);
    // Its own entry never holds its own writes (it changes its buffers instead).
    assert.deepEqual([...heldElsewhere(db, root)], []);
    publishDirty(db, root, []);
    assert.deepEqual(await readdir(registryDir(db)), []);
  });
});

void describe('a write of the content the file already holds', () => {
  void it('does not ask; any other content asks', async () => {
    await writeFile(file('src/a.txt'), 'same\n');
    const write = writeFileTool(new Workspace(root));
    const asks = (input: { path: string; content: string }) =>
      typeof write.requiresApproval === 'function' ? write.requiresApproval(input) : undefined;
    assert.equal(await asks({ path: 'src/a.txt', content: 'same\n' }), false);
    assert.equal(await asks({ path: 'src/a.txt', content: 'other\n' }), true);
    assert.equal(await asks({ path: 'src/new.txt', content: 'same\n' }), true);
  });

  void it('writes nothing when the file changed between the check and the write', async () => {
    await writeFile(file('src/a.txt'), 'same\n');
    const write = writeFileTool(new Workspace(root));
    const input = { path: 'src/a.txt', content: 'same\n' };
    assert.equal(
      typeof write.requiresApproval === 'function' && (await write.requiresApproval(input)),
      false,
    );
    await writeFile(file('src/a.txt'), 'changed by someone\n');
    await assert.rejects(
      Promise.resolve(write.handler(input, ctx())),
      (error: unknown) => error instanceof ToolError && /changed while Airlock/.test(error.message),
    );
    assert.equal(await onDisk('src/a.txt'), 'changed by someone\n');
  });
});
