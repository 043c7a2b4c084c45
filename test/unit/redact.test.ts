import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_REDACTION, MASK, Redactor, StreamRedactor } from '../../host/runtime/redact.js';

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
