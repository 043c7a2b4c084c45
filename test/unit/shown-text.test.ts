// host/shown-text.ts: how untrusted text reaches a terminal or the sidebar (SPEC §9), and the
// CLI transcript built on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatApproval, printEvent, type Out } from '../../host/cli/transcript.js';
import type { ApprovalEvent } from '../../host/protocol/events.js';
import {
  charName,
  clipText,
  countControls,
  countHidden,
  shownPieces,
  shownText,
  visibleText,
} from '../../host/shown-text.js';

const ESC = '\x1b';

void describe('visibleText', () => {
  void it('escapes every C0, DEL and C1 control as \\uXXXX, and U+2028 / U+2029', () => {
    assert.equal(visibleText(`a${ESC}[2Kb`), 'a\\u001b[2Kb');
    assert.equal(visibleText(`${ESC}]0;title\x07`), '\\u001b]0;title\\u0007');
    assert.equal(visibleText('x\u009b2Ky\x7f\x00\b'), 'x\\u009b2Ky\\u007f\\u0000\\u0008');
    assert.equal(visibleText('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
    for (let c = 0; c < 0xa0; c++) {
      if (c >= 0x20 && c < 0x7f) continue;
      assert.doesNotMatch(visibleText(String.fromCharCode(c)), /[\u0000-\u001f\u007f-\u009f]/);
    }
  });

  void it('one-line fields show line breaks and tabs; multi-line content keeps them, never \\r', () => {
    assert.equal(visibleText('a\nb\tc\r\n'), 'a\\u000ab\\u0009c\\u000d\\u000a');
    assert.equal(visibleText('a\nb\tc\r\n', { multiline: true }), 'a\nb\tc\\u000d\n');
  });

  void it('marks bidirectional, zero-width and tag characters as ⟨U+XXXX⟩', () => {
    const all = [
      0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f,
      0x061c, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0xe0041,
    ];
    for (const cp of all) {
      const ch = String.fromCodePoint(cp);
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      assert.equal(visibleText(`a${ch}b`), `a⟨U+${hex}⟩b`);
    }
    assert.equal(countHidden(all.map((cp) => String.fromCodePoint(cp)).join('')), all.length);
    assert.equal(charName('\u202e'), 'U+202E RIGHT-TO-LEFT OVERRIDE');
    assert.equal(charName(ESC), 'U+001B ESCAPE');
    assert.equal(visibleText('plain ünïcödé 日本 ✓'), 'plain ünïcödé 日本 ✓');
  });

  void it('cuts text into pieces the webview renders as text and markers', () => {
    assert.deepEqual(shownPieces(`a\u202eb${ESC}c\n`, '\n'), [
      { kind: 'text', text: 'a' },
      { kind: 'hidden', char: '\u202e', marker: '⟨U+202E⟩', name: 'U+202E RIGHT-TO-LEFT OVERRIDE' },
      { kind: 'text', text: 'b' },
      { kind: 'control', char: ESC, escape: '\\u001b', name: 'U+001B ESCAPE' },
      { kind: 'text', text: 'c\n' },
    ]);
    assert.deepEqual(shownPieces('plain'), [{ kind: 'text', text: 'plain' }]);
  });
});

void describe('counting', () => {
  void it('counts hidden characters and controls in every string of a value, keys too', () => {
    const value = { path: 'a\u202e', nested: [{ ['k\u200b']: `x${ESC}[1A\n` }], n: 3 };
    assert.equal(countHidden(value), 2);
    assert.equal(countControls(value), 1, 'the line break is not counted');
    assert.equal(countControls(value, ''), 2);
  });
});

void describe('clipText', () => {
  void it('says how many characters it cut', () => {
    assert.equal(clipText('abcdef', 10), 'abcdef');
    assert.equal(clipText('abcdef', 4), 'abcd… (2 more characters)');
    assert.equal(shownText('x'.repeat(250)), `${'x'.repeat(200)}… (50 more characters)`);
  });

  void it('never splits an escape, a marker or a surrogate pair', () => {
    const shown = visibleText(`ab${ESC}cd`); // ab\u001bcd
    assert.equal(clipText(shown, 5), 'ab… (8 more characters)');
    assert.equal(clipText(visibleText('ab\u202ecd'), 6), 'ab… (10 more characters)');
    assert.equal(clipText('a😀b', 2), 'a… (3 more characters)');
  });
});

void describe('the CLI transcript', () => {
  const out = (): Out & { text: string } => {
    const o = {
      text: '',
      color: false as boolean,
      write(t: string) {
        o.text += t;
      },
    };
    return o;
  };

  void it('escapes an escape sequence split over two streamed deltas', () => {
    const o = out();
    const state = { midLine: false };
    printEvent(o, { type: 'delta', run_id: 'r', text: `one${ESC}` }, state);
    printEvent(o, { type: 'delta', run_id: 'r', text: '[2Ktwo\n' }, state);
    assert.equal(o.text, 'one\\u001b[2Ktwo\n');
  });

  void it('colours with our own codes only: untrusted text inside is escaped', () => {
    const o = out();
    o.color = true;
    printEvent(
      o,
      { type: 'warning', run_id: 'r', code: 'x', message: `bad${ESC}[2J` },
      {
        midLine: false,
      },
    );
    assert.equal(o.text, '\x1b[33m! bad\\u001b[2J\x1b[0m\n');
  });

  const gate = (extra: Partial<ApprovalEvent>): ApprovalEvent => ({
    type: 'approval',
    run_id: 'r',
    approval_id: 'apr_1',
    call_id: 'c',
    tool: 'write_file',
    path: 'p',
    prompt: 'Create a.txt?',
    input: { path: 'a.txt', content: 'hi' },
    preview: null,
    expires_at: null,
    ...extra,
  });

  void it('says how many secrets were masked and how many were too long to mask', () => {
    const o = out();
    assert.doesNotMatch(formatApproval(o, gate({})), /masked|too long/);
    const text = formatApproval(o, gate({ redaction: { masked: 2, too_long: 1 } }));
    assert.match(text, /^ {2}2 secrets masked \(shown as \*\*\*\)$/m);
    assert.match(text, /^ {2}! 1 secret-like value was too long to mask and is shown in full$/m);
    assert.match(
      formatApproval(o, gate({ redaction: { masked: 1, too_long: 0 } })),
      /1 secret masked/,
    );
  });

  void it('warns about hidden characters the event counted, even when none survive redaction', () => {
    const text = formatApproval(out(), gate({ hidden_chars: 2 }));
    assert.match(text, /! This proposal contains 2 hidden or bidirectional Unicode characters/);
  });
});
