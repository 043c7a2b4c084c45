// How `airlock run` starts $VISUAL / $EDITOR for "edit, then approve": never through a shell.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editFileName, editorArgv } from '../../host/cli/decide.js';

void describe('editorArgv', () => {
  void it('splits the command into words as a shell would, quotes included', () => {
    assert.deepEqual(editorArgv('code --wait'), ['code', '--wait']);
    assert.deepEqual(editorArgv('vim'), ['vim']);
    assert.deepEqual(editorArgv(`"/opt/My Editor/ed" -c 'set ft=md'`), [
      '/opt/My Editor/ed',
      '-c',
      'set ft=md',
    ]);
    assert.deepEqual(editorArgv(`ed '$HOME'`), ['ed', '$HOME'], 'single quotes stay literal');
  });

  void it('refuses what only a shell would act on, saying what and how to fix it', () => {
    const refused: [string, RegExp][] = [
      ['vim; touch PWNED', /shell operator ;/],
      ['vim && rm -rf x', /shell operator &&/],
      ['vim | tee x', /shell operator \|/],
      ['vim > x', /shell operator >/],
      ['vim &', /shell operator &/],
      ['ed *.md', /glob \*\.md/],
      ['ed $HOME/x', /variable \$HOME/],
      ['ed "${X}"', /variable \$X/],
      ['ed $(id)', /\$ substitution/],
      ['ed `id`', /`command` substitution/],
      ['ed # note', /# comment/],
      ['ed\ntouch PWNED', /line break/],
    ];
    for (const [spec, what] of refused) {
      assert.throws(
        () => editorArgv(spec),
        (err: Error) => {
          assert.match(err.message, what, spec);
          assert.ok(err.message.includes(JSON.stringify(spec)), spec);
          assert.match(err.message, /without a shell.*"code --wait"/, spec);
          return true;
        },
      );
    }
    assert.throws(() => editorArgv('   '), /names no program/);
  });
});

void describe('editFileName', () => {
  void it('is the approval id, with the proposed extension only when it is plain', () => {
    assert.equal(editFileName('apr_1f2e', 'n;touch PWNED;.md'), 'apr_1f2e.md');
    assert.equal(editFileName('apr_1f2e', 'src/greet.ts'), 'apr_1f2e.ts');
    assert.equal(editFileName('apr_1f2e', 'Makefile'), 'apr_1f2e.txt');
    assert.equal(editFileName('apr_1f2e', 'x.$(id)'), 'apr_1f2e.txt');
    assert.equal(editFileName('apr_1f2e', 'a.b c'), 'apr_1f2e.txt');
    assert.equal(editFileName('apr_1f2e', 'x.abcdefghijk'), 'apr_1f2e.txt', 'over 10 characters');
    assert.equal(editFileName('apr/../x', 'a.md'), 'apr____x.md', 'the id is only a name too');
  });
});
