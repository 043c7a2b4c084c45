// The one replacement an approved change makes in an open document: only the changed middle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedMiddle } from '../../extension/text-span.js';

function applied(before: string, after: string): string {
  const { start, end, middle } = changedMiddle(before, after);
  return before.slice(0, start) + middle + before.slice(end);
}

void describe('changedMiddle', () => {
  void it('replaces only what changed, and always yields the new text', () => {
    const before = '// typed\nhello wrold\nbye\n';
    const after = '// typed\nhello world\nbye\n';
    assert.deepEqual(changedMiddle(before, after), { start: 16, end: 18, middle: 'or' });
    const cases: [string, string][] = [
      [before, after],
      ['', 'new file\n'],
      ['all gone\n', ''],
      ['aaa', 'aaaa'],
      ['abcabc', 'abc'],
      ['same', 'same'],
      ['x\r\ny\r\n', 'x\r\nz\r\ny\r\n'],
      ['emoji 😀 end', 'emoji 😃 end'],
    ];
    for (const [b, a] of cases) assert.equal(applied(b, a), a, JSON.stringify([b, a]));
    // Whole characters only: the two emoji share their first UTF-16 unit.
    assert.equal(changedMiddle('a😀b', 'a😃b').middle, '😃');
  });
});
