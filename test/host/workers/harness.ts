// The parent's side of test/host/workers/store-worker.ts: spawn a worker as a real process, read
// its JSON lines as they come, kill it, wait for it. Shared by the store's crash and race tests.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { WorkerConfig, WorkerLine } from './store-worker.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const WORKER = path.join(__dirname, 'store-worker.ts');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Worker {
  readonly child: ChildProcess;
  readonly lines: WorkerLine[] = [];
  stderr = '';
  /** Resolves once the process exited and all of its output was read. */
  readonly exited: Promise<Exit>;
  private readonly listeners = new Set<(line: WorkerLine) => void>();

  constructor(config: WorkerConfig, env: Record<string, string> = {}) {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(OPENAI_|AIRLOCK_)/.test(k) && k !== 'NODE_OPTIONS' && k !== 'NODE_TEST_CONTEXT') {
        clean[k] = v;
      }
    }
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (text) => {
      let line: WorkerLine;
      try {
        line = JSON.parse(text) as WorkerLine;
      } catch {
        this.stderr += `(not JSON on stdout) ${text}\n`;
        return;
      }
      this.lines.push(line);
      for (const listener of this.listeners) listener(line);
    });
    const closed = new Promise<void>((resolve) => lines.once('close', resolve));
    const exit = new Promise<Exit>((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.exited = Promise.all([exit, closed]).then(([e]) => e);
  }

  get pid(): number {
    return this.child.pid!;
  }

  onLine(listener: (line: WorkerLine) => void): void {
    this.listeners.add(listener);
  }

  /** Resolves with the first line (already read or still to come) that matches. */
  waitFor(match: (line: WorkerLine) => boolean): Promise<WorkerLine | null> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (line: WorkerLine) => {
        if (!match(line)) return;
        this.listeners.delete(listener);
        resolve(line);
      };
      this.listeners.add(listener);
      void this.exited.then(() => resolve(null));
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** A deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
