// Rows 4, 7 and 8: what whole processes pay. The CLI's `run` + `resume` pair beside two bare
// node processes; requiring and activating dist/extension.js beside an empty module; bundle sizes.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScriptedModelServer } from '../host/model/scripted-server.js';
import { runProcess, type Result } from '../test/support/cli-process.js';
import { cycleScript } from './cycle.js';
import { CLI } from './host-process.js';
import { englishOnlyZod } from '../scripts/esbuild-plugins.mjs';
import { addRow, cycles, fmt, interleave, notes, now, ratio, stats } from './lib.js';

/** A node process with these arguments, run to its end. */
function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return runProcess(process.execPath, args, { cwd: process.cwd(), env });
}

function lastJson(out: Result): Record<string, unknown> {
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${out.code}): ${out.stdout}\n${out.stderr}`);
  }
}

/** Airlock's process beside its peer or floor, 30 samples interleaved after 2 of each: a row. */
async function processRow(
  measure: string,
  peer: string,
  target: string,
  airlock: () => Promise<number>,
  other: () => Promise<number>,
): Promise<void> {
  const r = await interleave(cycles(30, 4), 2, airlock, other);
  const a = stats(r.a);
  const b = stats(r.b);
  addRow({
    measure,
    airlock: fmt(a),
    peer: `${peer} ${fmt(b)}`,
    ratio: `p50 ${ratio(a.p50, b.p50)}`,
    target,
  });
}

/** Nothing inherited that could pick another model, database or config folder. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OPENAI_|AIRLOCK_|XDG_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

async function cliRow(root: string): Promise<void> {
  const server = await ScriptedModelServer.start(cycleScript);
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-cli-ws-'));
  const env = cleanEnv({
    AIRLOCK_DB: path.join(root, 'cli', 'airlock.db'),
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: server.baseURL,
    AIRLOCK_MODEL: 'scripted',
    XDG_CONFIG_HOME: path.join(root, 'cli', 'config'),
    // Its own code cache (host/cli/launch.ts), made by the warm-up: a user's from the second
    // command on.
    XDG_CACHE_HOME: path.join(root, 'cli', 'cache'),
  });
  try {
    const pair = async (): Promise<number> => {
      const t0 = now();
      const paused = lastJson(
        await run([CLI, 'run', 'Write notes.txt', '--workspace', ws, '--json'], env),
      );
      const id = (paused.pending as string[] | undefined)?.[0];
      if (!id) throw new Error(`the CLI run did not pause: ${JSON.stringify(paused)}`);
      const done = await run(
        [CLI, 'resume', String(paused.run_id), '--approve', id, '--json'],
        env,
      );
      const t1 = now();
      if (done.code !== 0) throw new Error(`the CLI resume failed: ${done.stdout}\n${done.stderr}`);
      return t1 - t0;
    };
    const bare = async (): Promise<number> => {
      const t0 = now();
      await run(['-e', '0']);
      await run(['-e', '0']);
      return now() - t0;
    };
    // The floor with the product's parts (bench/cli-floor.mjs): what is left above it is
    // Airlock's own code.
    const floorScript = await bundleFloor(root);
    const wasm = path.resolve('node_modules/sql.js/dist/sql-wasm.wasm');
    const floorPair = async (): Promise<number> => {
      const t0 = now();
      for (const phase of ['run', 'resume']) {
        const out = await run([floorScript, phase, env.AIRLOCK_DB!, server.baseURL, ws, wasm]);
        if (out.code !== 0) throw new Error(`the CLI floor failed: ${out.stderr}`);
      }
      return now() - t0;
    };
    await processRow(
      'CLI `run` + `resume` process pair (dist/cli.js, scripted model, AIRLOCK_DB)',
      '2 × `node -e 0`',
      '≤ 2.5×',
      pair,
      bare,
    );
    await processRow(
      "CLI pair, floor with the product's parts: 2 node processes loading sql.js (the store's snapshot, one statement), zod and the openai client (one streamed request), a record fdatasync'd; the second also the tool's durable write",
      'floor',
      'the least the row above can reach',
      pair,
      floorPair,
    );
  } finally {
    await server.close();
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

/** bench/cli-floor.mjs bundled and minified as dist/cli.js is (esbuild.mjs --production). */
async function bundleFloor(root: string): Promise<string> {
  const outfile = path.join(root, 'cli-floor.js');
  await esbuild.build({
    entryPoints: ['bench/cli-floor.mjs'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'warning',
    plugins: [englishOnlyZod],
  });
  return outfile;
}

async function activateRow(): Promise<void> {
  const child = path.resolve('bench/activate-child.cjs');
  const once = async (target: string): Promise<number> => {
    const out = await run([child, target]);
    if (out.code !== 0) throw new Error(`activate() failed for ${target}:\n${out.stderr}`);
    return (JSON.parse(out.stdout) as { ms: number }).ms;
  };
  notes.push(
    'Activation: each sample is a fresh node process that requires the module and awaits activate() with a stand-in `vscode` (every property, call and `new` answers another stand-in) and a stand-in ExtensionContext; the time is measured inside the process from before the require.',
  );
  const ext = path.resolve('dist/extension.js');
  const empty = path.resolve('bench/empty-extension.cjs');
  try {
    await processRow(
      "`require('dist/extension.js')` + `activate()` (production bundle, stand-in `vscode`)",
      'empty module',
      'activation ≤ 15 ms',
      () => once(ext),
      () => once(empty),
    );
  } catch (err) {
    notes.push(`activation row not measured: ${err instanceof Error ? err.message : String(err)}`);
    console.error(err);
  }
}

function bundleRow(): void {
  const sizes = fs
    .readdirSync('dist')
    .filter((f) => f.endsWith('.js'))
    .map(
      (f) =>
        `${f.replace(/\.js$/, '')} ${(fs.statSync(path.join('dist', f)).size / 1024).toFixed(0)} KB`,
    );
  addRow({
    measure: 'bundles (production), dist/*.js',
    airlock: sizes.join(', '),
    peer: 'issue baseline: webview 477 KB, extension 910 KB, host 995 KB',
    ratio: '—',
    target: 'smaller still',
  });
}

export async function processRows(root: string): Promise<void> {
  await cliRow(root);
  await activateRow();
  bundleRow();
}
