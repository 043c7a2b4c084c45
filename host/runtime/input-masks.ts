// What the public surfaces (approval cards, tool_call events, the audit trail) see of a tool's
// input: the configured keys and patterns masked, and the tool's own approvalRedactKeys and
// approvalRedactor applied. The run state keeps the real input: the handler needs it.
import type { ResumeMap } from '../protocol/events.js';
import { MASK, type Redactor } from './redact.js';
import type { CallState } from './run-state.js';
import type { Tool } from './tool.js';

export class InputMasks {
  constructor(
    private readonly redactor: Redactor,
    private readonly tools: ReadonlyMap<string, Tool>,
  ) {}

  /** A tool's validated input as the approval card shows it. */
  input(tool: Tool, input: unknown): unknown {
    const masked = tool.approvalRedactor ? tool.approvalRedactor(input) : input;
    return this.redactor.value(masked, tool.approvalRedactKeys ?? []);
  }

  /**
   * A tool_call event's input: masked like the approval card's. The approvalRedactor is written
   * for the validated input, so it gets that; arguments that do not validate (the call will be
   * reported to the model as invalid) must not crash the run through it.
   */
  callInput(tool: Tool | undefined, args: unknown): unknown {
    if (!tool) return this.redactor.value(args);
    const parsed = tool.params.safeParse(args);
    if (parsed.success) return this.input(tool, parsed.data);
    try {
      return this.input(tool, args);
    } catch {
      return MASK;
    }
  }

  /**
   * A resolution as the audit trail keeps it (decisions, segments): besides the configured keys
   * and patterns, override_input is masked the way the tool's input is on the approval card,
   * keeping only the overridden keys.
   */
  resolution(call: CallState | undefined, value: unknown): unknown {
    const tool = call && this.tools.get(call.tool);
    if (!call || !tool || !isRecord(value) || !isRecord(value.override_input)) {
      return this.redactor.value(value);
    }
    const override = value.override_input;
    const merged = tool.params.safeParse({
      ...(isRecord(call.args) ? call.args : {}),
      ...override,
    });
    let shown: unknown = null;
    if (merged.success) {
      try {
        shown = this.input(tool, merged.data);
      } catch {
        shown = null;
      }
    }
    const masked = Object.fromEntries(
      Object.keys(override).map((k) => [k, isRecord(shown) && k in shown ? shown[k] : MASK]),
    );
    return this.redactor.value({ ...value, override_input: masked });
  }

  /** The resume map as the segment row keeps it, given the gates open when the run was loaded. */
  resume(resume: ResumeMap, openGates: ReadonlyMap<string, CallState>): Record<string, unknown> {
    return Object.fromEntries(
      Object.entries(resume).map(([id, v]) => [id, this.resolution(openGates.get(id), v)]),
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
