// The CLI row's floor: one process of the pair doing the least an `airlock run` or `resume`
// must, with the parts the product is made of (the brief and SPEC name them: a sql.js database,
// the real openai client, zod at every boundary), and nothing of Airlock's own: start node, load
// sql.js and open the store's snapshot (SQLite compiled to WebAssembly; its first statement
// compiles the functions it runs), load zod and parse the arguments, make one streamed request
// through the openai client (Node's fetch), append a record and fdatasync it; `resume` also makes
// the tool's durable write (replaceDurably: temp file, fsync, rename, folder fsync).
//
// Bundled and minified as dist/cli-main.js is (bench/process.bench.ts), ES imports as Airlock's
// sources, so both load alike.
//
// usage: node cli-floor.js run|resume DB_FILE BASE_URL WORKSPACE SQL_WASM
import fs from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import OpenAI from 'openai';
import initSqlJs from 'sql.js';
import { z } from 'zod';
// The tool's own durable write, as the library cycle's floor makes it (bench/cycle.ts).
import { replaceDurably } from '../host/store/durable-file.ts';

// As dist/cli.js runs: sql.js's wasm from V8's baseline compiler only (host/cli/launch.ts says why).
setFlagsFromString('--liftoff-only');

const args = z
  .tuple([z.enum(['run', 'resume']), z.string(), z.url(), z.string(), z.string()])
  .parse(process.argv.slice(2));
const [phase, dbFile, baseURL, ws, wasm] = args;

async function main() {
  const SQL = await initSqlJs({ locateFile: () => wasm });
  const bytes = fs.existsSync(dbFile) ? fs.readFileSync(dbFile) : undefined;
  const db = new SQL.Database(bytes);
  db.exec('SELECT name FROM sqlite_master');
  const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  const messages = [{ role: 'user', content: 'Write notes.txt' }];
  if (phase === 'resume') {
    messages.push({ role: 'tool', tool_call_id: 'call_1', content: 'Wrote notes.txt' });
    await replaceDurably(path.join(ws, 'notes.txt'), 'floor\n');
  }
  const stream = await client.chat.completions.create({
    model: 'scripted',
    messages,
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += JSON.stringify(chunk);
  const record = fs.openSync(`${dbFile}.floor-journal`, 'a', 0o600);
  fs.writeSync(record, `${text.length}\n`);
  fs.fdatasyncSync(record);
  fs.closeSync(record);
  db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
