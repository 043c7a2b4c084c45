// The durable state of one run: everything needed to continue it in another process.
// Parsed with zod when loaded, since it crosses a process boundary through the database.
import { z } from 'zod';

export const CallState = z.object({
  call_id: z.string(),
  tool: z.string(),
  /** The model's arguments, unredacted (the handler needs them). */
  args: z.unknown(),
  /** Set once the call settled; its output is the tool message the model reads. */
  done: z.object({ ok: z.boolean(), output: z.string() }).optional(),
  /** An emitted gate awaiting a decision. */
  gate: z
    .object({
      approval_id: z.string(),
      expires_at: z.string().nullable(),
      base_sha256: z.string().nullable(),
      /** The call changes a protected path: no always-allow may be made from this gate. */
      protected: z.boolean().optional(),
      /** A command's always-allow patterns, as its card offered them (command-policy.ts). */
      always: z
        .object({
          command: z.array(z.string()).nullable(),
          program: z.array(z.string()).nullable(),
        })
        .optional(),
    })
    .optional(),
  /**
   * Set once a gate was shown for this call: from then on only an explicit decision runs it; a
   * policy that changes meanwhile may deny it, never approve it (SPEC §9).
   */
  asked: z.boolean().optional(),
  /**
   * How often the gate was asked again because the file changed under it: part of the next
   * approval id, so a gate asked again on content seen before never reuses a claimed id.
   */
  regates: z.number().int().nonnegative().optional(),
  /** A consumed (claimed) decision on the gate. */
  decision: z
    .object({
      approval_id: z.string(),
      approved: z.boolean(),
      input: z.unknown(),
      base_sha256: z.string().nullable(),
      reason: z.string().optional(),
      decided_at: z.string(),
    })
    .optional(),
  /**
   * Set, durably, just before the handler of a tool whose effect is not idempotent (`once`)
   * starts; a call found with it and no result was cut off by the host's death.
   */
  started: z.boolean().optional(),
  /** Its gate asks whether to run again a command that was cut off (see `started`). */
  interrupted: z.boolean().optional(),
  /** An emitted interaction awaiting an answer. */
  waiting: z
    .object({ interaction_id: z.string(), schema: z.record(z.string(), z.unknown()) })
    .optional(),
  answers: z.record(z.string(), z.unknown()),
  /** A nested run this call drives, paused on these ids. */
  nested: z.object({ run_id: z.string(), ids: z.array(z.string()) }).optional(),
  /** Resume values for the nested run, handed down when the handler re-runs. */
  forward: z.record(z.string(), z.unknown()).optional(),
});
export type CallState = z.infer<typeof CallState>;

/**
 * The version of the state this Airlock writes. A run paused by an earlier release is migrated
 * when it is loaded (`migrateRunState`) and written in this version by its next commit, as
 * openai-agents-js does with its run states; a newer version is refused (test/fixtures holds a
 * state of each release).
 */
export const RUN_STATE_VERSION = 2;

export const RunStateDoc = z.object({
  v: z.literal(RUN_STATE_VERSION),
  kind: z.enum(['agent', 'tool']),
  agent: z.string(),
  /** Chat messages so far (OpenAI shape), unredacted. */
  messages: z.array(z.record(z.string(), z.unknown())),
  /** The current turn's tool calls; empty between turns. */
  calls: z.array(CallState),
  turns: z.number(),
  usage: z.record(z.string(), z.number()),
  segment_id: z.string(),
  output: z.string().nullable(),
  /** Free-form facts the caller wants back on resume (e.g. which model the run used). */
  labels: z.record(z.string(), z.string()).default({}),
  /** The latest usage of each nested run, summed into this run's usage on output. */
  child_usage: z.record(z.string(), z.record(z.string(), z.number())).default({}),
  /** Set on a nested run: the run whose tool drives it (it is resumed only through that run). */
  nested_in: z.string().nullable().default(null),
  /** Reverts of this run's changes the model has been told of (issue 16). */
  reverts_told: z.array(z.string()).optional(),
});
export type RunStateDoc = z.infer<typeof RunStateDoc>;

/**
 * Each version's step to the next, by the version it reads. 1 → 2: `rules` goes (standing rules
 * live in the store since schema 3; version 1 kept the field empty).
 */
const MIGRATIONS: Record<number, (state: Record<string, unknown>) => Record<string, unknown>> = {
  1: ({ rules: _rules, ...state }) => ({ ...state, v: 2 }),
};

/** A stored state brought to RUN_STATE_VERSION; a newer one is refused. */
export function migrateRunState(value: unknown, runId: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  let state = value as Record<string, unknown>;
  if (typeof state.v === 'number' && state.v > RUN_STATE_VERSION) {
    throw new Error(
      `The stored state of run ${runId} was written by a newer Airlock (state version ${state.v}; this one reads up to ${RUN_STATE_VERSION}). Update Airlock to continue it.`,
    );
  }
  for (let step = MIGRATIONS[Number(state.v)]; step; step = MIGRATIONS[Number(state.v)]) {
    state = step(state);
  }
  return state;
}

export function parseRunState(value: unknown, runId: string): RunStateDoc {
  const parsed = RunStateDoc.safeParse(migrateRunState(value, runId));
  if (!parsed.success) {
    throw new Error(
      `The stored state of run ${runId} is unreadable (${z.prettifyError(parsed.error)}); it was written by an incompatible Airlock.`,
    );
  }
  return parsed.data;
}

const Labels = z.object({ labels: z.record(z.string(), z.string()) });

/** The machine a run was started on (its `started_on` label), read from any stored state. */
export function startedOnOf(state: unknown): string | undefined {
  const parsed = Labels.safeParse(state);
  return parsed.success ? parsed.data.labels.started_on : undefined;
}
