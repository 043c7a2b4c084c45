// Shared by the sidebar webview tests (test/webview/sidebar-*.test.ts): the harness each file
// starts in its before hook (real host events, headless Chromium) and closes in its after hook,
// a fresh page per test, and the locators and readers the tests use on it.
// Build first: `node esbuild.mjs` (npm test does).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { FromWebview, RunRow, StateMessage } from '../../webview/protocol.js';
import type { Model } from '../../host/model/model.js';
import type { RunEvent } from '../../host/protocol/events.js';
import { Agent, SqlJsStore } from '../../host/runtime/index.js';
import { captureHostEvents, XSS_IMG, type Captured } from './host-events.js';
import {
  openSidebar,
  startHarness,
  type Harness,
  type Sidebar,
  type ThemeName,
} from './harness.js';

export const SHOTS = path.resolve('test-results/webview');

export let harness: Harness;
export let c: Captured;
const open: Sidebar[] = [];

/**
 * Registers the file's hooks: before its tests, the host events are captured and the harness
 * started; after them, every page, the harness and the host are closed. Call once per file.
 */
export function useSidebarHarness(): void {
  before(async () => {
    for (const file of ['dist/webview.js', 'dist/webview.css']) {
      assert.ok(fs.existsSync(file), `${file} is missing: run \`node esbuild.mjs\` first.`);
    }
    c = await captureHostEvents();
    harness = await startHarness();
  });

  after(async () => {
    for (const sidebar of open) await sidebar.close();
    await harness?.close();
    await c?.close();
  });
}

/** A fresh page (tests run one at a time, so the previous test's page is closed first). */
export async function sidebar(theme: ThemeName = 'light'): Promise<Sidebar> {
  for (const previous of open.splice(0)) await previous.close();
  const s = await openSidebar(harness, theme);
  open.push(s);
  return s;
}

/** Saves test-results/webview/NAME.png of one part of the sidebar. */
export async function shotOf(locator: Locator, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await locator.screenshot({ path: path.join(SHOTS, `${name}.png`), animations: 'disabled' });
}

/** A request without its id (ids are checked separately: numbers, increasing). */
export function body(message: FromWebview): Record<string, unknown> {
  const { id: _id, ...rest } = message as FromWebview & { id?: number };
  return rest;
}

export function idOf(message: FromWebview): number {
  assert.ok('id' in message, `${message.type} has no id`);
  return message.id;
}

export function card(page: Page, approvalId: string): Locator {
  return page.locator(`section.card[data-approval-id="${approvalId}"]`);
}

export function form(page: Page, interactionId: string): Locator {
  return page.locator(`section.card[data-interaction-id="${interactionId}"]`);
}

export function run(page: Page, runId: string): Locator {
  return page.locator(`section.run[data-run-id="${runId}"]`);
}

export async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

/** The diff table of a card as [class, old, new, text] rows (hunks and notes as [class, text]). */
export async function diffRows(locator: Locator): Promise<string[][]> {
  return locator.locator('table.diff tbody tr').evaluateAll((rows) =>
    rows.map((row) => {
      const cells = Array.from((row as HTMLTableRowElement).cells);
      if (cells.length === 1) return [row.className, cells[0]?.textContent ?? ''];
      const code = cells.at(-1);
      return [
        row.className,
        ...cells.slice(0, -1).map((cell) => cell.textContent ?? ''),
        code?.lastChild?.textContent ?? '',
      ];
    }),
  );
}

/** Waits for `count` messages in total and returns the last one. */
export async function request(s: Sidebar, count: number): Promise<FromWebview> {
  return s.nthPosted(count);
}

export async function postedCount(s: Sidebar): Promise<number> {
  return (await s.posted()).length;
}

export function stateWith(overrides: Partial<StateMessage>): StateMessage {
  return { ...c.state, ...overrides };
}

export function rowOf(runId: string): RunRow {
  const row = c.state.runs.find((r) => r.run_id === runId);
  assert.ok(row, `no row for ${runId}`);
  return row;
}

/**
 * A run of the real engine with a model that reasons (markup and a key in its reasoning) before
 * it answers: its live events, and the reasoning as the engine shows it (redacted).
 */
export async function thinkingRun() {
  const REASONING = `Maybe ${XSS_IMG} first? The key sk-${'Q1w2E3r4T5'.repeat(3)} stays out.\nThen answer.`;
  const answer = 'Here is the plan.';
  const model: Model = {
    name: 'thinking',
    async *stream() {
      for (const piece of REASONING.match(/.{1,12}/gs) ?? []) {
        yield { type: 'reasoning' as const, text: piece };
      }
      yield { type: 'delta' as const, text: answer };
      return {
        text: answer,
        reasoning: REASONING,
        toolCalls: [],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      };
    },
  };
  const agent = new Agent({ name: 'coder', model, tools: [], store: await SqlJsStore.open() });
  const events: RunEvent[] = [];
  const output = await agent.run({ prompt: 'Plan it' }).collect((e) => events.push(e));
  const reasoning = events
    .filter((e) => e.type === 'delta' && e.thinking)
    .map((e) => (e as { text: string }).text)
    .join('');
  return { events, runId: output.run_id, reasoning, answer };
}

/** Injects an inline script or an inline event handler; resolves with the CSP directive that blocked it. */
export function blockedBy(page: Page, inject: 'script' | 'handler'): Promise<string> {
  return page.evaluate(
    (what) =>
      new Promise<string>((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), {
          once: true,
        });
        if (what === 'script') {
          const script = document.createElement('script');
          script.textContent = 'window.__inline = 1';
          document.body.append(script);
        } else {
          const img = document.createElement('img');
          img.setAttribute('onerror', 'window.__inline = 2');
          img.src = 'x';
          document.body.append(img);
        }
      }),
    inject,
  );
}
