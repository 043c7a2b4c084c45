// The JSON report the runner extension writes (test/extension-host/index.ts) and the code-server
// driver reads (test/editor/extension-host.test.ts): one schema for both sides of the file.
import { z } from 'zod';

export const CaseResult = z.object({
  title: z.string(),
  state: z.enum(['passed', 'failed', 'pending']),
  error: z.string().optional(),
});
export type CaseResult = z.infer<typeof CaseResult>;

export const SuiteReport = z.object({
  results: z.array(CaseResult),
  /** Set when the suite could not run at all. */
  error: z.string().optional(),
});
export type SuiteReport = z.infer<typeof SuiteReport>;
