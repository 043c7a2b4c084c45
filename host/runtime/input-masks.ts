// What the public surfaces (approval cards, tool_call events, the audit trail) see of a tool's
// input: the configured keys and patterns masked, and the tool's own approvalRedactKeys and
// approvalRedactor applied. The run state keeps the real input: the handler needs it.
import type { FilePreview, ResumeMap, RunEvent } from '../protocol/events.js';
import { MASK, type RedactionTally, type Redactor } from './redact.js';
import type { CallState } from './run-state.js';
import type { Tool } from './tool.js';

export class InputMasks {
  constructor(
    private readonly redactor: Redactor,
    private readonly tools: ReadonlyMap<string, Tool>,
  ) {}

  /**
   * A tool's validated input as the approval card shows it. `tally` counts the masks (those the
   * tool's approvalRedactor made, as `***` values, too) and what was left visible.
   */
  input(tool: Tool, input: unknown, tally?: RedactionTally): unknown {
    const masked = tool.approvalRedactor ? tool.approvalRedactor(input) : input;
    if (tally && masked !== input) {
      tally.masked += Math.max(0, countMasks(masked) - countMasks(input));
    }
    return this.redactor.value(masked, tool.approvalRedactKeys ?? [], tally);
  }

  /**
   * A tool_call event's input: masked like the approval card's. The approvalRedactor is written
   * for the validated input, so it gets that; arguments that do not validate (the call will be
   * reported to the model as invalid) must not crash the run through it.
   */
  callInput(tool: Tool | undefined, args: unknown): unknown {
    if (!tool) return this.redactor.value(args);
    const parsed = tool.params.safeParse(args);
    if (parsed.success) return this.input(tool, parsed.data);
    try {
      return this.input(tool, args);
    } catch {
      return MASK;
    }
  }

  /**
   * A resolution as the audit trail keeps it (decisions, segments): besides the configured keys
   * and patterns, override_input is masked the way the tool's input is on the approval card,
   * keeping only the overridden keys.
   */
  resolution(call: CallState | undefined, value: unknown): unknown {
    const tool = call && this.tools.get(call.tool);
    if (!call || !tool || !isRecord(value) || !isRecord(value.override_input)) {
      return this.redactor.value(value);
    }
    const override = value.override_input;
    const merged = tool.params.safeParse({
      ...(isRecord(call.args) ? call.args : {}),
      ...override,
    });
    let shown: unknown = null;
    if (merged.success) {
      try {
        shown = this.input(tool, merged.data);
      } catch {
        shown = null;
      }
    }
    const masked = Object.fromEntries(
      Object.keys(override).map((k) => [k, isRecord(shown) && k in shown ? shown[k] : MASK]),
    );
    return this.redactor.value({ ...value, override_input: masked });
  }

  /** The resume map as the segment row keeps it, given the gates open when the run was loaded. */
  resume(resume: ResumeMap, openGates: ReadonlyMap<string, CallState>): Record<string, unknown> {
    return Object.fromEntries(
      Object.entries(resume).map(([id, v]) => [id, this.resolution(openGates.get(id), v)]),
    );
  }
}

/** How many values are exactly `***`, at any depth. */
function countMasks(value: unknown, depth = 0): number {
  if (value === MASK) return 1;
  if (!value || typeof value !== 'object' || depth > 64) return 0;
  let n = 0;
  for (const v of Object.values(value)) n += countMasks(v, depth + 1);
  return n;
}

/**
 * Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width and
 * invisible characters (U+200B–U+200D, U+2060–U+2064, U+180E, U+FEFF) and the tag characters
 * (U+E0000–U+E007F): text that reads differently from what it is (SPEC §9), the set the
 * displays mark (host/shown-text.ts).
 */
const HIDDEN =
  /[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/gu;

const HIDDEN_ONE = new RegExp(HIDDEN.source, 'u');

function hiddenIn(text: string, skipBomAt?: (index: number) => boolean): number {
  let n = 0;
  for (const m of text.matchAll(HIDDEN)) {
    if (m[0] === '\ufeff' && skipBomAt?.(m.index)) continue;
    n++;
  }
  return n;
}

/** Every string of a value, keys included. */
function* stringsOf(value: unknown, depth = 0): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (value && typeof value === 'object' && depth <= 64) {
    for (const [k, v] of Object.entries(value)) {
      if (!Array.isArray(value)) yield k;
      yield* stringsOf(v, depth + 1);
    }
  }
}

/**
 * Hidden characters in a unified diff. A U+FEFF that starts the file (the first line of either
 * side, right after the line's `+`/`-`/` `) is a byte order mark and not counted.
 */
function hiddenInDiff(diff: string): number {
  if (!HIDDEN_ONE.test(diff)) return 0;
  let n = 0;
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      inHunk = true;
      oldLine = Number(hunk[1]) || 1;
      newLine = Number(hunk[2]) || 1;
      n += hiddenIn(line);
      continue;
    }
    if (!inHunk) continue; // the file headers name the path, counted once by the caller
    const mark = line[0];
    const first =
      (mark === '-' && oldLine === 1) ||
      (mark === '+' && newLine === 1) ||
      (mark === ' ' && (oldLine === 1 || newLine === 1));
    n += hiddenIn(line, (i) => first && i === 1);
    if (mark === '-' || mark === ' ') oldLine++;
    if (mark === '+' || mark === ' ') newLine++;
  }
  return n;
}

/**
 * How many hidden characters a proposal holds, as its card shows it: in its input's strings (a
 * U+FEFF starting a string is a byte order mark) and in its diff. For file tools the input and
 * the diff show the same change, so the larger count is the proposal's: each character once,
 * plus those of the unchanged lines around it, which the diff shows too.
 */
export function hiddenChars(input: unknown, preview: FilePreview | null): number {
  let inInput = 0;
  for (const s of stringsOf(input)) inInput += hiddenIn(s, (i) => i === 0);
  return Math.max(inInput, preview ? hiddenInDiff(preview.diff) + hiddenIn(preview.path) : 0);
}

/**
 * The warning that goes with a card holding hidden characters, as GitHub's "This file contains
 * hidden or bidirectional Unicode text". Hidden characters in the path itself are named here.
 */
export function hiddenWarning(runId: string, where: string, count: number): RunEvent {
  const shown = where.replace(
    HIDDEN,
    (ch) => `⟨U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟩`,
  );
  const what =
    count === 1
      ? '1 hidden or bidirectional Unicode character'
      : `${count} hidden or bidirectional Unicode characters`;
  return {
    type: 'warning',
    run_id: runId,
    code: 'hidden_characters',
    message: `${shown} contains ${what} (bidirectional controls, zero-width or invisible characters): the text may read differently from what it does. Each is marked ⟨U+XXXX⟩ on the card; review it before approving.`,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
