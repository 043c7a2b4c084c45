// The runtime as a library (dist/runtime.js): the seeds' vocabulary in TypeScript.
export { Agent, runTool, type AgentConfig, type RunOptions, type ToolRunOptions } from './agent.js';
export { Tool, StaleBaseError, ToolError, type ToolConfig, type ToolContext } from './tool.js';
export { suspend, type SuspendRequest } from './suspend.js';
export { ResumeRefusedError } from './resume-plan.js';
export { RunStream } from './run-stream.js';
export { Redactor, DEFAULT_REDACT_KEYS, DEFAULT_REDACT_PATTERNS, MASK } from './redact.js';
export {
  parsePolicy,
  matchPolicy,
  type Policy,
  type PolicyRule,
  type PolicyAction,
} from './policy.js';
export { approvalId, interactionId, canonicalJson } from './ids.js';
export { SqlJsStore } from '../store/sqljs-store.js';
export { openStore, type OpenOptions } from '../store/open-store.js';
export type { Store } from '../store/store.js';
export type { Model, ModelTurn, ChatMessage } from '../model/model.js';
export { ModelError } from '../model/model.js';
export * from '../protocol/events.js';
