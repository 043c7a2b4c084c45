// Schema versions (issue 3): a database written by an older Airlock is migrated forward on open
// (tested on a real schema-1 file committed in test/fixtures), the old file is kept as FILE.prev,
// and a database from a newer Airlock is refused with a message saying to update, untouched.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runTool, Tool } from '../../host/runtime/index.js';
import { loadSqlJs, SCHEMA_VERSION, SqlJsStore } from '../../host/store/sqljs-store.js';
import { openStore, tempDir } from '../support/scratch.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'schema-v1.db');
const PAUSED = 'run_fixture_paused';
const DONE = 'run_fixture_done';
const APPROVAL = 'apr_8c926bbd995b95890f8a1a8c';

/**
 * The tool the fixture's runs were made with: a refund over 100 needs approval and the card
 * masks the customer id.
 */
const refund = Tool({
  name: 'refund',
  description: 'Refund a customer.',
  params: z.object({ amount: z.number(), customer_id: z.string() }),
  requiresApproval: ({ amount }) => amount > 100,
  approvalRedactKeys: ['customer_id'],
  handler: ({ amount, customer_id }) => `refunded $${amount} to ${customer_id}`,
});

/** A value of the `meta` table in a database file, read with sql.js directly. */
async function metaOf(file: string, key: string): Promise<string | undefined> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(file));
  try {
    const value = db.exec('SELECT value FROM meta WHERE key = ?', [key])[0]?.values[0]?.[0];
    return value === undefined ? undefined : String(value);
  } finally {
    db.close();
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every file in `dir` and the SHA-256 of its bytes. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = sha256(path.join(dir, name));
  return out;
}

/** Lets the event loop turn once: a store keeps its lock file until the end of the tick. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rewrites a database file's schema_version, as a newer Airlock would have written it. */
async function stampVersion(file: string, version: number): Promise<void> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(file));
  db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(version)]);
  fs.writeFileSync(file, db.export());
  db.close();
}

// ---------------------------------------------------------------------------------------------

void describe('migrating a schema-1 database', () => {
  void it('keeps an old always-allow rule, now with an id, listed as covering the whole tool', async () => {
    const file = path.join(tempDir('v1rules'), 'airlock.db');
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(FIXTURE));
    db.run(
      "INSERT INTO rules (workspace, tool, paths, action, created_at) VALUES ('/ws', 'write_file', NULL, 'allow', '2026-01-01T00:00:00.000Z')",
    );
    fs.writeFileSync(file, db.export());
    db.close();
    const store = await openStore(file);
    const rules = store.rules('/ws');
    assert.equal(rules.length, 1);
    assert.match(rules[0]!.rule_id, /^rule_legacy_/);
    assert.deepEqual(
      [rules[0]!.tool, rules[0]!.cover, rules[0]!.action, rules[0]!.run_id, rules[0]!.paths],
      ['write_file', 'tool', 'allow', null, undefined],
    );
    store.commit([{ op: 'revokeRule', rule_id: rules[0]!.rule_id, at: 'now', by: 'dana' }]);
    assert.deepEqual(store.rules('/ws'), [], 'revocable like any rule');
  });

  void it('migrates to the current schema, keeps the old file as FILE.prev, and the paused run resumes', async () => {
    const dir = tempDir('v1');
    const file = path.join(dir, 'airlock.db');
    fs.copyFileSync(FIXTURE, file);
    const original = fs.readFileSync(FIXTURE);
    assert.equal(await metaOf(file, 'schema_version'), '1', 'the fixture is schema 1');

    const store = await openStore(file);
    assert.deepEqual(store.warnings, []);
    assert.equal(await metaOf(file, 'schema_version'), String(SCHEMA_VERSION));
    assert.ok(fs.readFileSync(`${file}.prev`).equals(original), 'the schema-1 file is FILE.prev');

    const runs = new Map(store.listRuns().map((r) => [r.run_id, r]));
    assert.deepEqual([...runs.keys()].sort(), [DONE, PAUSED]);
    assert.equal(runs.get(PAUSED)?.status, 'paused');
    assert.equal(runs.get(PAUSED)?.pending, 1);
    assert.equal(runs.get(DONE)?.status, 'success');
    assert.equal(runs.get(DONE)?.nested_in, null, 'the new column reads as not nested');
    assert.deepEqual(
      store.events(DONE).map((e) => e.event.type),
      ['start', 'tool_result', 'output'],
    );
    // Schema 9 packs finished runs' events into one row each (the paused run keeps its rows).
    const SQL = await loadSqlJs();
    const migrated = new SQL.Database(fs.readFileSync(file));
    const eventRows = (id: string) =>
      Number(
        migrated.exec('SELECT count(*) FROM events WHERE run_id = ?', [id])[0]?.values[0]?.[0],
      );
    assert.equal(eventRows(DONE), 0);
    assert.ok(eventRows(PAUSED) > 0);
    assert.equal(
      migrated
        .exec('SELECT run_id FROM packed_events')[0]
        ?.values.map((v) => v[0])
        .join(),
      DONE,
    );
    migrated.close();
    const pending = store.pending();
    assert.deepEqual(
      pending.map((p) => [p.run_id, p.id]),
      [[PAUSED, APPROVAL]],
    );
    assert.deepEqual((pending[0]!.event as { input: unknown }).input, {
      amount: 250,
      customer_id: '***',
    });

    const out = await runTool(refund, {
      store,
      runId: PAUSED,
      resume: { [APPROVAL]: true },
    }).collect();
    assert.equal(out.status.code, 'success', out.status.message);
    assert.equal(out.output, 'refunded $250 to C-42');

    // What another process opening the migrated database sees.
    const fresh = await openStore(file);
    assert.deepEqual(fresh.warnings, []);
    assert.equal(fresh.getRun(PAUSED)?.row.status, 'success');
    assert.deepEqual(fresh.pending(), []);
    assert.deepEqual(
      fresh.claims(PAUSED).map((c) => c.id),
      [APPROVAL],
    );
    assert.deepEqual(
      fresh.decisions(PAUSED).map((d) => d.id),
      [APPROVAL],
    );
    assert.equal(fresh.getRun(DONE)?.row.status, 'success');
    assert.ok(fs.readFileSync(`${file}.prev`).equals(original), 'FILE.prev is still schema 1');
  });

  void it('opening the migrated database again migrates nothing more and keeps FILE.prev', async () => {
    const dir = tempDir('again');
    const file = path.join(dir, 'airlock.db');
    fs.copyFileSync(FIXTURE, file);
    (await openStore(file)).close();
    const migrated = contents(dir);
    const second = await openStore(file);
    assert.deepEqual(second.warnings, []);
    await settled();
    assert.deepEqual(contents(dir), migrated, 'a second open writes nothing');
    assert.equal(second.listRuns().length, 2);
  });
});

void describe('a database from a newer Airlock', () => {
  async function assertRefusedUntouched(file: string): Promise<void> {
    const dir = path.dirname(file);
    const before = contents(dir);
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(SqlJsStore.open(file), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /newer Airlock \(schema 999; this one reads up to \d+\)/);
        assert.match(err.message, /Update Airlock/);
        assert.match(err.message, /left untouched/);
        return true;
      });
      await settled();
      assert.deepEqual(contents(dir), before, 'no file was written, moved or removed');
    }
  }

  void it('a single-file database stamped schema 999 is refused, its bytes untouched', async () => {
    const dir = tempDir('v999');
    const file = path.join(dir, 'airlock.db');
    fs.copyFileSync(FIXTURE, file);
    await stampVersion(file, 999);
    await assertRefusedUntouched(file);
  });

  void it('a snapshot-and-journal database stamped schema 999 is refused, every file untouched', async () => {
    const dir = tempDir('v999-journal');
    const file = path.join(dir, 'airlock.db');
    const store = await SqlJsStore.open(file);
    const out = await runTool(refund, {
      store,
      input: { amount: 5, customer_id: 'C-1' },
    }).collect();
    assert.equal(out.status.code, 'success');
    store.close();
    assert.ok(fs.statSync(`${file}.journal`).size > 0, 'the run is in the journal');
    // A newer Airlock's snapshot, with a manifest that vouches for it.
    await stampVersion(file, 999);
    const bytes = fs.readFileSync(file);
    const info = { seq: 0, crc: crc32(bytes), size: bytes.length };
    fs.writeFileSync(`${file}.manifest`, JSON.stringify({ current: info, prev: null }));
    await assertRefusedUntouched(file);
  });
});
