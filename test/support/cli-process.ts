// The `airlock` CLI as host tests run it: a real `node dist/cli.js` process (built by
// `node esbuild.mjs`) with an environment that inherits nothing that could pick a model, a
// database or a config folder, and its `--json` output parsed line by line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const SAMPLE = path.join(ROOT, 'sample-workspace');

export type Json = Record<string, unknown>;

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Nothing inherited that could pick a model, a database or a config folder. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OPENAI_|AIRLOCK_|XDG_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/**
 * A test sandbox's environment: `cleanEnv` with the data and config folders under `dir` (its
 * database, the developer's config and trust store never shape a test), and `extra`.
 */
export function sandboxEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    ...extra,
  });
}

const PROCESS_TIMEOUT = 300_000;

/** Runs a process to its end with stdin closed; its exit code and whole output. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A ceiling for a busy laptop: a process that never ends fails its test with what it said.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${path.basename(args[0] ?? cmd)} ${args.slice(1).join(' ')} did not end within ` +
            `${PROCESS_TIMEOUT} ms.\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, PROCESS_TIMEOUT);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every stdout line of a --json command parsed; fails on any line that is not JSON. */
export function jsonLines(stdout: string): Json[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Json;
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
}

/** The output event: the last line of a `run` / `resume --json`. */
export function outputOf(r: Result): Json & { status: Json; pending: string[] } {
  const last = jsonLines(r.stdout).at(-1);
  assert.equal(
    last?.type,
    'output',
    `the last line is the output event:\n${r.stdout}\n${r.stderr}`,
  );
  return last as Json & { status: Json; pending: string[] };
}
