// The offline demo model run again and again in one workspace through the real CLI
// (`airlock run … --model demo`): every run reads the sample files first and proposes changes
// that fit them, so each one walks through an edit gate, a question and a delete (or create)
// gate, and its closing summary says what happened.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { SAMPLE_FILES } from '../../host/model/demo.js';
import {
  CLI,
  jsonLines,
  outputOf,
  runProcess,
  SAMPLE,
  sandboxEnv,
  type Json,
  type Result,
} from '../support/cli-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

void it("the demo's copies of the sample files are the files sample-workspace/ ships", () => {
  for (const [rel, text] of Object.entries(SAMPLE_FILES)) {
    assert.equal(fs.readFileSync(path.join(SAMPLE, rel), 'utf8'), text, rel);
  }
});

/** What stopped a run: the gates and questions of its last command's events, in order. */
interface Stop {
  runId: string;
  gates: (Json & { type: 'approval'; approval_id: string; tool: string })[];
  questions: (Json & { type: 'interaction'; interaction_id: string })[];
  results: (Json & { tool: string; ok: boolean; output: string })[];
}

function stopOf(r: Result): Stop {
  const events = jsonLines(r.stdout);
  const out = outputOf(r);
  return {
    runId: out.run_id as string,
    gates: events.filter((e) => e.type === 'approval') as Stop['gates'],
    questions: events.filter((e) => e.type === 'interaction') as Stop['questions'],
    results: events.filter((e) => e.type === 'tool_result') as Stop['results'],
  };
}

void describe('the demo, run again in the same workspace', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-demo-')));
  dirs.push(dir);
  const ws = path.join(dir, 'ws');
  fs.cpSync(SAMPLE, ws, { recursive: true });
  const env = sandboxEnv(dir);
  const cli = (...args: string[]): Promise<Result> =>
    runProcess(process.execPath, [CLI, ...args, '--db', path.join(dir, 'airlock.db'), '--json'], {
      cwd: ws,
      env,
    });
  const file = (rel: string): string | null => {
    const p = path.join(ws, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
  };

  /**
   * One demo run approved all the way: it must stop first at an edit gate on src/greet.js (no
   * failed change before it), then at the question, then at the gate on the notes file. Returns
   * the closing summary.
   */
  async function approvedThrough(
    expect: { edit: [string, string]; notes: 'delete_file' | 'write_file' },
    answer: string,
  ): Promise<string> {
    const first = await cli('run', 'start the demo', '--model', 'demo');
    assert.equal(first.code, 3, `the run pauses\n${first.stdout}\n${first.stderr}`);
    const edit = stopOf(first);
    assert.deepEqual(
      edit.results.filter((r) => !r.ok),
      [],
      'nothing failed before the first gate',
    );
    assert.equal(edit.gates.length, 1, 'one gate');
    const gate = edit.gates[0]!;
    assert.equal(gate.tool, 'edit_file', 'the first stop is an edit gate');
    assert.deepEqual(gate.input, {
      path: 'src/greet.js',
      old_string: expect.edit[0],
      new_string: expect.edit[1],
    });

    const second = await cli('resume', edit.runId, '--approve', gate.approval_id);
    assert.equal(second.code, 3, `paused on the question\n${second.stdout}\n${second.stderr}`);
    const ask = stopOf(second);
    assert.deepEqual(
      ask.results.map((r) => [r.tool, r.ok]),
      [['edit_file', true]],
    );
    assert.equal(ask.gates.length, 0);
    assert.equal(ask.questions.length, 1, 'the question');

    const third = await cli(
      'resume',
      edit.runId,
      '--answer',
      ask.questions[0]!.interaction_id,
      JSON.stringify(answer),
    );
    assert.equal(third.code, 3, `paused on the notes\n${third.stdout}\n${third.stderr}`);
    const notes = stopOf(third);
    assert.equal(notes.gates.length, 1);
    assert.equal(notes.gates[0]!.tool, expect.notes);
    assert.equal((notes.gates[0]!.input as Json).path, 'notes/old-todo.md');

    const last = await cli('resume', edit.runId, '--approve', notes.gates[0]!.approval_id);
    assert.equal(last.code, 0, `the run succeeds\n${last.stdout}\n${last.stderr}`);
    const out = outputOf(last);
    assert.equal((out.status as Json).code, 'success');
    assert.deepEqual(
      stopOf(last).results.map((r) => [r.tool, r.ok]),
      [[expect.notes, true]],
    );
    return String(out.output);
  }

  void it('walks through an edit gate, a question and a file gate every time', async () => {
    const one = await approvedThrough(
      { edit: ["'Helo, '", "'Hello, '"], notes: 'delete_file' },
      'Friendly',
    );
    assert.match(file('src/greet.js') ?? '', /'Hello, '/);
    assert.equal(file('notes/old-todo.md'), null, 'run 1 deleted the notes');
    assert.match(one, /Edit of src\/greet\.js \('Helo, ' → 'Hello, '\): applied/);
    assert.match(one, /Delete of notes\/old-todo\.md: applied \(Deleted notes\/old-todo\.md\)/);

    // Run 2 finds the typo fixed and the notes gone: a fresh edit, and the notes created again.
    const two = await approvedThrough(
      { edit: ["'Hello, '", "'Hi, '"], notes: 'write_file' },
      'Formal',
    );
    assert.match(file('src/greet.js') ?? '', /'Hi, '/);
    assert.equal(file('notes/old-todo.md'), SAMPLE_FILES['notes/old-todo.md']);
    // Its summary is true to what happened, line by line, and claims nothing that did not.
    assert.match(
      two,
      /Edit of src\/greet\.js \('Hello, ' → 'Hi, '\): applied \(Edited src\/greet\.js/,
    );
    assert.match(two, /Question: you chose "Formal"/);
    assert.match(two, /Re-creating notes\/old-todo\.md: applied \(Created notes\/old-todo\.md/);
    assert.doesNotMatch(two, /denied|didn't go through|not found|error|Delete of/i);

    // And run 3 toggles the greeting back and deletes the restored notes.
    const three = await approvedThrough(
      { edit: ["'Hi, '", "'Hello, '"], notes: 'delete_file' },
      'Friendly',
    );
    assert.match(file('src/greet.js') ?? '', /'Hello, '/);
    assert.equal(file('notes/old-todo.md'), null);
    assert.match(three, /Delete of notes\/old-todo\.md: applied/);
  });
});
