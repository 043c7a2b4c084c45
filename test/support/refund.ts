// Shared by the runtime tests (test/host/runtime-*.test.ts): the seeds' refund tool, gated above
// $100 with zod coercion and a transform, and what another process sees pending in a database file.
import { z } from 'zod';
import { Tool, type ToolConfig } from '../../host/runtime/index.js';
import { openStore } from './scratch.js';

/** What another process sees in the database file: a fresh store on the same file. */
export async function pendingIn(dbFile: string, runId: string): Promise<string[]> {
  const fresh = await openStore(dbFile);
  return fresh
    .pending(runId)
    .map((p) => p.id)
    .sort();
}

// A refund tool in the seeds' image: gated above $100, zod coercion and a transform.
export const RefundParams = z.object({
  amount: z.coerce.number().positive(),
  customer_id: z.string().transform((s) => s.trim().toUpperCase()),
  note: z.string().optional(),
  idempotency_key: z.string().optional(),
});
export type RefundInput = z.output<typeof RefundParams>;

export function refundTool(config: Partial<ToolConfig<typeof RefundParams>> = {}) {
  const ran: RefundInput[] = [];
  const gateSaw: RefundInput[] = [];
  const tool = Tool({
    name: 'refund',
    description: 'Refund a customer.',
    params: RefundParams,
    requiresApproval: (input) => {
      gateSaw.push(input);
      return input.amount > 100;
    },
    handler: (input) => {
      ran.push(input);
      return `refunded $${input.amount} to ${input.customer_id}`;
    },
    ...config,
  });
  return { tool, ran, gateSaw };
}
