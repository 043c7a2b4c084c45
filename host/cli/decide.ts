// Asking for decisions inline when `airlock run` has a terminal: approve / deny with a reason /
// edit then approve / cancel, and answers to questions. Produces one resume map.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Interface } from 'node:readline/promises';
import { ApprovalEvent, InteractionEvent, type ResumeMap } from '../protocol/events.js';
import type { PendingRow } from '../store/store.js';
import { formatApproval, formatInteraction, type Out } from './transcript.js';

/** The unredacted proposal of a pending call, for "edit, then approve" (local process only). */
export type ProposalLookup = (callId: string) => Record<string, unknown> | undefined;

async function ask(rl: Interface, question: string): Promise<string> {
  return (await rl.question(question)).trim();
}

/** Opens $VISUAL / $EDITOR on the text; returns the edited text, or null without an editor. */
function editText(initial: string, name: string): string | null {
  const editor = process.env.VISUAL || process.env.EDITOR;
  if (!editor) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-edit-'));
  const file = path.join(dir, path.basename(name) || 'proposal.txt');
  fs.writeFileSync(file, initial);
  try {
    const result = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
    if (result.status !== 0) return null;
    return fs.readFileSync(file, 'utf8');
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
      ? `\n${event.approval_id}: ${event.prompt}\n`
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
    if (choice === 'e' || choice === 'edit') {
      const input = proposal(event.call_id);
      const field = editableField(event.tool);
      if (input && field && typeof input[field] === 'string') {
        const edited = editText(input[field], String(input.path ?? 'proposal.txt'));
        if (edited !== null) return { approved: true, override_input: { [field]: edited } };
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

async function answerOne(
  rl: Interface,
  question: string,
  options: string[] | undefined,
): Promise<string> {
  if (!options?.length) {
    for (;;) {
      const text = await ask(rl, `  ${question} > `);
      if (text) return text;
    }
  }
  const listing = options.map((o, i) => `${i + 1}) ${o}`).join('  ');
  for (;;) {
    const text = await ask(rl, `  ${question}  ${listing} > `);
    const n = Number(text);
    if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1]!;
    if (options.includes(text)) return text;
  }
}

async function decideInteraction(
  rl: Interface,
  out: Out,
  event: InteractionEvent,
  shown: ReadonlySet<string>,
): Promise<unknown> {
  if (!shown.has(event.interaction_id)) out.write(`\n${formatInteraction(out, event)}\n`);
  const schemaType = event.schema.type;
  if (schemaType === 'boolean') {
    for (;;) {
      const text = (await ask(rl, '  [y]es / [n]o > ')).toLowerCase();
      if (text === 'y' || text === 'yes') return true;
      if (text === 'n' || text === 'no') return false;
    }
  }
  if (schemaType === 'object') {
    const answers: Record<string, string> = {};
    for (const q of event.questions) answers[q.id] = await answerOne(rl, q.question, q.options);
    return answers;
  }
  const q = event.questions[0];
  return answerOne(rl, q?.question ?? event.prompt, q?.options);
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
