// run_command (issue 15): a shell command in the workspace, behind the gate by default. The line
// runs in bash (the grammar its sub-commands were judged with) in a process group of its own, so
// a timeout or Cancel stops everything it started. Its environment is the developer's minus
// every variable whose name is a secret's (the redaction keys), plus AIRLOCK_RUN_ID. The model
// reads the exit code and a bounded tail of the output, redacted, with a note of what was cut.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { COMMAND_TOOL } from '../runtime/command-policy.js';
import { MAX_COMMAND_TIMEOUT } from '../settings-schema.js';
import { StreamRedactor, type Redactor } from '../runtime/redact.js';
import { Tool, ToolError, type ToolContext } from '../runtime/tool.js';
import { MAX_COMMAND_CHARS } from './command-line.js';
import { Workspace } from './workspace.js';

/** Bytes of output the model reads: the end of it, where the errors and the summary are. */
export const OUTPUT_TAIL_BYTES = 16 * 1024;
/** After SIGTERM, how long a process group has to stop before SIGKILL. */
const KILL_GRACE_MS = 2_000;

const Params = z.object({
  command: z.string().trim().min(1).max(MAX_COMMAND_CHARS),
  /** Workspace-relative working directory; the workspace root by default. */
  cwd: z.string().optional(),
  /** Seconds before the command is stopped: at most (and by default) airlock.commandTimeout. */
  timeout_s: z.number().positive().max(MAX_COMMAND_TIMEOUT).optional(),
});
export type RunCommandInput = z.output<typeof Params>;

export interface RunCommandOptions {
  /** Seconds (airlock.commandTimeout). */
  timeoutS: number;
  /** Masks the output the model and every surface see; its keys also filter the environment. */
  redactor: Redactor;
}

/** The shell that runs the line: bash, whose grammar judged it; sh where there is no bash. */
const SHELL = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';

export function runCommandTool(ws: Workspace, options: RunCommandOptions) {
  const dirOf = (input: RunCommandInput) => {
    const dir = ws.resolve(input.cwd ?? '.');
    let isDir = false;
    try {
      isDir = statSync(dir.abs).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir)
      throw new ToolError(`cwd ${JSON.stringify(input.cwd)} is not a folder in the workspace.`);
    return dir;
  };
  return Tool({
    name: COMMAND_TOOL,
    description:
      'Run a shell command (bash) in the workspace, e.g. to run the tests or a build. The developer approves each command unless a rule allows every part of it. Returns the exit code and the end of the output.',
    params: Params,
    requiresApproval: true,
    approvalPrompt: (input) => `Run \`${input.command}\`?`,
    command: (input) => {
      const dir = dirOf(input);
      return { line: input.command, root: ws.root, cwd: dir.abs, cwdRel: dir.rel };
    },
    once: true,
    stopLeftovers,
    handler: (input, ctx) => run(input, dirOf(input).abs, options, ctx),
  });
}

/**
 * The developer's environment without secrets, and the run's id; the call's id too, by which a
 * later host finds what a command cut off by its predecessor's death left running.
 */
export function commandEnv(
  env: NodeJS.ProcessEnv,
  redactor: Redactor,
  runId: string,
  callId: string,
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !redactor.isSecretName(name)) out[name] = value;
  }
  out.AIRLOCK_RUN_ID = runId;
  out.AIRLOCK_CALL_ID = callId;
  return out;
}

/**
 * Stops the processes a call's command left running when the host that ran it died: those whose
 * environment names this run and call (Linux's /proc; elsewhere none are found). Only this
 * user's processes are readable, and only an exact match of both ids is stopped.
 */
async function stopLeftovers(call: { runId: string; callId: string }): Promise<number> {
  const marks = [`AIRLOCK_RUN_ID=${call.runId}`, `AIRLOCK_CALL_ID=${call.callId}`];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const vars = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      if (marks.every((m) => vars.includes(m))) found.push(Number(entry));
    } catch {
      // gone, or another user's
    }
  }
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found.length;
}

async function run(
  input: RunCommandInput,
  cwd: string,
  options: RunCommandOptions,
  ctx: ToolContext,
): Promise<string> {
  // The model may shorten the developer's timeout, never lengthen it.
  const timeoutS = Math.min(input.timeout_s ?? options.timeoutS, options.timeoutS);
  const child = spawn(SHELL, ['-c', input.command], {
    cwd,
    env: commandEnv(process.env, options.redactor, ctx.runId, ctx.callId),
    detached: true, // its own process group: a timeout or Cancel stops all it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new Tail(OUTPUT_TAIL_BYTES);
  const live = new StreamRedactor(options.redactor);
  const onData = (chunk: Buffer) => {
    tail.push(chunk);
    const shown = live.push(chunk.toString('utf8'));
    if (shown) ctx.output?.(shown);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let stopped: 'timeout' | 'cancel' | null = null;
  let killer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'cancel') => {
    stopped ??= why;
    signalGroup(child.pid, 'SIGTERM');
    killer ??= setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => stop('timeout'), timeoutS * 1000);
  const onAbort = () => stop('cancel');
  ctx.signal.addEventListener('abort', onAbort);
  if (ctx.signal.aborted) onAbort();
  const exit = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      // When the shell exits, what it left running in the background is stopped too: the pipes
      // close only once every holder is gone.
      child.once('exit', () => signalGroup(child.pid, 'SIGTERM'));
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  ).finally(() => {
    clearTimeout(timer);
    clearTimeout(killer);
    ctx.signal.removeEventListener('abort', onAbort);
  });
  const rest = live.flush();
  if (rest) ctx.output?.(rest);
  const output = options.redactor.text(tail.text());
  const cut = tail.dropped
    ? `[the first ${tail.dropped} bytes of ${tail.total} were cut; the last ${tail.total - tail.dropped} follow]\n`
    : '';
  const body = tail.total ? `\n${cut}${output}` : '\n(no output)';
  if (stopped === 'timeout') {
    throw new ToolError(
      `The command timed out after ${timeoutS} s and was stopped with everything it started.${body}`,
    );
  }
  if (stopped === 'cancel')
    throw new ToolError(`The run was cancelled; the command was stopped.${body}`);
  if (exit.code === 0) return `Exit code 0.${body}`;
  const how = exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  throw new ToolError(`The command failed (${how}).${body}`);
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** The last `limit` bytes of a stream, and how much came before them. */
class Tail {
  private chunks: Buffer[] = [];
  private held = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  get dropped(): number {
    return this.total - Math.min(this.total, this.limit);
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held - this.chunks[0]!.length >= this.limit)
      this.held -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    let start = Math.max(0, all.length - this.limit);
    // Start on a character, not inside a multi-byte one.
    while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
    return all.subarray(start).toString('utf8');
  }
}
