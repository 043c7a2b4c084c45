// The built-in file tools (SPEC §4). Reads run freely; writes, edits and deletes sit behind the
// approval gate with a diff preview, check that the file still has the approved hash, and are
// idempotent so a handler re-run after a crash never applies a change twice.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { z } from 'zod';
import type { FilePreview } from '../protocol/events.js';
import { byteSize, settingHint } from '../model/model.js';
import { globMatcher as matchesGlob } from '../runtime/glob.js';
// Durable writes (temp file, fsync, rename, folder fsync) are the run store's own.
import { fsyncDirAsync, replaceDurably } from '../store/durable-file.js';
import { contentText, textLineCounts } from '../runtime/changes.js';
import { sha256 } from '../runtime/ids.js';
import { LIMIT_DEFAULTS } from '../settings-schema.js';
import {
  StaleBaseError,
  Tool,
  ToolError,
  type FileProposal,
  type ToolContext,
} from '../runtime/tool.js';
import { BufferHeldError, NO_BUFFERS, type OpenBuffers } from './open-buffers.js';
import { Workspace, type ResolvedPath } from './workspace.js';

/** What read_file reads of one file by default (airlock.maxReadBytes). */
export const MAX_READ_BYTES: number = LIMIT_DEFAULTS.maxReadBytes;
/**
 * The largest file a change tool (write, edit, delete) works on: its whole content is read to
 * hash it and to diff it, and a diff larger than this cannot be reviewed anyway.
 */
const MAX_CHANGE_FILE_BYTES = 16 * 1024 * 1024;
const MAX_LIST_ENTRIES = 500;
const MAX_SEARCH_MATCHES = 200;
const MAX_SEARCH_FILE_BYTES = 1024 * 1024;
const MAX_MATCH_LINE_CHARS = 200;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

// ---------------------------------------------------------------------------------------------
// Reading the current state of a file

export interface Current {
  bytes: Buffer;
  /** The content as text, or null when the file is binary (NUL bytes or invalid UTF-8). */
  text: string | null;
  sha: string;
  mode: number;
  /** Read from the developer's open, unsaved buffer rather than the disk (SPEC §7). */
  unsaved?: true;
}

/**
 * The file as the developer sees it: the open buffer when it has unsaved changes, else the disk.
 * `held`: the file is dirty in an editor this process cannot change, so a change must not go on.
 */
export async function readCurrent(
  ws: Workspace,
  target: ResolvedPath,
  forChange = false,
): Promise<Current | null> {
  const state = ws.buffers.state(target.rel);
  if (state === 'held' && forChange) {
    throw new BufferHeldError(
      target.rel,
      `${target.rel} has unsaved changes in a VS Code window; nothing was written. Decide it in that window (it changes the open document), or save or revert the file there and approve again.`,
    );
  }
  const text = state === 'open' ? await ws.buffers.read(target.rel) : null;
  // The file on disk is checked either way (a regular file); its bytes are read only without a
  // buffer, whose text stands in for them under the same size bound.
  const small = text === null ? readInPlace(target) : undefined;
  if (small === null) return null;
  const info =
    small?.info ??
    (await changeTarget(target, text === null ? null : Buffer.byteLength(text, 'utf8')));
  if (!info) return null;
  const bytes =
    small?.bytes ?? (text === null ? await readFile(target.abs) : Buffer.from(text, 'utf8'));
  return {
    bytes,
    text: text ?? contentText(bytes),
    sha: sha256(bytes),
    mode: info.mode & 0o7777,
    ...(text === null ? {} : { unsaved: true as const }),
  };
}

/**
 * Files up to this size are read in place, synchronously: every asynchronous fs call is a round
 * trip through libuv's thread pool (0.3 to 1 ms each on a busy 2-core machine, where a stat and a
 * readFile were 40% of the time from the model's tool call to the gate), while reading 1 MiB in
 * place costs about one such trip. Larger files go through the pool, so no file stalls the event
 * loop for long.
 */
const READ_IN_PLACE_BYTES = 1024 * 1024;

/** A failed open of a target: null when nothing is there; a directory or other error thrown. */
function nothingThere(target: ResolvedPath, error: unknown): null {
  if (isMissing(error)) return null;
  if (error instanceof Error && 'code' in error && error.code === 'EISDIR') {
    throw new ToolError(`${target.rel} is a directory, not a file.`);
  }
  throw error;
}

/**
 * A small file's bytes and stats, read through one descriptor (the checks and the read see the
 * same file: a FIFO swapped in after a check cannot block the event loop); null when nothing is
 * there, undefined when the file is too large to read in place.
 */
function readInPlace(target: ResolvedPath): { info: Stats; bytes: Buffer } | null | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO returns at once (it is refused below, as not a regular file).
    fd = openSync(target.abs, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    return nothingThere(target, error);
  }
  try {
    const info = checkedTarget(target, fstatSync(fd), null);
    if (info.size > READ_IN_PLACE_BYTES) return undefined;
    // The size fstat gave, no more: readFileSync(fd) would read on while a process appends.
    const bytes = Buffer.alloc(info.size);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) break; // the file shrank meanwhile
      got += n;
    }
    return { info, bytes: bytes.subarray(0, got) };
  } finally {
    closeSync(fd);
  }
}

/**
 * The file a change tool works on, or null when nothing is there; directories, devices and files
 * over MAX_CHANGE_FILE_BYTES (on disk, or `size` for an open buffer's text) are refused.
 */
async function changeTarget(target: ResolvedPath, size: number | null): Promise<Stats | null> {
  let info;
  try {
    info = await stat(target.abs);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  return checkedTarget(target, info, size);
}

function checkedTarget(target: ResolvedPath, info: Stats, size: number | null): Stats {
  if (info.isDirectory()) throw new ToolError(`${target.rel} is a directory, not a file.`);
  if (!info.isFile()) throw new ToolError(`${target.rel} is not a regular file.`);
  const bytes = size ?? info.size;
  if (bytes > MAX_CHANGE_FILE_BYTES) {
    throw new ToolError(
      `${target.rel} is ${bytes} bytes; Airlock writes, edits and deletes files of up to ${MAX_CHANGE_FILE_BYTES} bytes (a larger change cannot be reviewed as a diff). Leave it to the developer.`,
    );
  }
  return info;
}

/**
 * At most `limit` bytes from the start of a regular file, and the file's size: opened and read in
 * part, so a huge file costs no more memory than `limit`. Null when nothing is there.
 */
async function readHead(
  target: ResolvedPath,
  limit: number,
): Promise<{ bytes: Buffer; size: number } | null> {
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted in the workspace must not hang the open (it is refused below).
    handle = await open(target.abs, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    return nothingThere(target, error);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new ToolError(`${target.rel} is a directory, not a file.`);
    if (!info.isFile()) throw new ToolError(`${target.rel} is not a regular file.`);
    const bytes = Buffer.alloc(Math.min(limit, info.size));
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await handle.read(bytes, got, bytes.length - got, got);
      if (bytesRead === 0) break; // the file shrank meanwhile
      got += bytesRead;
    }
    return { bytes: bytes.subarray(0, got), size: Math.max(info.size, got) };
  } finally {
    await handle.close();
  }
}

/** readHead, from the open buffer when the file has unsaved changes (what the developer sees). */
async function readOpenOrHead(
  ws: Workspace,
  target: ResolvedPath,
  limit: number,
): Promise<{ bytes: Buffer; size: number } | null> {
  if (ws.buffers.state(target.rel) === 'open') {
    const text = await ws.buffers.read(target.rel);
    if (text !== null) {
      const bytes = Buffer.from(text, 'utf8');
      return { bytes: bytes.subarray(0, limit), size: bytes.length };
    }
  }
  return readHead(target, limit);
}

/** The first part of a file as text; a character cut in two at the end is left out. */
function decodeHead(bytes: Buffer, whole: boolean): string | null {
  if (whole) return contentText(bytes);
  for (let cut = 0; cut <= Math.min(3, bytes.length); cut++) {
    const text = contentText(bytes.subarray(0, bytes.length - cut));
    if (text !== null) return text;
  }
  return null;
}

function requireText(current: Current, rel: string): string {
  if (current.text === null) {
    throw new ToolError(
      `${rel} is a binary file (${current.bytes.length} bytes); it cannot be edited as text.`,
    );
  }
  return current.text;
}

// ---------------------------------------------------------------------------------------------
// Diffs and edits

function unifiedDiff(rel: string, before: Current | null, after: string): string {
  if (before && before.text === null) return `Binary files a/${rel} and b/${rel} differ\n`;
  return createTwoFilesPatch(
    `a/${rel}`,
    `b/${rel}`,
    before?.text ?? '',
    after,
    undefined,
    undefined,
    {
      headerOptions: FILE_HEADERS_ONLY,
    },
  );
}

/** The file's text with `oldString` replaced, or a ToolError saying why that is impossible. */
function applyEdit(text: string, rel: string, oldString: string, newString: string): string {
  if (oldString === '') {
    throw new ToolError(
      'old_string is empty: give the exact text to replace (use write_file to create a file).',
    );
  }
  if (oldString === newString) {
    throw new ToolError('old_string and new_string are identical: there is nothing to change.');
  }
  let oldText = oldString;
  let newText = newString;
  // Models write "\n"; a CRLF file holds "\r\n". Retry in the file's own line endings.
  if (!text.includes(oldText) && text.includes('\r\n') && !oldText.includes('\r')) {
    oldText = oldText.replace(/\n/g, '\r\n');
    newText = newText.replace(/\r?\n/g, '\r\n');
  }
  const first = text.indexOf(oldText);
  if (first < 0) {
    throw new ToolError(
      `old_string was not found in ${rel}. Read the file again and copy the exact text, including whitespace.`,
    );
  }
  if (text.indexOf(oldText, first + 1) >= 0) {
    throw new ToolError(
      `old_string is ambiguous: it occurs more than once in ${rel}. Include more surrounding context so it matches exactly one place.`,
    );
  }
  // slice, not String.replace: `$&`-style patterns in new_string must stay literal.
  return text.slice(0, first) + newText + text.slice(first + oldText.length);
}

/**
 * After a crash between write and record, the file already holds the edit but old_string is gone.
 * Undoing the edit (new_string → old_string at each occurrence) and finding the approved hash
 * proves the edit was applied to exactly the approved base.
 */
function editAlreadyApplied(
  text: string,
  oldString: string,
  newString: string,
  baseSha: string | null,
): boolean {
  if (baseSha === null || newString === '' || oldString === '') return false;
  const pairs: [string, string][] = [[oldString, newString]];
  if (text.includes('\r\n') && !oldString.includes('\r')) {
    pairs.push([oldString.replace(/\n/g, '\r\n'), newString.replace(/\r?\n/g, '\r\n')]);
  }
  for (const [before, after] of pairs) {
    for (let at = text.indexOf(after); at >= 0; at = text.indexOf(after, at + 1)) {
      const undone = text.slice(0, at) + before + text.slice(at + after.length);
      if (sha256(Buffer.from(undone, 'utf8')) === baseSha) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Writing safely

/** Nothing was approved against another version of the file (null: the file did not exist). */
function checkBase(ctx: ToolContext, rel: string, currentSha: string | null): void {
  if (ctx.approval && ctx.approval.baseSha256 !== currentSha) throw new StaleBaseError(rel);
}

/** Runs a file operation, turning file-system failures into tool errors the model can read. */
async function fsStep<T>(what: string, rel: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ToolError || error instanceof StaleBaseError) throw error;
    if (error instanceof Error && 'code' in error) {
      throw new ToolError(`Could not ${what} ${rel}: ${error.message}`);
    }
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    (error.code === 'ENOENT' || error.code === 'ENOTDIR')
  );
}

function preview(
  kind: FilePreview['kind'],
  rel: string,
  before: Current | null,
  after: string,
): FilePreview {
  return {
    kind,
    path: rel,
    base_sha256: before ? before.sha : null,
    before_bytes: before ? before.bytes.length : 0,
    after_bytes: kind === 'delete' ? 0 : Buffer.byteLength(after, 'utf8'),
    diff: unifiedDiff(rel, before, after),
  };
}

/** For prompts and policy: the resolved relative path, or the raw one when it cannot resolve. */
function relOrRaw(ws: Workspace, raw: string): string {
  try {
    return ws.resolve(raw).rel;
  } catch {
    return raw;
  }
}

// ---------------------------------------------------------------------------------------------
// Walking the tree (list_files, search_text)

interface Entry {
  abs: string;
  rel: string;
  dir: boolean;
}

/**
 * Breadth first, so a capped listing shows the top of the tree; skips .git, node_modules and
 * paths the policy denies, and does not follow symlinks (they may lead outside, or in circles).
 */
async function* walk(
  ws: Workspace,
  start: string,
  ctx: Pick<ToolContext, 'signal' | 'visible'>,
): AsyncGenerator<Entry> {
  const { signal } = ctx;
  const queue = [start];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    if (signal.aborted) return;
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      continue; // unreadable directory: list what can be listed
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const dirent of names) {
      const abs = path.join(dir, dirent.name);
      const rel = ws.relOf(abs);
      // A path the policy denies is not listed, searched or descended into (SPEC §9).
      if (!ctx.visible(rel)) continue;
      if (dirent.isDirectory()) {
        if (SKIPPED_DIRS.has(dirent.name)) continue;
        queue.push(abs);
        yield { abs, rel, dir: true };
      } else if (dirent.isFile()) {
        yield { abs, rel, dir: false };
      }
    }
  }
}

// Matches the glob, with the meaning policy rules give it (host/runtime/glob.ts: the whole path,
// so `*.md` at the top only and `**/*.md` at any depth), against the workspace-relative path or
// the path below the listed folder.
function globMatcher(glob: string | undefined, base: string): (rel: string) => boolean {
  if (!glob) return () => true;
  const isMatch = matchesGlob(glob);
  const prefix = base === '.' ? '' : `${base}/`;
  return (rel) =>
    isMatch(rel) || (prefix !== '' && rel.startsWith(prefix) && isMatch(rel.slice(prefix.length)));
}

// ---------------------------------------------------------------------------------------------
// The tools

/** Factories accept a shared Workspace (one realpath of the root) or a root directory. */
export type WorkspaceLike = Workspace | string;

function asWorkspace(ws: WorkspaceLike): Workspace {
  return typeof ws === 'string' ? new Workspace(ws) : ws;
}

export interface ReadOptions {
  /** Bytes read_file reads of one file (airlock.maxReadBytes); default MAX_READ_BYTES. */
  maxReadBytes?: number;
}

export function readFileTool(workspace: WorkspaceLike, options: ReadOptions = {}) {
  const ws = asWorkspace(workspace);
  const limit = options.maxReadBytes ?? MAX_READ_BYTES;
  return Tool({
    name: 'read_file',
    description: 'Read a text file in the workspace. Returns its exact content.',
    params: z.object({
      path: z.string().min(1).describe('File path, relative to the workspace root.'),
    }),
    requiresApproval: false,
    policyPath: (input) => relOrRaw(ws, input.path),
    handler: async (input) => {
      const target = ws.resolve(input.path);
      const head = await fsStep('read', target.rel, () => readOpenOrHead(ws, target, limit));
      if (!head) throw new ToolError(`${target.rel} does not exist.`);
      const whole = head.bytes.length >= head.size;
      const text = decodeHead(head.bytes, whole);
      // NUL bytes or invalid UTF-8 in what was read: binary, and not sent to the model.
      if (text === null) return `${target.rel} is a binary file (${head.size} bytes); not shown.`;
      if (whole) return text === '' ? `(${target.rel} is empty)` : text;
      return (
        `${text}\n… (${target.rel} is ${byteSize(head.size)}: only its first ${head.bytes.length} ` +
        `bytes were read, the limit (${settingHint('maxReadBytes')}). The rest was not read: ` +
        'use search_text to find the lines you need.)'
      );
    },
  });
}

export function listFilesTool(workspace: WorkspaceLike) {
  const ws = asWorkspace(workspace);
  return Tool({
    name: 'list_files',
    description:
      'List files and folders (folders end with "/") recursively under a workspace folder, skipping .git and node_modules. Optionally filter files by a glob.',
    params: z.object({
      path: z
        .string()
        .optional()
        .describe('Folder to list, relative to the workspace root. Default: the root.'),
      glob: z
        .string()
        .optional()
        .describe(
          'Only list files matching this glob, matched against the path from the workspace root (or from the listed folder): "*" stays within one folder, "**" crosses folders, e.g. "**/*.ts" or "docs/*.md".',
        ),
    }),
    requiresApproval: false,
    policyPath: (input) => (input.path === undefined ? undefined : relOrRaw(ws, input.path)),
    handler: async (input, ctx) => {
      const target = ws.resolve(input.path ?? '.');
      const info = await fsStep('list', target.rel, () => stat(target.abs));
      if (!info.isDirectory()) return target.rel;
      const matches = globMatcher(input.glob, target.rel);
      const lines: string[] = [];
      let capped = false;
      for await (const entry of walk(ws, target.abs, ctx)) {
        if (input.glob && (entry.dir || !matches(entry.rel))) continue;
        if (lines.length === MAX_LIST_ENTRIES) {
          capped = true;
          break;
        }
        lines.push(entry.dir ? `${entry.rel}/` : entry.rel);
      }
      if (lines.length === 0)
        return input.glob
          ? `No files match ${input.glob} in ${target.rel}.`
          : `${target.rel} is empty.`;
      lines.sort();
      if (capped)
        lines.push(`… listing capped at ${MAX_LIST_ENTRIES} entries; narrow it with path or glob.`);
      return lines.join('\n');
    },
  });
}

export function searchTextTool(workspace: WorkspaceLike) {
  const ws = asWorkspace(workspace);
  return Tool({
    name: 'search_text',
    description:
      'Search the workspace text files for an exact, case-sensitive substring. Returns matching lines as "path:line: text".',
    params: z.object({
      query: z.string().min(1).describe('The exact text to look for (not a regular expression).'),
      glob: z
        .string()
        .optional()
        .describe(
          'Only search files matching this glob, matched against the path from the workspace root: "*" stays within one folder, "**" crosses folders, e.g. "src/**/*.ts".',
        ),
    }),
    requiresApproval: false,
    handler: async (input, ctx) => {
      const matches = globMatcher(input.glob, '.');
      const hits: string[] = [];
      for await (const entry of walk(ws, ws.root, ctx)) {
        if (entry.dir || !matches(entry.rel)) continue;
        const text = await readSearchable(entry.abs);
        if (text === null || !text.includes(input.query)) continue;
        const lines = text.split(/\r?\n/);
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i] ?? '';
          if (!line.includes(input.query)) continue;
          if (hits.length === MAX_SEARCH_MATCHES) {
            return `${hits.join('\n')}\n… stopped at ${MAX_SEARCH_MATCHES} matches; narrow the query or glob.`;
          }
          const shown =
            line.length > MAX_MATCH_LINE_CHARS ? `${line.slice(0, MAX_MATCH_LINE_CHARS)}…` : line;
          hits.push(`${entry.rel}:${i + 1}: ${shown.trim()}`);
        }
      }
      return hits.length > 0 ? hits.join('\n') : `No matches for "${input.query}".`;
    },
  });
}

/** The text of a file worth searching; null for binary, huge or unreadable files. */
async function readSearchable(abs: string): Promise<string | null> {
  try {
    const info = await stat(abs);
    if (info.size > MAX_SEARCH_FILE_BYTES) return null;
    return contentText(await readFile(abs));
  } catch {
    return null;
  }
}

/**
 * What a change call would do, read once: its target, the file as the developer sees it now and
 * the content it would leave (null: deleted). Preview, proposal and handler all derive from it.
 */
interface Plan {
  kind: FilePreview['kind'];
  target: ResolvedPath;
  current: Current | null;
  after: string | null;
}

function planPreview(plan: Plan): FilePreview {
  const { kind, target, current, after } = plan;
  return {
    ...preview(kind, target.rel, current, after ?? ''),
    ...(current?.unsaved ? { unsaved: true } : {}),
  };
}

function planProposal(plan: Plan): FileProposal {
  return { path: plan.target.rel, before: plan.current?.text ?? null, after: plan.after };
}

/**
 * Puts `plan.after` in place: into the open buffer when the plan was read from one (the developer
 * saves it; Ctrl+Z undoes it), else atomically on disk. Says where, for the result the model
 * reads. BufferGone when the buffer was saved or closed meanwhile: `applyPlanned` plans again.
 */
async function commit(ws: Workspace, plan: Plan, after: string): Promise<string> {
  const { target, current } = plan;
  if (current?.unsaved) {
    const result = await ws.buffers.apply(target.rel, current.text ?? '', after);
    if (result.status === 'changed') throw new StaleBaseError(target.rel);
    if (result.status === 'clean') throw new BufferGone();
    return ' in the open editor (unsaved: the developer saves it)';
  }
  await mkdir(path.dirname(target.abs), { recursive: true });
  await replaceDurably(target.abs, after, current?.mode);
  return '';
}

/** Plans, commits, and plans again once from the disk if the buffer went away meanwhile. */
async function applyPlanned(
  makePlan: () => Promise<Plan>,
  finish: (plan: Plan) => Promise<string>,
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const plan = await makePlan();
    try {
      return await finish(plan);
    } catch (error) {
      if (!(error instanceof BufferGone) || attempt > 0) throw error;
    }
  }
}

/** The buffer a plan was read from is no longer dirty: plan again from the disk. */
class BufferGone extends Error {}

export function writeFileTool(workspace: WorkspaceLike) {
  const ws = asWorkspace(workspace);
  const params = z.object({
    path: z.string().min(1).describe('File path, relative to the workspace root.'),
    content: z.string().describe('The complete new content of the file.'),
  });
  /** `forChange`: the handler's plan, which refuses a file another window holds dirty. */
  const plan = async (input: z.output<typeof params>, forChange = false): Promise<Plan> => {
    const target = ws.resolveForChange(input.path);
    const current = await fsStep('read', target.rel, () => readCurrent(ws, target, forChange));
    return { kind: current ? 'edit' : 'create', target, current, after: input.content };
  };
  /**
   * The gate's plan, read once per call: whether it asks, its prompt and its diff describe one
   * read of the file (three reads before). Keyed by the validated input, which the engine builds
   * afresh for every gate it emits; the handler plans again itself, for the change.
   */
  const gatePlans = new WeakMap<object, Promise<Plan>>();
  const gatePlan = (input: z.output<typeof params>): Promise<Plan> => {
    let planned = gatePlans.get(input);
    if (!planned) gatePlans.set(input, (planned = plan(input)));
    return planned;
  };
  /** Calls judged a no-op (the file already holds the content): they run without asking. */
  const noops = new WeakSet<object>();
  return Tool({
    name: 'write_file',
    description:
      "Create a file, or replace a file's whole content, in the workspace. Parent folders are created. Prefer edit_file for changes to an existing file.",
    params,
    changesFiles: true,
    // A write of the content the file already holds changes nothing: it does not ask.
    requiresApproval: async (input) => {
      try {
        const { current } = await gatePlan(input);
        if (current && current.text === input.content) {
          noops.add(input);
          return false;
        }
      } catch {
        // The preview reports a bad path or an unreadable file as the tool's error.
      }
      return true;
    },
    approvalPrompt: async (input) => {
      try {
        return `${(await gatePlan(input)).current ? 'Overwrite' : 'Create'} ${relOrRaw(ws, input.path)}?`;
      } catch {
        return `Write ${input.path}?`; // the preview reports the bad path as a tool error
      }
    },
    policyPath: (input) => relOrRaw(ws, input.path),
    preview: async (input) => planPreview(await gatePlan(input)),
    proposal: async (input) => planProposal(await gatePlan(input)),
    handler: async (input, ctx) =>
      applyPlanned(
        () => plan(input, true),
        async (p) => {
          const { target, current } = p;
          return fsStep('write', target.rel, async () => {
            if (current && current.text === input.content) {
              return `${target.rel} already holds this content; nothing was written.`;
            }
            // Judged a no-op without asking, but the file changed since: that change needs a gate.
            if (!ctx.approval && noops.has(input)) {
              throw new ToolError(
                `${target.rel} changed while Airlock was checking this write; nothing was written. Call write_file again.`,
              );
            }
            checkBase(ctx, target.rel, current?.sha ?? null);
            const where = await commit(ws, p, input.content);
            ctx.changed?.({
              path: target.rel,
              before: current?.bytes ?? null,
              after: Buffer.from(input.content, 'utf8'),
              mode: current?.mode ?? null,
            });
            if (!current) {
              const lines = textLineCounts('', input.content).added;
              return `Created ${target.rel} (${lines} ${lines === 1 ? 'line' : 'lines'})`;
            }
            const { added, removed } = textLineCounts(current.text ?? '', input.content);
            return `Wrote ${target.rel}${where} (+${added} -${removed} lines)`;
          });
        },
      ),
  });
}

export function editFileTool(workspace: WorkspaceLike) {
  const ws = asWorkspace(workspace);
  const params = z.object({
    path: z.string().min(1).describe('File path, relative to the workspace root.'),
    old_string: z
      .string()
      .describe('The exact text to replace; must occur exactly once in the file.'),
    new_string: z.string().describe('The text to put in its place.'),
  });
  /** Strict (preview, proposal): the edit must apply. Else `after` is null when it does not. */
  const plan = async (input: z.output<typeof params>, strict: boolean): Promise<Plan> => {
    const target = ws.resolveForChange(input.path);
    // The handler's plan (not strict) refuses a file another window holds dirty.
    const current = await fsStep('read', target.rel, () => readCurrent(ws, target, !strict));
    if (!current && strict) {
      throw new ToolError(`${target.rel} does not exist; use write_file to create it.`);
    }
    let after: string | null = null;
    if (current && strict) {
      after = applyEdit(
        requireText(current, target.rel),
        target.rel,
        input.old_string,
        input.new_string,
      );
    }
    return { kind: 'edit', target, current, after };
  };
  return Tool({
    name: 'edit_file',
    description:
      'Replace one exact occurrence of old_string with new_string in an existing workspace file. old_string must match exactly one place, whitespace included.',
    params,
    requiresApproval: true,
    changesFiles: true,
    approvalPrompt: (input) => `Edit ${relOrRaw(ws, input.path)}?`,
    policyPath: (input) => relOrRaw(ws, input.path),
    preview: async (input) => planPreview(await plan(input, true)),
    proposal: async (input) => planProposal(await plan(input, true)),
    handler: async (input, ctx) =>
      applyPlanned(
        () => plan(input, false),
        async (p) => {
          const { target, current } = p;
          return fsStep('edit', target.rel, async () => {
            if (!current) {
              checkBase(ctx, target.rel, null);
              throw new ToolError(`${target.rel} does not exist; use write_file to create it.`);
            }
            const text = requireText(current, target.rel);
            if (ctx.approval && ctx.approval.baseSha256 !== current.sha) {
              if (
                editAlreadyApplied(
                  text,
                  input.old_string,
                  input.new_string,
                  ctx.approval.baseSha256,
                )
              ) {
                return `${target.rel} already has this edit; nothing was written.`;
              }
              throw new StaleBaseError(target.rel);
            }
            const after = applyEdit(text, target.rel, input.old_string, input.new_string);
            const where = await commit(ws, p, after);
            ctx.changed?.({
              path: target.rel,
              before: current.bytes,
              after: Buffer.from(after, 'utf8'),
              mode: current.mode,
            });
            const { added, removed } = textLineCounts(text, after);
            return `Edited ${target.rel}${where} (+${added} -${removed} lines)`;
          });
        },
      ),
  });
}

export function deleteFileTool(workspace: WorkspaceLike) {
  const ws = asWorkspace(workspace);
  const params = z.object({
    path: z.string().min(1).describe('File path, relative to the workspace root.'),
  });
  const plan = async (input: z.output<typeof params>, forChange = false): Promise<Plan> => {
    const target = ws.resolveForChange(input.path);
    const current = await fsStep('read', target.rel, () => readCurrent(ws, target, forChange));
    return { kind: 'delete', target, current, after: null };
  };
  return Tool({
    name: 'delete_file',
    description: 'Delete one file in the workspace (not a folder).',
    params,
    requiresApproval: true,
    changesFiles: true,
    approvalPrompt: (input) => `Delete ${relOrRaw(ws, input.path)}?`,
    policyPath: (input) => relOrRaw(ws, input.path),
    preview: async (input) => {
      const p = await plan(input);
      if (!p.current) throw new ToolError(`${p.target.rel} does not exist.`);
      return planPreview(p);
    },
    proposal: async (input) => planProposal(await plan(input)),
    handler: async (input, ctx) => {
      const { target, current } = await plan(input, true);
      return fsStep('delete', target.rel, async () => {
        if (!current) return `${target.rel} does not exist (already deleted); nothing to do.`;
        checkBase(ctx, target.rel, current.sha);
        // Deleting the file would leave the developer's unsaved text in an orphaned tab.
        if (current.unsaved) {
          throw new BufferHeldError(
            target.rel,
            `${target.rel} has unsaved changes in the editor; nothing was deleted. Save or revert it, then approve the delete again.`,
          );
        }
        await unlink(target.abs);
        await fsyncDirAsync(path.dirname(target.abs));
        ctx.changed?.({
          path: target.rel,
          before: current.bytes,
          after: null,
          mode: current.mode,
        });
        return `Deleted ${target.rel}`;
      });
    },
  });
}

/** The six built-in file tools, confined to `root`, reading open buffers through `buffers`. */
export function fileTools(
  root: string,
  options: ReadOptions = {},
  buffers: OpenBuffers = NO_BUFFERS,
): Tool[] {
  const ws = new Workspace(root, buffers);
  return [
    readFileTool(ws, options),
    listFilesTool(ws),
    searchTextTool(ws),
    writeFileTool(ws),
    editFileTool(ws),
    deleteFileTool(ws),
  ];
}
