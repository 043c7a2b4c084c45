// Input boxes and quick picks shared by the palette commands and the notification: pick one item,
// a deny reason, the answers to a question. Escape anywhere means "do nothing".
import * as vscode from 'vscode';
import type { InteractionEvent } from '../host/protocol/events.js';
import { answerSteps, assembleAnswer, OTHER, parseTyped, type AnswerStep } from './answer-steps.js';
import type { Item } from './pick-items.js';
import { plainText } from './indicator-text.js';
import { errorMessage } from './rpc-call.js';

/** Shows an error where the user acted (the host's messages are already redacted). */
export function report(err: unknown): void {
  void vscode.window.showErrorMessage(`Airlock: ${errorMessage(err)}`);
}

export async function pickOne<T>(
  items: Item<T>[],
  title: string,
  empty: string,
  placeHolder?: string,
): Promise<T | undefined> {
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Airlock: ${empty}`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title,
    matchOnDescription: true,
    matchOnDetail: true,
    ...(placeHolder ? { placeHolder } : {}),
  });
  return picked?.value;
}

/** The reason to give the agent; undefined when the user pressed Escape (no deny). */
export function askDenyReason(prompt: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: 'Airlock: Deny',
    prompt: `Why deny "${plainText(prompt, 120)}"? The agent reads this (optional).`,
    placeHolder: 'e.g. keep the public API unchanged',
    ignoreFocusOut: true,
  });
}

/** Asks every question of an interaction in turn; undefined if the user gave up. */
export async function askAnswer(interaction: InteractionEvent): Promise<unknown> {
  const steps = answerSteps(interaction);
  const values: unknown[] = [];
  for (const [index, step] of steps.entries()) {
    const title = `Airlock: ${plainText(interaction.prompt, 80)} (${index + 1}/${steps.length})`;
    const value = await askStep(step, title);
    if (value === undefined) return undefined;
    values.push(value);
  }
  return assembleAnswer(steps, values);
}

/** An input box read by the shared form model; undefined when dismissed. */
async function typedAnswer(step: AnswerStep, title: string, question: string): Promise<unknown> {
  const typed = await vscode.window.showInputBox({
    title,
    prompt: question,
    ignoreFocusOut: true,
    validateInput: (text) => {
      const parsed = parseTyped(step, text);
      return 'error' in parsed ? parsed.error : undefined;
    },
  });
  if (typed === undefined) return undefined;
  const parsed = parseTyped(step, typed);
  return 'value' in parsed ? parsed.value : undefined;
}

async function askStep(step: AnswerStep, title: string): Promise<unknown> {
  const question = plainText(step.question, 300);
  switch (step.kind) {
    case 'yesno': {
      const picked = await vscode.window.showQuickPick(['Yes', 'No'], {
        title,
        placeHolder: question,
      });
      return picked === undefined ? undefined : picked === 'Yes';
    }
    case 'pick': {
      // Suggestions (SPEC §2): "Other…" (an item of its own, never confused with an option of
      // that name) asks for the developer's own answer.
      const other: vscode.QuickPickItem = { label: OTHER, description: 'type your own answer' };
      const items: vscode.QuickPickItem[] = step.options.map((label) => ({ label }));
      const picked = await vscode.window.showQuickPick(step.other ? [...items, other] : items, {
        title,
        placeHolder: question,
      });
      return picked === other ? typedAnswer(step, title, question) : picked?.label;
    }
    case 'multi':
      return vscode.window.showQuickPick(step.options, {
        title,
        placeHolder: question,
        canPickMany: true,
      });
    default:
      return typedAnswer(step, title, question);
  }
}
