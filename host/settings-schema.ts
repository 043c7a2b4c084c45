// The settings schema: the CLI's airlock.config.json and the editor's `airlock.*` settings share
// names and defaults. No Node imports: the extension and the protocol module use it too.
import { z } from 'zod';
import { Policy } from './runtime/policy.js';
import {
  DEFAULT_REDACT_KEYS,
  DEFAULT_REDACT_PATTERNS,
  redactPatternProblem,
} from './runtime/redact.js';

/**
 * The resource limits' defaults (SPEC §9), shared by the settings, the agent loop, the model
 * client and read_file, so a run built without settings has the same bounds.
 */
export const LIMIT_DEFAULTS = {
  /** More calls in one model turn than any real task needs at once; 600 made a 198 MB journal. */
  maxToolCallsPerTurn: 64,
  /** A whole generated file fits; one 50 MB argument used 1.95 GB of memory. */
  maxArgumentBytes: 2 * 1024 * 1024,
  /** Text and kept tool arguments of one reply: one maximal argument plus text fits. */
  maxOutputBytes: 4 * 1024 * 1024,
  /** What read_file reads of one file; more is a note to the model, not a memory spike. */
  maxReadBytes: 256 * 1024,
  /** Seconds: local servers can take minutes to load a model before the first byte. */
  requestTimeout: 180,
  /** Seconds a run_command may run before it is stopped with everything it started. */
  commandTimeout: 120,
} as const;
export type LimitKey = keyof typeof LIMIT_DEFAULTS;

/** Seconds: Node's fetch (undici) gives up after 300 s without headers or body bytes anyway. */
export const MAX_REQUEST_TIMEOUT = 300;

/** Seconds: an hour, the most a command may run (the model may also ask up to this). */
export const MAX_COMMAND_TIMEOUT = 3600;

/** A redaction pattern RE2 can run in linear time; refused with redact.ts's message otherwise. */
const RedactPattern = z.string().superRefine((pattern, ctx) => {
  const problem = redactPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const Settings = z
  .object({
    /** Model name; "demo" is the offline scripted model. Empty: AIRLOCK_MODEL, then a default. */
    model: z.string().default(''),
    /** OpenAI-compatible endpoint. Empty: OPENAI_BASE_URL, then api.openai.com. */
    baseURL: z.string().default(''),
    policy: Policy.default([]),
    redactKeys: z.array(z.string()).default([...DEFAULT_REDACT_KEYS]),
    redactPatterns: z.array(RedactPattern).default([...DEFAULT_REDACT_PATTERNS]),
    /** Globs of paths that always ask before a change, added to the built-in list (SPEC §9). */
    protectedPaths: z.array(z.string().min(1)).default([]),
    /**
     * Team mode's two-person rule: a gate on a protected path needs an approver other than the
     * person who started the run (SPEC §9: a workspace file may turn it on, never off).
     */
    twoPersonRule: z.boolean().default(false),
    /** Seconds a gate waits for a decision before it expires; 0 = never. */
    approvalTimeout: z.number().min(0).default(0),
    maxTurns: z.number().int().min(1).default(25),
    /** Tool calls one model turn may make; a turn with more ends the run and none of them runs. */
    maxToolCallsPerTurn: z.number().int().min(1).default(LIMIT_DEFAULTS.maxToolCallsPerTurn),
    /** Bytes of one tool call's arguments (JSON); a larger call is refused with a tool error. */
    maxArgumentBytes: z.number().int().min(1).default(LIMIT_DEFAULTS.maxArgumentBytes),
    /** Bytes of text and tool arguments one model reply may stream before it is cut off. */
    maxOutputBytes: z.number().int().min(1).default(LIMIT_DEFAULTS.maxOutputBytes),
    /** Bytes read_file reads of one file; a larger file is read in part, with a note. */
    maxReadBytes: z.number().int().min(1).default(LIMIT_DEFAULTS.maxReadBytes),
    /** Seconds to wait for the model endpoint to answer, and between two streamed chunks. */
    requestTimeout: z
      .number()
      .positive()
      .max(MAX_REQUEST_TIMEOUT)
      .default(LIMIT_DEFAULTS.requestTimeout),
    /** Seconds a shell command (run_command) may run before it is stopped; the model may ask less. */
    commandTimeout: z
      .number()
      .positive()
      .max(MAX_COMMAND_TIMEOUT)
      .default(LIMIT_DEFAULTS.commandTimeout),
    /** Finished runs to keep: the newest `keepRuns`, and those younger than `keepDays`; 0 = all. */
    retention: z
      .object({
        keepRuns: z.number().int().min(0).default(0),
        keepDays: z.number().min(0).default(0),
      })
      .strict()
      .default({ keepRuns: 0, keepDays: 0 }),
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

type FileShape<S> = {
  [K in keyof S]: S[K] extends z.ZodDefault<infer T>
    ? z.ZodOptional<T>
    : z.ZodOptional<S[K] & z.ZodType>;
};

/**
 * The same fields without their defaults, each optional: what a settings file itself sets (a key
 * it leaves out stays absent), so a merge can tell "set" from "left to the default".
 */
export const SettingsFile = z
  .object(
    Object.fromEntries(
      Object.entries(Settings.shape).map(([key, field]) => [key, field.unwrap().optional()]),
    ) as FileShape<typeof Settings.shape>,
  )
  .strict();
export type SettingsFile = z.infer<typeof SettingsFile>;
