// `Agent({...})` and direct tool runs: configuration around the shared run loop.
import type { ResumeMap } from '../protocol/events.js';
import type { Model } from '../model/model.js';
import type { Store } from '../store/store.js';
import { SqlJsStore } from '../store/sqljs-store.js';
import { execute, type EngineConfig } from './engine.js';
import { newRunId } from './ids.js';
import type { Policy } from './policy.js';
import { DEFAULT_REDACTION, Redactor, type RedactionConfig } from './redact.js';
import { RunStream } from './run-stream.js';
import type { Tool } from './tool.js';
import { emptyUsage } from './usage.js';

export interface RunOptions {
  prompt?: string;
  /** Continue (or create with this id) a run. */
  runId?: string;
  /** Decisions and answers keyed by pending approval / interaction id. */
  resume?: ResumeMap;
  signal?: AbortSignal;
  /** Stored with a new run and readable from its state (e.g. the model it used). */
  labels?: Record<string, string>;
}

interface CommonConfig {
  /** Where runs live; defaults to an in-memory database. */
  store?: Store;
  workspace?: string;
  policy?: Policy;
  redaction?: Partial<RedactionConfig>;
  /** Default time limit for every gate without its own `approvalTimeoutMs`. */
  approvalTimeoutMs?: number;
}

export interface AgentConfig extends CommonConfig {
  name: string;
  model: Model | (() => Promise<Model>);
  tools: readonly Tool[];
  instructions?: string;
  maxTurns?: number;
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

function redactorOf(config: Partial<RedactionConfig> | undefined): Redactor {
  return new Redactor({
    keys: config?.keys ?? DEFAULT_REDACTION.keys,
    patterns: config?.patterns ?? DEFAULT_REDACTION.patterns,
  });
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
        redactor: redactorOf(config.redaction),
        policy: config.policy ?? [],
        workspace: config.workspace ?? null,
        approvalTimeoutMs: config.approvalTimeoutMs ?? null,
        maxTurns: config.maxTurns ?? 25,
        model: typeof model === 'function' ? model : () => Promise.resolve(model),
      };
      yield* execute(engine, {
        runId,
        prompt: options.prompt ?? null,
        resume: options.resume ?? null,
        signal: options.signal,
        initial: () => {
          if (!options.prompt) throw new Error('A new run needs a prompt.');
          return {
            v: 1,
            kind: 'agent',
            agent: config.name,
            messages: [
              ...(config.instructions ? [{ role: 'system', content: config.instructions }] : []),
              { role: 'user', content: options.prompt },
            ],
            calls: [],
            turns: 0,
            rules: [],
            usage: emptyUsage(),
            output: null,
            labels: options.labels ?? {},
          };
        },
      });
    });
  }
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
      redactor: redactorOf(options.redaction),
      policy: options.policy ?? [],
      workspace: options.workspace ?? null,
      approvalTimeoutMs: options.approvalTimeoutMs ?? null,
      maxTurns: 1,
      model: null,
    };
    yield* execute(engine, {
      runId,
      prompt: null,
      resume: options.resume ?? null,
      signal: options.signal,
      initial: () => ({
        v: 1,
        kind: 'tool',
        agent: tool.name,
        messages: [],
        calls: [{ call_id: 'direct', tool: tool.name, args: options.input ?? {}, answers: {} }],
        turns: 0,
        rules: [],
        usage: emptyUsage(),
        output: null,
        labels: {},
      }),
    });
  });
}
