// What one drive of a run holds while its steps run: the configuration, the request, the run's
// state and pending items, and the persistence that commits each step.
import type {
  ApprovalEvent,
  InteractionEvent,
  OutputEvent,
  ResumeMap,
  RunEvent,
  RunStatus,
} from '../protocol/events.js';
import type { Model, ModelLimits } from '../model/model.js';
import type { PendingRow, Store } from '../store/store.js';
import { newSegmentId } from './ids.js';
import { InputMasks } from './input-masks.js';
import type { Policy } from './policy.js';
import type { Redactor } from './redact.js';
import type { CallState, RunStateDoc } from './run-state.js';
import { RunPersistence } from './run-persistence.js';
import { isPause, totalUsage } from './run-status.js';
import type { Tool } from './tool.js';

export interface EngineConfig {
  agent: string;
  kind: 'agent' | 'tool';
  tools: ReadonlyMap<string, Tool>;
  store: Store;
  redactor: Redactor;
  /** Configured layers (the developer's, the workspace's): the strictest match wins. */
  policy: readonly Policy[];
  /** Globs of paths that always ask before a change (defaults included). */
  protectedPaths: readonly string[];
  workspace: string | null;
  approvalTimeoutMs: number | null;
  /** A protected path's gate needs an approver other than the run's starter (agent.ts). */
  twoPersonRule: boolean;
  maxTurns: number;
  /** Bounds on each model reply (SPEC §9); unset ones are DEFAULT_MODEL_LIMITS. */
  limits?: Partial<ModelLimits>;
  /** Resolved lazily: a resumed run that only settles gates never needs the model. */
  model: (() => Promise<Model>) | null;
}

export interface RunRequest {
  runId: string;
  /** Set when a parent run's tool drives this run. */
  nestedIn?: string;
  prompt: string | null;
  resume: ResumeMap | null;
  /** A fresh run's state; ignored when the run exists. */
  initial: () => Omit<RunStateDoc, 'segment_id'>;
  signal?: AbortSignal;
}

export class RunContext {
  state!: RunStateDoc;
  createdAt = new Date().toISOString();
  parentSegment: string | null = null;
  readonly segmentId = newSegmentId();
  readonly runId: string;
  /** The run did not exist before this drive. */
  fresh = false;
  readonly pendingRows = new Map<string, PendingRow>();
  /** When the last item this drive added to `pendingRows` was made (ms). */
  private lastPendingAt = 0;
  /** The gates open when the run was loaded, by approval id (to mask the resume map). */
  readonly openGates = new Map<string, CallState>();
  readonly masks: InputMasks;
  readonly persistence: RunPersistence;

  constructor(
    readonly cfg: EngineConfig,
    readonly req: RunRequest,
  ) {
    this.runId = req.runId;
    this.masks = new InputMasks(cfg.redactor, cfg.tools);
    this.persistence = new RunPersistence(this);
  }

  /** A gate or question this run now waits on (written with the step's commit). */
  addPending(id: string, event: ApprovalEvent | InteractionEvent): void {
    // The pending list (the sidebar, `airlock pending`) is ordered by created_at, then by id: a
    // turn's gates made within one millisecond would show in the order of their ids, not of the
    // calls. Each is made at least a millisecond after the one before it.
    this.lastPendingAt = Math.max(Date.now(), this.lastPendingAt + 1);
    this.pendingRows.set(id, {
      id,
      run_id: this.runId,
      kind: event.type,
      event,
      created_at: new Date(this.lastPendingAt).toISOString(),
    });
  }

  /** The prompt as every readable column stores it: redacted. */
  shownPrompt(): string | null {
    return this.req.prompt === null ? null : this.cfg.redactor.text(this.req.prompt);
  }

  startEvent(): RunEvent {
    return {
      type: 'start',
      run_id: this.runId,
      segment_id: this.segmentId,
      parent_segment_id: this.parentSegment,
      agent: this.cfg.agent,
      prompt: this.shownPrompt(),
    };
  }

  output(st: RunStatus): OutputEvent {
    return this.cfg.redactor.strings({
      type: 'output',
      run_id: this.runId,
      status: st,
      output: st.code === 'success' ? this.state.output : null,
      pending: isPause(st) ? [...this.pendingRows.keys()] : [],
      usage: totalUsage(this.state),
    });
  }
}
