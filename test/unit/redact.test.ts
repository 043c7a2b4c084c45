import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_REDACT_PATTERNS,
  DEFAULT_REDACTION,
  MASK,
  Redactor,
  StreamRedactor,
  redactPatternProblem,
} from '../../host/runtime/redact.js';
import { Settings } from '../../host/settings-schema.js';

const SECRET = 'sk-' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4';
const PEM =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----';

void describe('Redactor', () => {
  const r = new Redactor(DEFAULT_REDACTION);

  void it('masks configured keys at any depth, whatever their case', () => {
    const out = r.value({ a: { Password: 'p', list: [{ token: 't', keep: 1 }] }, apiKey: 'k' });
    assert.deepEqual(out, {
      a: { Password: MASK, list: [{ token: MASK, keep: 1 }] },
      apiKey: MASK,
    });
  });

  void it('masks extra keys given per tool without touching the input', () => {
    const input = { customer_id: 'C-42', amount: 5 };
    assert.deepEqual(r.value(input, ['customer_id']), { customer_id: MASK, amount: 5 });
    assert.equal(input.customer_id, 'C-42');
  });

  void it('masks credential formats inside any string, diffs included', () => {
    const diff = `+const key = '${SECRET}';\n+aws AKIAABCDEFGHIJKLMNOP\n+gh ghp_abcdefghijklmnopqrstuvwxyz0123\n${PEM}`;
    const out = r.text(diff);
    for (const leaked of [SECRET, 'AKIAABCDEFGHIJKLMNOP', 'ghp_abcdefghij', 'MIIEowIBAAKCAQEA7']) {
      assert.ok(!out.includes(leaked), `${leaked} leaked: ${out}`);
    }
    assert.match(out, /\+const key = '\*\*\*';/);
  });

  void it('refuses an invalid pattern with the setting to fix', () => {
    assert.throws(() => new Redactor({ keys: [], patterns: ['(['] }), /airlock\.redactPatterns/);
  });

  void it('masks exactly what a JavaScript RegExp of the default patterns masks', () => {
    const text = `a ${SECRET} b AKIAABCDEFGHIJKLMNOP xoxb-1234567890-ab ghp_${'x'.repeat(24)}\n${PEM}\nend ${'sk-short'}`;
    const regexp = new RegExp(DEFAULT_REDACT_PATTERNS.map((p) => `(?:${p})`).join('|'), 'g');
    assert.equal(r.text(text), text.replace(regexp, MASK));
    assert.equal(r.text('nothing to hide'), 'nothing to hide');
  });

  void it('masks overlapping matches of two patterns once, adjacent ones twice, empty ones never', () => {
    const two = new Redactor({ keys: [], patterns: ['abc', 'bcd', 'x*'] });
    assert.equal(two.text('-abcd-'), `-${MASK}-`);
    assert.equal(two.text('abcabc'), `${MASK}${MASK}`);
    assert.equal(two.text('plain'), 'plain');
    assert.equal(two.text('😀abc😀'), `😀${MASK}😀`, 'offsets stay right past astral characters');
  });
});

void describe('redaction patterns that could hang a backtracking engine', () => {
  // Each of these takes exponential or high-polynomial time in V8 on the texts below; run by
  // RE2 they take time linear in the text, so the test only has to finish.
  const catastrophic = ['(a+)+$', '(a|a)*b', '(.*a){20}', '(ab|ab)*c', '(\\w+\\s?)*$'];
  const attacks = ['a'.repeat(30) + '!', 'a'.repeat(50_000) + '!', 'ab'.repeat(25_000) + '!'];

  void it('are run in linear time: masking a hostile text finishes', () => {
    for (const pattern of catastrophic) {
      const redactor = new Redactor({ keys: [], patterns: [pattern] });
      for (const text of attacks) assert.equal(typeof redactor.text(text), 'string', pattern);
    }
    const dollar = new Redactor({ keys: [], patterns: ['(a+)+$'] });
    assert.equal(dollar.text('x' + 'a'.repeat(30)), `x${MASK}`, 'and still mask what they match');
    assert.equal(dollar.text('a'.repeat(30) + '!'), 'a'.repeat(30) + '!');
  });

  void it('what RE2 cannot run in linear time is refused, naming the pattern and the fix', () => {
    const refused: [string, RegExp][] = [
      ['(a)\\1', /backreference \(\\1\)/],
      [`(?<q>['"]).*\\k<q>`, /backreference \(\\k<q>\)/],
      ['(?=a)b', /lookahead \(\(\?=a\)\)/],
      ['(?<!a)b', /lookbehind/],
      ['(?:x{1000}){1000}', /repeat count/],
      ['(.*){1,32000}[bc]', /repeat count/],
    ];
    for (const [pattern, why] of refused) {
      const named = new RegExp(JSON.stringify(pattern).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      // The constructor throws before any text is masked: a hostile text never reaches it.
      assert.throws(
        () => new Redactor({ keys: [], patterns: [pattern] }).text('a'.repeat(30) + '!'),
        (err: Error) => {
          assert.match(err.message, named, pattern);
          assert.match(err.message, why, pattern);
          assert.match(err.message, /rewrite it .* in airlock\.redactPatterns/, pattern);
          return true;
        },
      );
      assert.match(redactPatternProblem(pattern) ?? '', why);
    }
    for (const pattern of DEFAULT_REDACT_PATTERNS)
      assert.equal(redactPatternProblem(pattern), null);
  });

  void it('the settings schema refuses them with the same message (config file, editor, host)', () => {
    const parsed = Settings.safeParse({ redactPatterns: ['ok-[0-9]+', '(a)\\1'] });
    assert.equal(parsed.success, false);
    assert.deepEqual(
      parsed.error?.issues.map((i) => [i.path.join('.'), i.message]),
      [['redactPatterns.1', redactPatternProblem('(a)\\1')]],
    );
    assert.deepEqual(Settings.parse({}).redactPatterns, [...DEFAULT_REDACT_PATTERNS]);
  });
});

void describe('StreamRedactor', () => {
  void it('never releases a secret split across streamed chunks', () => {
    const text = `Your key is ${SECRET} and here is a PEM:\n${PEM}\nDone.`;
    for (const size of [1, 3, 8, 17]) {
      const s = new StreamRedactor(new Redactor(DEFAULT_REDACTION));
      let out = '';
      for (let i = 0; i < text.length; i += size) {
        const piece = s.push(text.slice(i, i + size));
        assert.ok(
          !piece.includes('A1b2C3d4') && !piece.includes('MIIEow'),
          `chunk size ${size} leaked`,
        );
        out += piece;
      }
      out += s.flush();
      assert.equal(out, `Your key is ${MASK} and here is a PEM:\n${MASK}\nDone.`);
    }
  });
});
