// `Agent({...})` and direct tool runs: configuration around the shared run loop.
import { hostname } from 'node:os';
import type { ResumeMap } from '../protocol/events.js';
import { ModelError, type Model, type ModelLimits } from '../model/model.js';
import type { Store } from '../store/store.js';
import { SqlJsStore } from '../store/sqljs-store.js';
import { execute, retryable, type EngineConfig } from './engine.js';
import { newRunId } from './ids.js';
import { DEFAULT_PROTECTED_PATHS, type Policy } from './policy.js';
import { sharedRedactor, type RedactionConfig } from './redact.js';
import { RunStream } from './run-stream.js';
import { z } from 'zod';
import type { ApprovalEvent, InteractionEvent } from '../protocol/events.js';
import { planResume, ResumeRefusedError } from './resume-plan.js';
import { parseRunState, RUN_STATE_VERSION } from './run-state.js';
import { NestedPause, Tool, ToolError } from './tool.js';
import { emptyUsage } from './usage.js';

export interface RunOptions {
  prompt?: string;
  /** Continue (or create with this id) a run. */
  runId?: string;
  /** Decisions and answers keyed by pending approval / interaction id. */
  resume?: ResumeMap;
  signal?: AbortSignal;
  /**
   * Stored with a new run and readable from its state (e.g. the model it used; `started_by`, who
   * started it, for the two-person rule).
   */
  labels?: Record<string, string>;
  /** Set by `asTool()`: the parent run whose tool drives this one. */
  nestedIn?: string;
}

interface CommonConfig {
  /** Where runs live; defaults to an in-memory database. */
  store?: Store;
  workspace?: string;
  /** The developer's own rules. */
  policy?: Policy;
  /** The workspace file's rules that apply (a stricter match in either layer wins). */
  workspacePolicy?: Policy;
  /** Globs that always ask before a change, added to DEFAULT_PROTECTED_PATHS. */
  protectedPaths?: readonly string[];
  redaction?: Partial<RedactionConfig>;
  /** Default time limit for every gate without its own `approvalTimeoutMs`. */
  approvalTimeoutMs?: number;
  /**
   * Two-person rule: approving a gate on a protected path needs a named approver other than the
   * run's `started_by` label (who started it).
   */
  twoPersonRule?: boolean;
}

export interface AgentConfig extends CommonConfig {
  name: string;
  model: Model | (() => Promise<Model>);
  tools: readonly Tool[];
  instructions?: string;
  maxTurns?: number;
  /** Bounds on each model reply: timeout, output bytes, argument bytes, tool calls per turn. */
  limits?: Partial<ModelLimits>;
}

function toolMap(tools: readonly Tool[]): Map<string, Tool> {
  const map = new Map<string, Tool>();
  for (const tool of tools) {
    if (map.has(tool.name))
      throw new Error(`Two tools are named "${tool.name}"; tool names must be unique.`);
    map.set(tool.name, tool);
  }
  return map;
}

function policyLayers(config: CommonConfig): Policy[] {
  return [config.policy ?? [], config.workspacePolicy ?? []];
}

let memoryStore: Promise<Store> | undefined;

function storeOf(config: CommonConfig): Promise<Store> {
  if (config.store) return Promise.resolve(config.store);
  memoryStore ??= SqlJsStore.open();
  return memoryStore;
}

export class Agent {
  readonly name: string;
  private readonly tools: Map<string, Tool>;

  constructor(private readonly config: AgentConfig) {
    this.name = config.name;
    this.tools = toolMap(config.tools);
  }

  get toolsByName(): ReadonlyMap<string, Tool> {
    return this.tools;
  }

  /** This agent as a tool of another agent: its runs nest inside the caller's (see agentTool). */
  asTool(options: AsToolOptions): Tool {
    return agentTool(this, () => storeOf(this.config), options);
  }

  run(options: RunOptions): RunStream {
    const config = this.config;
    const tools = this.tools;
    const runId = options.runId ?? newRunId();
    return new RunStream(async function* () {
      const model = config.model;
      const engine: EngineConfig = {
        agent: config.name,
        kind: 'agent',
        tools,
        store: await storeOf(config),
        redactor: sharedRedactor(config.redaction),
        policy: policyLayers(config),
        protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...(config.protectedPaths ?? [])],
        workspace: config.workspace ?? null,
        approvalTimeoutMs: config.approvalTimeoutMs ?? null,
        twoPersonRule: config.twoPersonRule ?? false,
        maxTurns: config.maxTurns ?? 25,
        ...(config.limits ? { limits: config.limits } : {}),
        model: typeof model === 'function' ? model : () => Promise.resolve(model),
      };
      yield* execute(engine, {
        runId,
        prompt: options.prompt ?? null,
        resume: options.resume ?? null,
        signal: options.signal,
        ...(options.nestedIn ? { nestedIn: options.nestedIn } : {}),
        initial: () => {
          if (!options.prompt) throw new Error('A new run needs a prompt.');
          return {
            v: RUN_STATE_VERSION,
            kind: 'agent',
            agent: config.name,
            messages: [
              ...(config.instructions ? [{ role: 'system', content: config.instructions }] : []),
              { role: 'user', content: options.prompt },
            ],
            calls: [],
            turns: 0,
            usage: emptyUsage(),
            output: null,
            // Where it runs: its tools work in this machine's folder (tools/workspace.ts worksIn).
            labels: {
              ...(config.workspace ? { started_on: hostname() } : {}),
              ...options.labels,
            },
            child_usage: {},
            nested_in: options.nestedIn ?? null,
          };
        },
      });
    });
  }
}

export interface AsToolOptions {
  name?: string;
  description: string;
}

/**
 * The agent as another agent's tool. Its run is nested: its gates and questions pause the
 * parent run under the same ids, the parent's resume hands the answers down (the handler re-runs
 * from the top and continues the nested run), and its usage is summed into the parent's.
 */
export function agentTool(agent: Agent, store: () => Promise<Store>, options: AsToolOptions): Tool {
  const childId = (runId: string, callId: string) => `${runId}~${callId}`;
  let opened: Store | undefined;
  return Tool({
    name: options.name ?? agent.name,
    description: options.description,
    params: z.object({ prompt: z.string().min(1).describe('What the nested agent should do.') }),
    requiresApproval: false,
    nested: {
      validate(childRunId, resume) {
        const child = opened?.getRun(childRunId);
        if (!child) throw new ResumeRefusedError(`The nested run ${childRunId} is missing.`);
        const state = parseRunState(child.state, childRunId);
        const claimed = new Set(opened!.claims(childRunId).map((c) => c.id));
        planResume(childRunId, state.calls, resume, agent.toolsByName, claimed, new Date());
      },
    },
    handler: async ({ prompt }, ctx) => {
      opened ??= await store();
      const id = childId(ctx.runId, ctx.callId);
      const existing = opened.getRun(id);
      // A nested run that failed on a model call is live: it resumes below, repeating that call.
      if (
        existing &&
        ['success', 'error', 'cancelled'].includes(existing.row.status) &&
        !retryable(existing.row)
      ) {
        // Finished before this run recorded it (a crash in between): its result stands.
        const state = parseRunState(existing.state, id);
        ctx.reportUsage(id, state.usage);
        if (existing.row.status !== 'success') throw new ToolError(existing.row.message);
        return state.output ?? '';
      }
      const events: (ApprovalEvent | InteractionEvent)[] = [];
      const resume = Object.keys(ctx.forwarded).length ? { resume: { ...ctx.forwarded } } : {};
      const output = await agent
        .run({ prompt, runId: id, nestedIn: ctx.runId, ...resume })
        .collect((e) => {
          if (e.type === 'approval' || e.type === 'interaction') events.push(e);
        });
      ctx.reportUsage(id, output.usage);
      if (output.status.code === 'success') return output.output ?? '';
      if (output.pending.length) throw new NestedPause(id, output.pending, events);
      if (output.status.reason === 'model_error') {
        // This run ends `model_error` too; its retry resumes the nested run (see runHandler).
        throw new ModelError(
          `The nested agent ${agent.name} stopped: ${output.status.message}`,
          'connection',
        );
      }
      throw new ToolError(`The nested agent ${agent.name} stopped: ${output.status.message}`);
    },
  });
}

export interface ToolRunOptions extends CommonConfig {
  input?: unknown;
  runId?: string;
  resume?: ResumeMap;
  signal?: AbortSignal;
}

/** Runs one tool directly (no model): a denial ends the run with `approval_denied`. */
export function runTool(tool: Tool, options: ToolRunOptions): RunStream {
  const runId = options.runId ?? newRunId();
  return new RunStream(async function* () {
    const engine: EngineConfig = {
      agent: tool.name,
      kind: 'tool',
      tools: toolMap([tool]),
      store: await storeOf(options),
      redactor: sharedRedactor(options.redaction),
      policy: policyLayers(options),
      protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...(options.protectedPaths ?? [])],
      workspace: options.workspace ?? null,
      approvalTimeoutMs: options.approvalTimeoutMs ?? null,
      twoPersonRule: options.twoPersonRule ?? false,
      maxTurns: 1,
      model: null,
    };
    yield* execute(engine, {
      runId,
      prompt: null,
      resume: options.resume ?? null,
      signal: options.signal,
      initial: () => ({
        v: RUN_STATE_VERSION,
        kind: 'tool',
        agent: tool.name,
        messages: [],
        calls: [{ call_id: 'direct', tool: tool.name, args: options.input ?? {}, answers: {} }],
        turns: 0,
        usage: emptyUsage(),
        output: null,
        labels: {},
        child_usage: {},
        nested_in: null,
      }),
    });
  });
}
