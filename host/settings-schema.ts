// The settings schema: the CLI's airlock.config.json and the editor's `airlock.*` settings share
// names and defaults. No Node imports: the extension and the protocol module use it too.
import { z } from 'zod';
import { Policy } from './runtime/policy.js';
import { DEFAULT_REDACT_KEYS, DEFAULT_REDACT_PATTERNS } from './runtime/redact.js';

export const Settings = z
  .object({
    /** Model name; "demo" is the offline scripted model. Empty: AIRLOCK_MODEL, then a default. */
    model: z.string().default(''),
    /** OpenAI-compatible endpoint. Empty: OPENAI_BASE_URL, then api.openai.com. */
    baseURL: z.string().default(''),
    policy: Policy.default([]),
    redactKeys: z.array(z.string()).default([...DEFAULT_REDACT_KEYS]),
    redactPatterns: z.array(z.string()).default([...DEFAULT_REDACT_PATTERNS]),
    /** Seconds a gate waits for a decision before it expires; 0 = never. */
    approvalTimeout: z.number().min(0).default(0),
    maxTurns: z.number().int().min(1).default(25),
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
