// Untrusted text (a repository's file, a model's words or path, a tool's output) as a terminal,
// a message or the sidebar may show it (SPEC §9). Two kinds of character are made visible:
// - controls (C0, DEL, C1, the line / paragraph separators) as \uXXXX escapes, so text can
//   neither move the cursor, erase a line, retitle the window nor start a hyperlink;
// - hidden characters (bidirectional controls, zero-width and invisible characters) as ⟨U+XXXX⟩
//   markers, so text can neither reorder nor hide what the reader sees.
// Clipping says how much it cut. Pure (no Node, no DOM): the CLI and the webview share it.

/** C0 (ESC among them), DEL, C1 (a terminal may read U+009B as CSI), U+2028 / U+2029. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Names of the hidden characters and the common controls, for markers' titles. */
const NAMES: Record<number, string> = {
  0x061c: 'ARABIC LETTER MARK',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
  // Controls, for the webview's markers' titles.
  0x0000: 'NULL',
  0x0007: 'BELL',
  0x0008: 'BACKSPACE',
  0x0009: 'CHARACTER TABULATION',
  0x000a: 'LINE FEED',
  0x000d: 'CARRIAGE RETURN',
  0x001b: 'ESCAPE',
  0x007f: 'DELETE',
  0x009b: 'CONTROL SEQUENCE INTRODUCER',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
};

/**
 * Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width and
 * invisible characters (U+200B–U+200D, U+2060–U+2064, U+180E, U+FEFF) and the tag characters
 * (U+E0000–U+E007F, invisible ASCII look-alikes).
 */
const HIDDEN_CLASS =
  '\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\u{e0000}-\\u{e007f}';
const CONTROL_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029';
/** One hidden character or one control, as a global matcher (fresh per use: it has state). */
const anyShown = () => new RegExp(`[${HIDDEN_CLASS}]|[${CONTROL_CLASS}]`, 'gu');

const HIDDEN_ONE = new RegExp(`^[${HIDDEN_CLASS}]$`, 'u');

/** Whether one character is a hidden one (bidirectional, zero-width, invisible). */
export function isHidden(ch: string): boolean {
  return HIDDEN_ONE.test(ch);
}

function hex(ch: string, width: number): string {
  return (ch.codePointAt(0) ?? 0).toString(16).padStart(width, '0');
}

/** `⟨U+202E⟩`: how a hidden character is shown, everywhere. */
export function hiddenMarker(ch: string): string {
  return `⟨U+${hex(ch, 4).toUpperCase()}⟩`;
}

/** "U+202E RIGHT-TO-LEFT OVERRIDE" (or "U+001B ESCAPE"), for a marker's title. */
export function charName(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const name = NAMES[cp] ?? (cp >= 0xe0000 ? 'TAG CHARACTER' : 'CONTROL CHARACTER');
  return `U+${hex(ch, 4).toUpperCase()} ${name}`;
}

/** `\u001b`: how a control character is shown, everywhere (the form JSON uses). */
export function controlEscape(ch: string): string {
  return `\\u${hex(ch, 4)}`;
}

export type ShownPiece =
  | { kind: 'text'; text: string }
  | { kind: 'hidden'; char: string; marker: string; name: string }
  | { kind: 'control'; char: string; escape: string; name: string };

/**
 * The text cut into plain runs, hidden characters and controls (except those in `keep`, e.g.
 * "\n\t" for multi-line content). The webview turns the pieces into text nodes and marker
 * elements; the terminal joins them as text.
 */
export function shownPieces(text: string, keep = ''): ShownPiece[] {
  const pieces: ShownPiece[] = [];
  let from = 0;
  for (const m of text.matchAll(anyShown())) {
    const ch = m[0];
    if (keep.includes(ch)) continue;
    const at = m.index;
    if (at > from) pieces.push({ kind: 'text', text: text.slice(from, at) });
    pieces.push(
      CONTROL.test(ch)
        ? { kind: 'control', char: ch, escape: controlEscape(ch), name: charName(ch) }
        : { kind: 'hidden', char: ch, marker: hiddenMarker(ch), name: charName(ch) },
    );
    from = at + ch.length;
  }
  if (from < text.length) pieces.push({ kind: 'text', text: text.slice(from) });
  return pieces;
}

/**
 * The text with every control escaped and every hidden character marked; not clipped. Multi-line
 * content (a diff, streamed model text, a tool's output) keeps its line breaks and tabs; anything
 * else shows them too (`\u000a`), so one field cannot fake the lines after it. `\r` is always
 * shown: it would return the cursor over what the line already printed.
 */
export function visibleText(text: string, opts: { multiline?: boolean } = {}): string {
  const keep = opts.multiline ? '\n\t' : '';
  let out = '';
  for (const p of shownPieces(text, keep)) {
    out += p.kind === 'text' ? p.text : p.kind === 'hidden' ? p.marker : p.escape;
  }
  return out;
}

/** Every string inside a value (an object's keys and values, an array's items), depth first. */
function* stringsOf(value: unknown, depth = 0): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (value && typeof value === 'object' && depth < 64) {
    for (const [k, v] of Object.entries(value)) {
      if (!Array.isArray(value)) yield k;
      yield* stringsOf(v, depth + 1);
    }
  }
}

/** How many hidden (bidirectional, zero-width, invisible) characters the value's strings hold. */
export function countHidden(value: unknown): number {
  let n = 0;
  for (const s of stringsOf(value)) {
    for (const m of s.matchAll(anyShown())) if (!CONTROL.test(m[0])) n++;
  }
  return n;
}

/** How many control characters (other than those in `keep`) the value's strings hold. */
export function countControls(value: unknown, keep = '\n\t'): number {
  let n = 0;
  for (const s of stringsOf(value)) {
    for (const m of s.matchAll(anyShown())) if (CONTROL.test(m[0]) && !keep.includes(m[0])) n++;
  }
  return n;
}

/**
 * At most `max` characters of already-visible text, then "… (N more characters)". The cut never
 * splits an escape, a marker or a surrogate pair (it moves before them and counts them as cut).
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let head = text.slice(0, max);
  const partial = /(?:\\u[0-9a-f]{0,3}|\\|⟨[^⟩]{0,10}|[\ud800-\udbff])$/.exec(head);
  if (partial) head = head.slice(0, partial.index);
  return `${head}… (${text.length - head.length} more characters)`;
}

/** A short untrusted string for a message or a terminal: one line, visible, clipped. */
export function shownText(text: string, max = 200): string {
  return clipText(visibleText(text), max);
}
