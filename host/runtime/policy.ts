// Permission policy: per tool allow | ask | deny, optionally narrowed by path globs; first match
// wins. Rules from "always allow / deny" decisions are consulted before the configured ones.
import picomatch from 'picomatch';
import { z } from 'zod';

export const PolicyAction = z.enum(['allow', 'ask', 'deny']);
export type PolicyAction = z.infer<typeof PolicyAction>;

export const PolicyRule = z
  .object({
    /** A tool name, or "*" for every tool. */
    tool: z.string().min(1),
    /** Workspace-relative globs; the rule matches only calls whose path matches one. */
    paths: z.array(z.string().min(1)).optional(),
    action: PolicyAction,
  })
  .strict();
export type PolicyRule = z.infer<typeof PolicyRule>;

export const Policy = z.array(PolicyRule);
export type Policy = z.infer<typeof Policy>;

export function parsePolicy(value: unknown, source: string): Policy {
  const parsed = Policy.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `${source}: the policy must be a list of { "tool": "write_file", "paths": ["docs/**"], "action": "allow" | "ask" | "deny" } rules: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** The first rule matching this call, or undefined when none does. */
export function matchPolicy(
  rules: readonly PolicyRule[],
  tool: string,
  path: string | undefined,
): PolicyRule | undefined {
  return rules.find((rule) => {
    if (rule.tool !== '*' && rule.tool !== tool) return false;
    if (!rule.paths) return true;
    if (path === undefined) return false;
    const normalized = path.replace(/\\/g, '/').replace(/^\.\//, '');
    return rule.paths.some((glob) => picomatch.isMatch(normalized, glob, { dot: true }));
  });
}
