// The editor's `airlock.*` settings → the host's Settings: package.json declares exactly the
// settings the schema has, with the same defaults, and invalid values fall back with a message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pkg from '../../package.json';
import { HostOptions } from '../../host/protocol/rpc.js';
import { Settings } from '../../host/settings-schema.js';
import {
  databaseLocation,
  hostOptions,
  SETTING_KEYS,
  settingsFromConfiguration,
  type SettingKey,
} from '../../extension/settings.js';

const declared = pkg.contributes.configuration.properties as Record<
  string,
  { default: unknown; type: string }
>;
const defaults = (key: SettingKey) => declared[`airlock.${key}`]?.default;

void describe('settings contributed in package.json', () => {
  void it('are exactly the Settings schema, one VS Code setting per field, plus the approver name and the database', () => {
    // airlock.approverName labels the editor's decisions; the host never reads it. airlock.database
    // is where the host opens its store (HostOptions.db), not a setting of runs.
    const editorOnly = ['airlock.approverName', 'airlock.database'];
    for (const key of editorOnly) {
      const p = declared[key] as { scope?: string; markdownDescription?: string };
      assert.equal(p.scope, 'application', `${key}: a workspace's settings cannot set it`);
      assert.match(p.markdownDescription ?? '', /User settings only/, key);
    }
    assert.deepEqual(
      Object.keys(declared)
        .filter((k) => !editorOnly.includes(k))
        .sort(),
      SETTING_KEYS.map((k) => `airlock.${k}`).sort(),
    );
    assert.ok(editorOnly.every((k) => k in declared));
    const fields = Object.keys(Settings.shape).flatMap((k) =>
      k === 'retention' ? ['retention.keepRuns', 'retention.keepDays'] : [k],
    );
    assert.deepEqual([...SETTING_KEYS].sort(), fields.sort());
  });

  void it("have the schema's defaults", () => {
    assert.deepEqual(settingsFromConfiguration(defaults).settings, Settings.parse({}));
    assert.deepEqual(settingsFromConfiguration(defaults).problems, []);
  });

  void it('that decide where requests go or loosen Airlock are user settings only (SPEC §9)', () => {
    const userOnly = Object.entries(declared)
      .filter(([, p]) => (p as { scope?: string }).scope === 'machine')
      .map(([key]) => key)
      .sort();
    // Everything but the model name and the turn limit: a workspace may pick those.
    assert.deepEqual(
      userOnly,
      SETTING_KEYS.filter((k) => k !== 'model' && k !== 'maxTurns')
        .map((k) => `airlock.${k}`)
        .sort(),
    );
    for (const key of userOnly) {
      const p = declared[key] as { markdownDescription?: string };
      assert.match(p.markdownDescription ?? '', /User settings only/, key);
      assert.match(p.markdownDescription ?? '', /airlock\.config\.json/, key);
    }
    // Restricted Mode is supported, with exactly those settings restricted.
    const capabilities = (
      pkg as unknown as {
        capabilities: {
          untrustedWorkspaces: {
            supported: unknown;
            description: string;
            restrictedConfigurations: string[];
          };
        };
      }
    ).capabilities.untrustedWorkspaces;
    assert.equal(capabilities.supported, 'limited');
    assert.ok(capabilities.description.length > 40);
    assert.deepEqual([...capabilities.restrictedConfigurations].sort(), userOnly);
  });

  void it('declare protectedPaths as globs added to the built-in list', () => {
    const p = declared['airlock.protectedPaths'] as unknown as {
      type: string;
      items: { type: string };
      markdownDescription: string;
    };
    assert.equal(p.type, 'array');
    assert.equal(p.items.type, 'string');
    for (const builtIn of ['.git', '.vscode/', '*.code-workspace', '.env*', '.npmrc']) {
      assert.ok(p.markdownDescription.includes(builtIn), builtIn);
    }
    const { settings } = settingsFromConfiguration((k) =>
      k === 'protectedPaths' ? ['scripts/release/**'] : undefined,
    );
    assert.deepEqual(settings.protectedPaths, ['scripts/release/**']);
  });

  void it('come with a command per action, each an activation event', () => {
    const commands = pkg.contributes.commands.map((c) => c.command);
    for (const id of ['airlock.manageRules', 'airlock.trustWorkspaceConfig']) {
      assert.ok(commands.includes(id), id);
    }
    assert.deepEqual(
      commands.filter((id) => !pkg.activationEvents.includes(`onCommand:${id}`)),
      [],
    );
  });

  void it('describe every setting', () => {
    for (const [key, property] of Object.entries(declared)) {
      const p = property as { markdownDescription?: string; description?: string };
      assert.ok((p.markdownDescription ?? p.description ?? '').length > 20, key);
    }
  });
});

void describe('settingsFromConfiguration', () => {
  void it('maps the flat retention.* settings into the nested object', () => {
    const values: Partial<Record<SettingKey, unknown>> = {
      model: 'gpt-4o-mini',
      baseURL: 'http://localhost:11434/v1',
      policy: [{ tool: 'write_file', paths: ['docs/**'], action: 'allow' }],
      approvalTimeout: 90,
      maxTurns: 5,
      'retention.keepRuns': 500,
      'retention.keepDays': 30,
    };
    const { settings, problems } = settingsFromConfiguration((k) => values[k]);
    assert.deepEqual(problems, []);
    assert.equal(settings.model, 'gpt-4o-mini');
    assert.equal(settings.baseURL, 'http://localhost:11434/v1');
    assert.deepEqual(settings.policy, [
      { tool: 'write_file', paths: ['docs/**'], action: 'allow' },
    ]);
    assert.equal(settings.approvalTimeout, 90);
    assert.equal(settings.maxTurns, 5);
    assert.deepEqual(settings.retention, { keepRuns: 500, keepDays: 30 });
    assert.deepEqual(settings.redactKeys, Settings.parse({}).redactKeys);
  });

  void it('replaces an invalid setting by its default and says which', () => {
    const values: Partial<Record<SettingKey, unknown>> = {
      model: 'm',
      policy: [{ tool: 'write_file', action: 'sometimes' }],
      maxTurns: 0,
      'retention.keepDays': -1,
      'retention.keepRuns': 3,
    };
    const { settings, problems } = settingsFromConfiguration((k) => values[k]);
    assert.equal(settings.model, 'm');
    assert.deepEqual(settings.policy, []);
    assert.equal(settings.maxTurns, 25);
    assert.deepEqual(settings.retention, { keepRuns: 3, keepDays: 0 });
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /airlock\.policy/);
    assert.match(problems.join('\n'), /airlock\.maxTurns/);
    assert.match(problems.join('\n'), /airlock\.retention\.keepDays/);
  });

  void it('drops a redaction pattern that is not a regular expression (the host would refuse it)', () => {
    const values: Partial<Record<SettingKey, unknown>> = { redactPatterns: ['ok-[0-9]+', '(['] };
    const { settings, problems } = settingsFromConfiguration((k) => values[k]);
    assert.deepEqual(settings.redactPatterns, ['ok-[0-9]+']);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /airlock\.redactPatterns.*\(\[/);
  });

  void it('builds HostOptions the host accepts at initialize', () => {
    const { settings } = settingsFromConfiguration(() => undefined);
    const options = hostOptions('/work/ws', settings, '');
    assert.deepEqual(HostOptions.parse(options), options);
    assert.equal(options.db, '');
    assert.throws(() => hostOptions('', settings, ''));
  });
});

void describe('airlock.database (team mode)', () => {
  void it('takes a postgres:// URL or an absolute file; anything else is named and ignored', () => {
    assert.deepEqual(databaseLocation(undefined), { db: '', problem: '' });
    assert.deepEqual(databaseLocation('  '), { db: '', problem: '' });
    const url = 'postgres://dana@db.example.com:5432/airlock?sslmode=require';
    assert.deepEqual(databaseLocation(` ${url} `), { db: url, problem: '' });
    assert.deepEqual(databaseLocation('/srv/airlock/team.db'), {
      db: '/srv/airlock/team.db',
      problem: '',
    });
    const relative = databaseLocation('../elsewhere.db');
    assert.equal(relative.db, '');
    assert.match(relative.problem, /must be a postgres:\/\/ URL or an absolute file path/);
    assert.equal(databaseLocation(42).db, '');
  });

  void it('reaches the host with its password as HostOptions (db, dbPassword)', () => {
    const options = hostOptions('/w', Settings.parse({}), '', false, 'postgres://h/db', 'pw');
    assert.equal(options.db, 'postgres://h/db');
    assert.equal(options.dbPassword, 'pw');
    assert.equal(hostOptions('/w', Settings.parse({}), '').dbPassword, undefined);
  });
});
