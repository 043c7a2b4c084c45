// Asking for decisions inline when `airlock run` has a terminal: approve / deny with a reason /
// edit then approve / cancel, and answers to questions. Produces one resume map.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Interface } from 'node:readline/promises';
import { parse as parseShellWords } from 'shell-quote';
import {
  errorText,
  formModel,
  rawFromTyped,
  readField,
  validateValues,
  type Field,
} from '../protocol/answer-form.js';
import { ApprovalEvent, InteractionEvent, type ResumeMap } from '../protocol/events.js';
import type { PendingRow } from '../store/store.js';
import { formatApproval, formatInteraction, one, type Out } from './transcript.js';

/** The unredacted proposal of a pending call, for "edit, then approve" (local process only). */
export type ProposalLookup = (callId: string) => Record<string, unknown> | undefined;

async function ask(rl: Interface, question: string): Promise<string> {
  return (await rl.question(question)).trim();
}

/**
 * `$VISUAL` / `$EDITOR` as the argv to run without a shell: words and quotes as a shell splits
 * them (`code --wait`, `"/opt/My Editor/bin/ed" -w`), and anything else a shell would act on
 * (operators, globs, comments, `$VARIABLES`) refused with a message.
 */
export function editorArgv(spec: string): string[] {
  const refuse = (what: string) =>
    new Error(
      `The editor command ${JSON.stringify(spec)} uses ${what}, and Airlock runs the editor without a shell. Set $VISUAL or $EDITOR to the program and its arguments only, e.g. "code --wait".`,
    );
  if (spec.includes('`')) throw refuse('a `command` substitution');
  if (/[\r\n]/.test(spec)) throw refuse('a line break');
  const words: string[] = [];
  for (const entry of parseShellWords(spec, (name) => ({ variable: name }))) {
    if (typeof entry === 'string') {
      words.push(entry);
      continue;
    }
    const what =
      'variable' in entry
        ? entry.variable
          ? `the variable $${entry.variable}`
          : 'a $ substitution'
        : 'comment' in entry
          ? 'a # comment'
          : entry.op === 'glob'
            ? `the glob ${entry.pattern}`
            : `the shell operator ${entry.op}`;
    throw refuse(what);
  }
  if (!words.length) throw new Error('$VISUAL / $EDITOR names no program.');
  return words;
}

/**
 * The temp file's name: the approval id, never the model's path (a name like `n;touch X;.md`
 * must reach no shell and no editor as anything but inert text), plus that path's extension when
 * it is a plain one, for syntax highlighting.
 */
export function editFileName(approvalId: string, proposedPath: string): string {
  const id = approvalId.replace(/[^A-Za-z0-9_-]/g, '_') || 'proposal';
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(path.posix.basename(proposedPath))?.[1];
  return `${id}.${ext ?? 'txt'}`;
}

/**
 * Opens $VISUAL / $EDITOR on the text in a private temp folder (0700, removed afterwards);
 * returns the edited text, a problem to show, or null without an editor.
 */
function editText(
  initial: string,
  fileName: string,
): { text: string } | { problem: string } | null {
  const spec = process.env.VISUAL || process.env.EDITOR;
  if (!spec) return null;
  let argv: string[];
  try {
    argv = editorArgv(spec);
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
  const [program, ...args] = argv as [string, ...string[]];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-edit-'));
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, initial, { mode: 0o600 });
  try {
    const result = spawnSync(program, [...args, file], { stdio: 'inherit' });
    if (result.error)
      return { problem: `The editor ${program} did not start (${result.error.message}).` };
    if (result.status !== 0) {
      return {
        problem: `The editor ended with ${result.signal ?? `exit code ${result.status}`}; the edit is dropped.`,
      };
    }
    return { text: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Which field of a proposal the developer edits: the new text of a file tool. */
function editableField(tool: string): string | null {
  if (tool === 'write_file') return 'content';
  if (tool === 'edit_file') return 'new_string';
  return null;
}

async function decideApproval(
  rl: Interface,
  out: Out,
  event: ApprovalEvent,
  proposal: ProposalLookup,
  shown: ReadonlySet<string>,
): Promise<unknown> {
  out.write(
    shown.has(event.approval_id)
      ? `\n${event.approval_id}: ${one(event.prompt)}\n`
      : `\n${formatApproval(out, event)}\n`,
  );
  for (;;) {
    const choice = (
      await ask(
        rl,
        '  [a]pprove  [d]eny  [e]dit then approve  [c]ancel run  [s]kip (leave pending) > ',
      )
    ).toLowerCase();
    if (choice === 'a' || choice === 'approve') {
      const comment = await ask(rl, '  comment (optional) > ');
      return { approved: true, ...(comment ? { comment } : {}) };
    }
    if (choice === 'd' || choice === 'deny') {
      const reason = await ask(rl, '  reason (the agent reads it) > ');
      return { approved: false, ...(reason ? { reason } : {}) };
    }
    if (choice === 'c' || choice === 'cancel') {
      const reason = await ask(rl, '  why cancel (optional) > ');
      return { type: 'cancel', reason: reason || 'Cancelled from the terminal.' };
    }
    if (choice === 's' || choice === 'skip') return undefined;
    if ((choice === 'e' || choice === 'edit') && event.command) {
      // A shell command is one line: typed here, it runs instead of the proposal.
      const line = await ask(rl, '  command to run instead > ');
      if (line) return { approved: true, override_input: { command: line } };
      out.write('  Nothing typed; choose again.\n');
      continue;
    }
    if (choice === 'e' || choice === 'edit') {
      const input = proposal(event.call_id);
      const field = editableField(event.tool);
      if (input && field && typeof input[field] === 'string') {
        const name = editFileName(event.approval_id, String(input.path ?? ''));
        const edited = editText(input[field], name);
        if (edited && 'text' in edited) {
          return { approved: true, override_input: { [field]: edited.text } };
        }
        if (edited) out.write(`  ${edited.problem}\n`);
      }
      const json = await ask(rl, '  override_input as JSON (e.g. {"content": "..."}) > ');
      try {
        return { approved: true, override_input: JSON.parse(json) as unknown };
      } catch {
        out.write('  That is not JSON; try again.\n');
      }
    }
  }
}

/** The line that asks for one field: its question, how to answer, and any default. */
function fieldPrompt(field: Field): string {
  const listing = (options: readonly string[]) =>
    options.map((o, i) => `${i + 1}) ${one(o)}`).join('  ');
  let how = '';
  switch (field.kind) {
    case 'boolean':
      how = '[y]es / [n]o';
      break;
    case 'choice':
      how = field.other
        ? `${listing(field.options)}  or type your own answer`
        : listing(field.options);
      break;
    case 'multi':
      how = `${listing(field.options)}  (numbers or names, comma-separated)`;
      break;
    case 'number':
      how = field.integer ? '(a whole number)' : '(a number)';
      break;
    case 'json':
      how = '(JSON)';
      break;
    case 'text':
      break;
  }
  const fallback =
    field.default !== undefined ? `[Enter: ${one(JSON.stringify(field.default))}]` : '';
  const optional = !field.required && !fallback ? '(optional, Enter to skip)' : '';
  return `  ${[one(field.label), how, fallback, optional].filter(Boolean).join('  ')} > `;
}

/** Asks for one field until the typed text fits it, saying why when it does not. */
async function answerField(rl: Interface, out: Out, field: Field): Promise<unknown> {
  for (;;) {
    const read = readField(field, rawFromTyped(field, await ask(rl, fieldPrompt(field))));
    if (read.error === undefined) return read.value;
    out.write(`  ${one(read.error)}\n`);
  }
}

/**
 * Asks every field of the question (the form model the sidebar and the palette use) and checks
 * the answer against its schema as the host will, so "5" for an integer is sent as 5.
 */
async function decideInteraction(
  rl: Interface,
  out: Out,
  event: InteractionEvent,
  shown: ReadonlySet<string>,
): Promise<unknown> {
  if (!shown.has(event.interaction_id)) out.write(`\n${formatInteraction(out, event)}\n`);
  const model = formModel(event.prompt, event.questions, event.schema);
  for (;;) {
    const values: Record<string, unknown> = {};
    for (const field of model.fields) {
      const value = await answerField(rl, out, field);
      if (value !== undefined) values[field.key] = value;
    }
    const checked = validateValues(model, values);
    if (checked.ok) return checked.value;
    const why = errorText(model, checked.errors).split('\n').map(one).join('\n  ');
    out.write(`  That answer does not fit the question:\n  ${why}\n  Try again.\n`);
  }
}

/** Asks about every pending item; returns the resume map (empty when all were skipped). */
export async function decideInline(
  rl: Interface,
  out: Out,
  pending: PendingRow[],
  proposal: ProposalLookup,
  /** Ids whose card the transcript already printed in full. */
  shown: ReadonlySet<string> = new Set(),
): Promise<ResumeMap> {
  const map: ResumeMap = {};
  for (const row of pending) {
    const value =
      row.kind === 'approval'
        ? await decideApproval(rl, out, ApprovalEvent.parse(row.event), proposal, shown)
        : await decideInteraction(rl, out, InteractionEvent.parse(row.event), shown);
    if (value === undefined) continue;
    map[row.id] = value;
    if (typeof value === 'object' && value && 'type' in value) break; // a cancel ends the run
  }
  return map;
}
