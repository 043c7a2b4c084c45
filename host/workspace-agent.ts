// The coding agent Airlock runs in a workspace: file tools, interaction tools, the workspace's
// policy and redaction. The CLI, the JSON-RPC host and tests build it the same way.
import type { Model } from './model/model.js';
import { Agent } from './runtime/agent.js';
import { BoundedCache } from './runtime/bounded-cache.js';
import type { Store } from './store/store.js';
import type { Settings } from './settings.js';
import type { Policy } from './runtime/policy.js';
import { fileTools } from './tools/files.js';
import { interactionTools } from './tools/interact.js';
import { runCommandTool } from './tools/run-command.js';
import { Workspace } from './tools/workspace.js';
import { sharedRedactor } from './runtime/redact.js';
import { NO_BUFFERS, type OpenBuffers } from './tools/open-buffers.js';
import type { Tool } from './runtime/tool.js';

export const AGENT_NAME = 'agent';

const INSTRUCTIONS = `You are Airlock's coding agent, working in the developer's workspace.
Use the tools to read, search and change files; paths are relative to the workspace root.
Every edit or delete is shown to the developer for approval: keep each change focused.
If a change is denied, read the reason and adapt instead of retrying the same change.
Use run_command to run the tests, a build or another command; the developer approves it unless a rule allows it.
Use ask_user, ask_user_multi or confirm when you need the developer's input.`;

/**
 * The agent's tools for a workspace, built once: a host builds its agent for every run and
 * resume (so that settings and the workspace file count at once), and building the tools (their
 * JSON Schemas above all) was a tenth of the host's CPU per run. Tools hold no run's state.
 */
const toolSets = new WeakMap<OpenBuffers, BoundedCache<string, Tool[]>>();

function toolsFor(workspace: string, settings: Settings, buffers = NO_BUFFERS): Tool[] {
  let sets = toolSets.get(buffers);
  if (!sets) toolSets.set(buffers, (sets = new BoundedCache(8)));
  const { maxReadBytes, commandTimeout, redactKeys, redactPatterns } = settings;
  const key = JSON.stringify([workspace, maxReadBytes, commandTimeout, redactKeys, redactPatterns]);
  return sets.get(key, () => [
    ...fileTools(workspace, { maxReadBytes }, buffers),
    runCommandTool(new Workspace(workspace, buffers), {
      timeoutS: commandTimeout,
      redactor: sharedRedactor({ keys: redactKeys, patterns: redactPatterns }),
    }),
    ...interactionTools(),
  ]);
}

export function workspaceAgent(options: {
  workspace: string;
  store: Store;
  settings: Settings;
  /** The workspace file's rules that apply (ask/deny only unless the file is trusted). */
  workspacePolicy?: Policy;
  model: () => Promise<Model>;
  /** The developer's open documents with unsaved changes (none: the disk is the truth). */
  buffers?: OpenBuffers;
}): Agent {
  const { settings } = options;
  return new Agent({
    name: AGENT_NAME,
    model: options.model,
    tools: toolsFor(options.workspace, settings, options.buffers),
    instructions: INSTRUCTIONS,
    store: options.store,
    workspace: options.workspace,
    policy: settings.policy,
    workspacePolicy: options.workspacePolicy ?? [],
    protectedPaths: settings.protectedPaths,
    twoPersonRule: settings.twoPersonRule,
    redaction: { keys: settings.redactKeys, patterns: settings.redactPatterns },
    maxTurns: settings.maxTurns,
    limits: {
      timeoutMs: settings.requestTimeout * 1000,
      maxOutputBytes: settings.maxOutputBytes,
      maxArgumentBytes: settings.maxArgumentBytes,
      maxToolCalls: settings.maxToolCallsPerTurn,
    },
    ...(settings.approvalTimeout > 0 ? { approvalTimeoutMs: settings.approvalTimeout * 1000 } : {}),
  });
}
