// The built-in file and question tools against real temp directories: confinement, exact edits,
// previews, idempotent re-runs, stale bases, and suspend/resume of the question tools.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync, truncateSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sha256 } from '../../host/runtime/ids.js';
import { SuspendSignal, withSuspendScope } from '../../host/runtime/suspend.js';
import { StaleBaseError, ToolError, type ToolContext } from '../../host/runtime/tool.js';
import {
  deleteFileTool,
  editFileTool,
  fileTools,
  listFilesTool,
  readFileTool,
  searchTextTool,
  writeFileTool,
} from '../../host/tools/files.js';
import {
  askUserMultiTool,
  askUserTool,
  confirmTool,
  interactionTools,
} from '../../host/tools/interact.js';
import { Workspace } from '../../host/tools/workspace.js';

let base: string;
let root: string;
let outside: string;
let ws: Workspace;

beforeEach(async () => {
  base = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'airlock-files-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'src'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'secret\n');
  ws = new Workspace(root);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

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

const file = (rel: string): string => path.join(root, rel);
const put = (rel: string, content: string): Promise<void> => writeFile(file(rel), content);
const read = (rel: string): Promise<string> => readFile(file(rel), 'utf8');
const hashOf = (content: string): string => sha256(Buffer.from(content, 'utf8'));

async function rejectsWith(
  promise: unknown,
  kind: typeof ToolError | typeof StaleBaseError,
  pattern?: RegExp,
) {
  await assert.rejects(Promise.resolve(promise), (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

void describe('fileTools', () => {
  void it('builds the six tools with the spec parameter names and gates', () => {
    const tools = fileTools(root);
    const summary = tools.map((t) => [
      t.name,
      typeof t.requiresApproval === 'function' ? 'per call' : t.requiresApproval,
      Object.keys((t.jsonSchema.properties ?? {}) as Record<string, unknown>),
    ]);
    assert.deepEqual(summary, [
      ['read_file', false, ['path']],
      ['list_files', false, ['path', 'glob']],
      ['search_text', false, ['query', 'glob']],
      // Asks unless the file already holds exactly that content (a no-op does not ask).
      ['write_file', 'per call', ['path', 'content']],
      ['edit_file', true, ['path', 'old_string', 'new_string']],
      ['delete_file', true, ['path']],
    ]);
    for (const t of tools) {
      const props = t.jsonSchema.properties as Record<string, { description?: string }>;
      for (const [key, prop] of Object.entries(props)) {
        assert.ok(prop.description, `${t.name}.${key} has a description`);
      }
    }
  });

  void it('gives approval prompts and normalized policy paths', async () => {
    await mkdir(file('notes'));
    await put('src/a.ts', 'x\n');
    await put('notes/old.md', 'old\n');
    const edit = editFileTool(ws);
    const write = writeFileTool(ws);
    const del = deleteFileTool(ws);
    const prompt = (p: unknown, input: never) => (typeof p === 'function' ? p(input) : p);
    assert.equal(
      await prompt(edit.approvalPrompt, {
        path: 'src/a.ts',
        old_string: 'x',
        new_string: 'y',
      } as never),
      'Edit src/a.ts?',
    );
    assert.equal(
      await prompt(write.approvalPrompt, { path: 'docs/x.md', content: '' } as never),
      'Create docs/x.md?',
    );
    assert.equal(
      await prompt(write.approvalPrompt, { path: 'src/a.ts', content: '' } as never),
      'Overwrite src/a.ts?',
    );
    assert.equal(
      await prompt(del.approvalPrompt, { path: './notes/old.md' } as never),
      'Delete notes/old.md?',
    );
    assert.equal(del.policyPath?.({ path: path.join(root, 'notes', 'old.md') }), 'notes/old.md');
  });
});

void describe('confinement', () => {
  beforeEach(async () => {
    await symlink(path.join(outside, 'secret.txt'), file('file-link'));
    await symlink(outside, file('dir-link'));
  });

  void it('refuses reads outside the workspace', async () => {
    const tool = readFileTool(ws);
    await rejectsWith(
      tool.handler({ path: '../outside/secret.txt' }, ctx()),
      ToolError,
      /inside the workspace/,
    );
    await rejectsWith(tool.handler({ path: path.join(outside, 'secret.txt') }, ctx()), ToolError);
    await rejectsWith(tool.handler({ path: 'file-link' }, ctx()), ToolError, /symlink/);
    await rejectsWith(tool.handler({ path: 'dir-link/secret.txt' }, ctx()), ToolError, /symlink/);
  });

  void it('refuses writes, edits and deletes that leave the workspace and touches nothing outside', async () => {
    const write = writeFileTool(ws);
    const edit = editFileTool(ws);
    const del = deleteFileTool(ws);
    await rejectsWith(write.handler({ path: 'dir-link/new.txt', content: 'x' }, ctx()), ToolError);
    await rejectsWith(write.handler({ path: 'file-link', content: 'pwned' }, ctx()), ToolError);
    await rejectsWith(
      write.handler({ path: '../outside/new.txt', content: 'x' }, ctx()),
      ToolError,
    );
    await rejectsWith(
      edit.handler({ path: 'file-link', old_string: 'secret', new_string: 'x' }, ctx()),
      ToolError,
    );
    await rejectsWith(del.handler({ path: 'dir-link/secret.txt' }, ctx()), ToolError);
    await rejectsWith(
      Promise.resolve(write.preview?.({ path: 'dir-link/new.txt', content: 'x' })),
      ToolError,
    );
    assert.deepEqual(await readdir(outside), ['secret.txt']);
    assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'secret\n');
  });
});

void describe('read_file, list_files, search_text', () => {
  beforeEach(async () => {
    await mkdir(file('node_modules/pkg'), { recursive: true });
    await mkdir(file('.git'), { recursive: true });
    await mkdir(file('docs'));
    await put('src/a.ts', 'export const a = 1;\nconst needle = 2;\n');
    await put('src/b.js', 'needle();\n');
    await put('docs/readme.md', '# needle\n');
    await put('node_modules/pkg/index.js', 'needle\n');
    await put('.git/config', 'needle\n');
  });

  void it('reads a file and reports a missing one', async () => {
    const tool = readFileTool(ws);
    assert.equal(
      await tool.handler({ path: 'src/a.ts' }, ctx()),
      'export const a = 1;\nconst needle = 2;\n',
    );
    await rejectsWith(tool.handler({ path: 'src/none.ts' }, ctx()), ToolError, /does not exist/);
    await rejectsWith(tool.handler({ path: '.git/config' }, ctx()), ToolError, /\.git/);
  });

  void it('lists recursively, skipping .git and node_modules, with a glob', async () => {
    const tool = listFilesTool(ws);
    assert.equal(
      await tool.handler({}, ctx()),
      ['docs/', 'docs/readme.md', 'src/', 'src/a.ts', 'src/b.js'].join('\n'),
    );
    assert.equal(await tool.handler({ glob: '**/*.ts' }, ctx()), 'src/a.ts');
    // One meaning of a glob everywhere (host/runtime/glob.ts): `*` stays in one folder.
    assert.equal(await tool.handler({ glob: '*.md' }, ctx()), 'No files match *.md in ..');
    assert.equal(await tool.handler({ glob: '**/*.md' }, ctx()), 'docs/readme.md');
    assert.equal(await tool.handler({ path: 'src', glob: '*.js' }, ctx()), 'src/b.js');
  });

  void it('caps a long listing with a note', async () => {
    await mkdir(file('many'));
    await Promise.all(Array.from({ length: 520 }, (_, i) => put(`many/f${i}.txt`, '')));
    const out = String(await listFilesTool(ws).handler({ path: 'many' }, ctx()));
    const lines = out.split('\n');
    assert.equal(lines.length, 501);
    assert.match(lines[500] ?? '', /capped at 500 entries/);
  });

  void it('searches plain substrings as path:line: text, skipping .git and node_modules', async () => {
    const tool = searchTextTool(ws);
    const out = String(await tool.handler({ query: 'needle' }, ctx()))
      .split('\n')
      .sort();
    assert.deepEqual(out, [
      'docs/readme.md:1: # needle',
      'src/a.ts:2: const needle = 2;',
      'src/b.js:1: needle();',
    ]);
    assert.equal(
      await tool.handler({ query: 'needle', glob: '**/*.ts' }, ctx()),
      'src/a.ts:2: const needle = 2;',
    );
    assert.equal(await tool.handler({ query: 'needle(' }, ctx()), 'src/b.js:1: needle();');
    assert.match(String(await tool.handler({ query: 'absent' }, ctx())), /No matches/);
  });
});

void describe('edit_file', () => {
  const original = 'one\ntwo\nthree\ntwo\n';
  beforeEach(() => put('src/a.ts', original));

  void it('replaces exactly one occurrence', async () => {
    const tool = editFileTool(ws);
    const result = await tool.handler(
      { path: 'src/a.ts', old_string: 'one\n', new_string: 'uno\n$&\n' },
      ctx(),
    );
    assert.equal(result, 'Edited src/a.ts (+2 -1 lines)');
    assert.equal(await read('src/a.ts'), 'uno\n$&\ntwo\nthree\ntwo\n');
  });

  void it('refuses an ambiguous old_string and leaves the file alone', async () => {
    const tool = editFileTool(ws);
    await rejectsWith(
      tool.handler({ path: 'src/a.ts', old_string: 'two', new_string: 'x' }, ctx()),
      ToolError,
      /ambiguous.*more surrounding context/,
    );
    await rejectsWith(
      Promise.resolve(tool.preview?.({ path: 'src/a.ts', old_string: 'two', new_string: 'x' })),
      ToolError,
      /ambiguous/,
    );
    assert.equal(await read('src/a.ts'), original);
  });

  void it('refuses a missing or empty old_string', async () => {
    const tool = editFileTool(ws);
    await rejectsWith(
      tool.handler({ path: 'src/a.ts', old_string: 'four', new_string: 'x' }, ctx()),
      ToolError,
      /not found/,
    );
    await rejectsWith(
      Promise.resolve(tool.preview?.({ path: 'src/a.ts', old_string: 'four', new_string: 'x' })),
      ToolError,
      /not found/,
    );
    await rejectsWith(
      tool.handler({ path: 'src/a.ts', old_string: '', new_string: 'x' }, ctx()),
      ToolError,
      /empty/,
    );
    await rejectsWith(
      tool.handler({ path: 'src/none.ts', old_string: 'a', new_string: 'b' }, ctx()),
      ToolError,
      /does not exist/,
    );
    assert.equal(await read('src/a.ts'), original);
  });

  void it('runs with a matching approved base and keeps the file mode', async () => {
    await chmod(file('src/a.ts'), 0o755);
    const tool = editFileTool(ws);
    await tool.handler(
      { path: 'src/a.ts', old_string: 'three', new_string: 'drei' },
      ctx(hashOf(original)),
    );
    assert.equal(await read('src/a.ts'), 'one\ntwo\ndrei\ntwo\n');
    assert.equal((await stat(file('src/a.ts'))).mode & 0o777, 0o755);
    assert.deepEqual((await readdir(file('src'))).sort(), ['a.ts'], 'no temp file left behind');
  });

  void it('throws StaleBaseError and writes nothing when the file changed since approval', async () => {
    const tool = editFileTool(ws);
    const changed = 'one\ntwo\nthree\ntwo\nfour\n';
    await put('src/a.ts', changed);
    await rejectsWith(
      tool.handler(
        { path: 'src/a.ts', old_string: 'three', new_string: 'drei' },
        ctx(hashOf(original)),
      ),
      StaleBaseError,
    );
    assert.equal(await read('src/a.ts'), changed);
  });

  void it('recognizes an approved edit that was already applied (re-run after a crash)', async () => {
    const tool = editFileTool(ws);
    const input = { path: 'src/a.ts', old_string: 'three', new_string: 'drei' };
    await tool.handler(input, ctx(hashOf(original)));
    const before = await stat(file('src/a.ts'));
    const again = await tool.handler(input, ctx(hashOf(original)));
    assert.match(String(again), /already has this edit/);
    const after = await stat(file('src/a.ts'));
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  void it('matches LF old_string in a CRLF file', async () => {
    await put('src/crlf.txt', 'a\r\nb\r\nc\r\n');
    await editFileTool(ws).handler(
      { path: 'src/crlf.txt', old_string: 'a\nb', new_string: 'x\ny' },
      ctx(),
    );
    assert.equal(await read('src/crlf.txt'), 'x\r\ny\r\nc\r\n');
  });
});

void describe('previews', () => {
  void it('edit: unified diff with a/ b/ headers, base hash and sizes', async () => {
    await put('src/a.ts', 'one\ntwo\n');
    const p = await editFileTool(ws).preview?.({
      path: 'src/a.ts',
      old_string: 'two',
      new_string: 'deux',
    });
    assert.ok(p);
    assert.equal(p.kind, 'edit');
    assert.equal(p.path, 'src/a.ts');
    assert.equal(p.base_sha256, hashOf('one\ntwo\n'));
    assert.equal(p.before_bytes, 8);
    assert.equal(p.after_bytes, 9);
    assert.match(p.diff, /^--- a\/src\/a\.ts\n\+\+\+ b\/src\/a\.ts\n@@ /);
    assert.match(p.diff, /\n-two\n\+deux\n/);
    assert.match(p.diff, /\n one\n/);
  });

  void it('create: null base and every line added', async () => {
    const p = await writeFileTool(ws).preview?.({ path: 'docs/x.md', content: 'a\nb\n' });
    assert.ok(p);
    assert.equal(p.kind, 'create');
    assert.equal(p.path, 'docs/x.md');
    assert.equal(p.base_sha256, null);
    assert.equal(p.before_bytes, 0);
    assert.equal(p.after_bytes, 4);
    assert.match(p.diff, /--- a\/docs\/x\.md\n\+\+\+ b\/docs\/x\.md\n@@ -0,0 \+1,2 @@\n\+a\n\+b\n/);
  });

  void it('write over an existing file is an edit', async () => {
    await put('src/a.ts', 'old\n');
    const p = await writeFileTool(ws).preview?.({ path: 'src/a.ts', content: 'new\n' });
    assert.equal(p?.kind, 'edit');
    assert.equal(p?.base_sha256, hashOf('old\n'));
    assert.match(p?.diff ?? '', /-old\n\+new\n/);
  });

  void it('delete: whole file removed, after_bytes 0; missing file is a tool error', async () => {
    await put('src/a.ts', 'x\ny\n');
    const tool = deleteFileTool(ws);
    const p = await tool.preview?.({ path: 'src/a.ts' });
    assert.ok(p);
    assert.equal(p.kind, 'delete');
    assert.equal(p.base_sha256, hashOf('x\ny\n'));
    assert.equal(p.before_bytes, 4);
    assert.equal(p.after_bytes, 0);
    assert.match(p.diff, /@@ -1,2 \+0,0 @@\n-x\n-y\n/);
    await rejectsWith(
      Promise.resolve(tool.preview?.({ path: 'src/none.ts' })),
      ToolError,
      /does not exist/,
    );
  });

  void it('a file over 16 MB is refused by every change tool, without reading it', async () => {
    const big = file('huge.bin');
    await writeFile(big, '');
    truncateSync(big, 1024 * 1024 * 1024); // sparse: 1 GB that takes no disk
    // One at a time: a refusal created before the previous one was awaited is an unhandled
    // rejection whenever it settles first (it did on a loaded machine).
    for (const preview of [
      () => writeFileTool(ws).preview?.({ path: 'huge.bin', content: 'x' }),
      () => editFileTool(ws).preview?.({ path: 'huge.bin', old_string: 'a', new_string: 'b' }),
      () => deleteFileTool(ws).preview?.({ path: 'huge.bin' }),
    ]) {
      await rejectsWith(Promise.resolve(preview()), ToolError, /1073741824 bytes; Airlock writes/);
    }
  });
  void it('a FIFO is refused by every change tool, without waiting for a writer', async () => {
    // A FIFO that nobody writes: a read that opened it blocking would never return (and, read
    // in place, would stop the host's event loop).
    execFileSync('mkfifo', [file('pipe')]);
    for (const preview of [
      () => writeFileTool(ws).preview?.({ path: 'pipe', content: 'x' }),
      () => editFileTool(ws).preview?.({ path: 'pipe', old_string: 'a', new_string: 'b' }),
      () => deleteFileTool(ws).preview?.({ path: 'pipe' }),
    ]) {
      await rejectsWith(Promise.resolve(preview()), ToolError, /pipe is not a regular file/);
    }
    await rejectsWith(
      writeFileTool(ws).handler({ path: 'pipe', content: 'x' }, ctx()),
      ToolError,
      /pipe is not a regular file/,
    );
  });
});

void describe('write_file', () => {
  void it('creates parent folders', async () => {
    const result = await writeFileTool(ws).handler(
      { path: 'docs/deep/x.md', content: 'hi\n' },
      ctx(null),
    );
    assert.equal(result, 'Created docs/deep/x.md (1 line)');
    assert.equal(await read('docs/deep/x.md'), 'hi\n');
    assert.deepEqual(await readdir(file('docs/deep')), ['x.md']);
  });

  void it('does not write when the file already holds the content, even with an older approved base', async () => {
    await put('src/a.ts', 'same\n');
    const before = await stat(file('src/a.ts'));
    const tool = writeFileTool(ws);
    for (const c of [ctx(), ctx(null), ctx(hashOf('older\n'))]) {
      const result = await tool.handler({ path: 'src/a.ts', content: 'same\n' }, c);
      assert.match(String(result), /already holds this content; nothing was written/);
    }
    const after = await stat(file('src/a.ts'));
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  void it('throws StaleBaseError when the file changed or appeared since approval', async () => {
    const tool = writeFileTool(ws);
    await put('src/a.ts', 'changed\n');
    await rejectsWith(
      tool.handler({ path: 'src/a.ts', content: 'new\n' }, ctx(hashOf('approved\n'))),
      StaleBaseError,
    );
    await rejectsWith(
      tool.handler({ path: 'src/a.ts', content: 'new\n' }, ctx(null)),
      StaleBaseError,
    );
    assert.equal(await read('src/a.ts'), 'changed\n');
  });

  void it('overwrites with a matching base', async () => {
    await put('src/a.ts', 'a\nb\n');
    const result = await writeFileTool(ws).handler(
      { path: 'src/a.ts', content: 'a\nc\nd\n' },
      ctx(hashOf('a\nb\n')),
    );
    assert.equal(result, 'Wrote src/a.ts (+2 -1 lines)');
    assert.equal(await read('src/a.ts'), 'a\nc\nd\n');
  });
});

void describe('delete_file', () => {
  void it('deletes, then reports an idempotent re-run', async () => {
    await put('src/old.md', 'bye\n');
    const tool = deleteFileTool(ws);
    assert.equal(
      await tool.handler({ path: 'src/old.md' }, ctx(hashOf('bye\n'))),
      'Deleted src/old.md',
    );
    await assert.rejects(stat(file('src/old.md')), /ENOENT/);
    assert.match(
      String(await tool.handler({ path: 'src/old.md' }, ctx(hashOf('bye\n')))),
      /already deleted/,
    );
  });

  void it('throws StaleBaseError when the file changed since approval', async () => {
    await put('src/old.md', 'edited meanwhile\n');
    await rejectsWith(
      deleteFileTool(ws).handler({ path: 'src/old.md' }, ctx(hashOf('bye\n'))),
      StaleBaseError,
    );
    assert.equal(await read('src/old.md'), 'edited meanwhile\n');
  });

  void it('refuses a directory', async () => {
    await rejectsWith(deleteFileTool(ws).handler({ path: 'src' }, ctx()), ToolError, /directory/);
    await rejectsWith(
      Promise.resolve(deleteFileTool(ws).preview?.({ path: 'src' })),
      ToolError,
      /directory/,
    );
  });
});

void describe('interaction tools', () => {
  /** Runs the handler once without answers and returns the suspend it raised. */
  async function suspended(run: () => Promise<unknown>): Promise<SuspendSignal> {
    try {
      await withSuspendScope('r', 'c', {}, run);
    } catch (error) {
      if (error instanceof SuspendSignal) return error;
      throw error;
    }
    assert.fail('expected the handler to suspend');
  }

  void it('lists the three tools', () => {
    assert.deepEqual(
      interactionTools().map((t) => [t.name, t.requiresApproval]),
      [
        ['ask_user', false],
        ['ask_user_multi', false],
        ['confirm', false],
      ],
    );
  });

  void it('ask_user with options suspends with them as suggestions; any answer is the result', async () => {
    const tool = askUserTool();
    const input = { question: 'Which license?', options: ['MIT', 'Apache-2.0'] };
    const signal = await suspended(() => Promise.resolve(tool.handler(input, ctx())));
    assert.match(signal.interaction.interactionId, /^int_/);
    assert.equal(signal.interaction.prompt, 'Which license?');
    assert.deepEqual(signal.interaction.questions, [
      { id: 'answer', question: 'Which license?', options: ['MIT', 'Apache-2.0'] },
    ]);
    // Suggestions (SPEC §2): the schema takes any text, the options travel with the question.
    assert.equal(signal.interaction.schema.type, 'string');
    assert.equal(signal.interaction.schema.enum, undefined);
    for (const answer of ['MIT', 'BSD-3-Clause, as upstream']) {
      const answers = { [signal.interaction.interactionId]: answer };
      assert.equal(
        await withSuspendScope('r', 'c', answers, () => tool.handler(input, ctx())),
        answer,
      );
    }
  });

  void it('ask_user without options takes free text', async () => {
    const tool = askUserTool();
    const signal = await suspended(() =>
      Promise.resolve(tool.handler({ question: 'Name?' }, ctx())),
    );
    assert.equal(signal.interaction.schema.type, 'string');
    assert.equal(signal.interaction.schema.enum, undefined);
    const answers = { [signal.interaction.interactionId]: 'Ada' };
    assert.equal(
      await withSuspendScope('r', 'c', answers, () => tool.handler({ question: 'Name?' }, ctx())),
      'Ada',
    );
  });

  void it('ask_user_multi suspends with an object schema and returns the answers as JSON', async () => {
    const tool = askUserMultiTool();
    const input = {
      questions: [
        { id: 'name', question: 'Project name?' },
        { id: 'lang', question: 'Language?', options: ['ts', 'js'] },
      ],
    };
    const signal = await suspended(() => Promise.resolve(tool.handler(input, ctx())));
    const schema = signal.interaction.schema as {
      type: string;
      properties: Record<string, { enum?: string[] }>;
      required: string[];
    };
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.required.sort(), ['lang', 'name']);
    assert.deepEqual(schema.properties.lang?.enum, ['ts', 'js']);
    assert.equal(signal.interaction.questions.length, 2);
    const answers = { [signal.interaction.interactionId]: { name: 'airlock', lang: 'ts' } };
    const result = await withSuspendScope('r', 'c', answers, () => tool.handler(input, ctx()));
    assert.deepEqual(JSON.parse(String(result)), { name: 'airlock', lang: 'ts' });
  });

  void it('confirm suspends with a boolean schema and answers yes/no', async () => {
    const tool = confirmTool();
    const input = { question: 'Proceed?' };
    const signal = await suspended(() => Promise.resolve(tool.handler(input, ctx())));
    assert.equal(signal.interaction.schema.type, 'boolean');
    const id = signal.interaction.interactionId;
    assert.equal(
      await withSuspendScope('r', 'c', { [id]: true }, () => tool.handler(input, ctx())),
      'yes',
    );
    assert.equal(
      await withSuspendScope('r', 'c', { [id]: false }, () => tool.handler(input, ctx())),
      'no',
    );
  });
});

void describe('list_files and search_text globs: the meaning policy rules give them', () => {
  beforeEach(async () => {
    await mkdir(file('docs/guide'), { recursive: true });
    await put('notes.md', 'needle\n');
    await put('docs/readme.md', '# needle\n');
    await put('docs/guide/intro.md', 'needle\n');
  });

  void it('match the whole path: *.md at the top only, **/*.md at any depth (host/runtime/glob.ts)', async () => {
    const list = listFilesTool(ws);
    assert.equal(await list.handler({ glob: '*.md' }, ctx()), 'notes.md');
    assert.equal(
      await list.handler({ glob: '**/*.md' }, ctx()),
      ['docs/guide/intro.md', 'docs/readme.md', 'notes.md'].join('\n'),
    );
    // Below a listed folder the glob also matches the path from that folder.
    assert.equal(await list.handler({ path: 'docs', glob: '*.md' }, ctx()), 'docs/readme.md');
    const search = searchTextTool(ws);
    assert.equal(
      await search.handler({ query: 'needle', glob: '*.md' }, ctx()),
      'notes.md:1: needle',
    );
    const inDocs = String(await search.handler({ query: 'needle', glob: 'docs/**' }, ctx()));
    assert.deepEqual(inDocs.split('\n').sort(), [
      'docs/guide/intro.md:1: needle',
      'docs/readme.md:1: # needle',
    ]);
  });
});
