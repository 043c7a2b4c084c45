// `npm start`: build, copy the sample workspace to a fresh folder, and run the agent there from
// the terminal. Without OPENAI_API_KEY it uses the offline demo model, which walks through an
// edit approval, a question and a delete approval; decisions are asked inline.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const build = spawnSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const workspace = mkdtempSync(join(tmpdir(), 'airlock-sample-'));
cpSync('sample-workspace', workspace, { recursive: true });
const db = join(workspace, '..', `${workspace.split('/').pop()}.db`);
const usingDemo = !process.env.OPENAI_API_KEY && !process.env.OPENAI_BASE_URL;
console.log(`Sample workspace: ${workspace}`);
console.log(`Database:         ${db}`);
console.log(
  usingDemo ? 'Model:            demo (offline; set OPENAI_API_KEY for a real model)\n' : '',
);

const prompt = process.argv[2] ?? 'Fix the typo in src/greet.js and tidy up the notes.';
const run = spawnSync(
  process.execPath,
  ['dist/cli.js', 'run', prompt, '--workspace', workspace, '--db', db],
  { stdio: 'inherit' },
);
console.log(`\nInspect the run: node dist/cli.js runs --db ${db}`);
process.exit(run.status ?? 1);
