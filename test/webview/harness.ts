// The sidebar in headless Chromium, served the way the extension serves it: a page with a strict
// CSP (`default-src 'none'`, styles from the resource origin, one script by nonce), the built
// dist/webview.css and dist/webview.js from a loopback static server, and a recorded
// `acquireVsCodeApi` whose getState/setState survive a reload (sessionStorage).
import { contentSecurityPolicy, makeNonce, sidebarHtml } from '../../extension/webview-html.js';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { FromWebview, LoadTranscripts, ToWebview } from '../../webview/protocol.js';

const DIST = path.resolve('dist');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ttf': 'font/ttf',
};

export type Palette = Record<`--vscode-${string}`, string>;

const FONTS = {
  '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  '--vscode-editor-font-size': '12px',
} as const;

/** Close to VS Code's "Light Modern". */
export const LIGHT: Palette = {
  ...FONTS,
  '--vscode-foreground': '#3b3b3b',
  '--vscode-descriptionForeground': '#717171',
  '--vscode-errorForeground': '#a1260d',
  '--vscode-sideBar-background': '#f8f8f8',
  '--vscode-sideBarSectionHeader-foreground': '#3b3b3b',
  '--vscode-editor-background': '#ffffff',
  '--vscode-editor-foreground': '#3b3b3b',
  '--vscode-editorWidget-background': '#ffffff',
  '--vscode-widget-border': '#e5e5e5',
  '--vscode-panel-border': '#e5e5e5',
  '--vscode-input-background': '#ffffff',
  '--vscode-input-foreground': '#3b3b3b',
  '--vscode-input-border': '#cecece',
  '--vscode-input-placeholderForeground': '#767676',
  '--vscode-button-background': '#005fb8',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#0258a8',
  '--vscode-button-border': '#0000001a',
  '--vscode-button-secondaryBackground': '#e5e5e5',
  '--vscode-button-secondaryForeground': '#3b3b3b',
  '--vscode-button-secondaryHoverBackground': '#cccccc',
  '--vscode-focusBorder': '#005fb8',
  '--vscode-textLink-foreground': '#005fb8',
  '--vscode-textLink-activeForeground': '#005fb8',
  '--vscode-badge-background': '#cccccc',
  '--vscode-badge-foreground': '#3b3b3b',
  '--vscode-diffEditor-insertedTextBackground': '#9ccc2c40',
  '--vscode-diffEditor-removedTextBackground': '#ff000033',
  '--vscode-diffEditor-insertedLineBackground': '#9bb95533',
  '--vscode-diffEditor-removedLineBackground': '#ff000033',
  '--vscode-editorLineNumber-foreground': '#6e7681',
  '--vscode-inputValidation-errorBorder': '#be1100',
  '--vscode-inputValidation-errorBackground': '#f2dede',
  '--vscode-inputValidation-warningBorder': '#bf8803',
  '--vscode-inputValidation-warningBackground': '#f6f5d2',
  '--vscode-inputValidation-infoBorder': '#1a85ff',
  '--vscode-inputValidation-infoBackground': '#d6ecf2',
  '--vscode-textCodeBlock-background': '#dcdcdc66',
  '--vscode-progressBar-background': '#005fb8',
  '--vscode-gitDecoration-addedResourceForeground': '#587c0c',
  '--vscode-gitDecoration-deletedResourceForeground': '#ad0707',
  '--vscode-editorWarning-foreground': '#bf8803',
};

/** Close to VS Code's "Dark Modern". */
export const DARK: Palette = {
  ...FONTS,
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-errorForeground': '#f85149',
  '--vscode-sideBar-background': '#181818',
  '--vscode-sideBarSectionHeader-foreground': '#cccccc',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-editor-foreground': '#cccccc',
  '--vscode-editorWidget-background': '#202020',
  '--vscode-widget-border': '#313131',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-input-background': '#313131',
  '--vscode-input-foreground': '#cccccc',
  '--vscode-input-border': '#3c3c3c',
  '--vscode-input-placeholderForeground': '#989898',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#026ec1',
  '--vscode-button-border': '#ffffff12',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-button-secondaryHoverBackground': '#3c3c3c',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-textLink-activeForeground': '#4daafc',
  '--vscode-badge-background': '#616161',
  '--vscode-badge-foreground': '#f8f8f8',
  '--vscode-diffEditor-insertedTextBackground': '#9ccc2c33',
  '--vscode-diffEditor-removedTextBackground': '#ff000033',
  '--vscode-diffEditor-insertedLineBackground': '#9bb95533',
  '--vscode-diffEditor-removedLineBackground': '#ff000033',
  '--vscode-editorLineNumber-foreground': '#6e7681',
  '--vscode-inputValidation-errorBorder': '#be1100',
  '--vscode-inputValidation-errorBackground': '#5a1d1d',
  '--vscode-inputValidation-warningBorder': '#b89500',
  '--vscode-inputValidation-warningBackground': '#352a05',
  '--vscode-inputValidation-infoBorder': '#007acc',
  '--vscode-inputValidation-infoBackground': '#063b49',
  '--vscode-textCodeBlock-background': '#0a0a0a66',
  '--vscode-progressBar-background': '#0078d4',
  '--vscode-gitDecoration-addedResourceForeground': '#81b88b',
  '--vscode-gitDecoration-deletedResourceForeground': '#c74e39',
  '--vscode-editorWarning-foreground': '#cca700',
};

/** Close to VS Code's "Dark High Contrast": borders everywhere, no tinted fills to rely on. */
export const HIGH_CONTRAST: Palette = {
  ...DARK,
  '--vscode-foreground': '#ffffff',
  '--vscode-descriptionForeground': '#ffffffb3',
  '--vscode-sideBar-background': '#000000',
  '--vscode-editor-background': '#000000',
  '--vscode-editor-foreground': '#ffffff',
  '--vscode-editorWidget-background': '#0c141f',
  '--vscode-widget-border': '#6fc3df',
  '--vscode-contrastBorder': '#6fc3df',
  '--vscode-contrastActiveBorder': '#f38518',
  '--vscode-focusBorder': '#f38518',
  '--vscode-input-background': '#000000',
  '--vscode-input-border': '#6fc3df',
  '--vscode-button-background': '#000000',
  '--vscode-button-border': '#6fc3df',
  '--vscode-button-secondaryBackground': '#000000',
  '--vscode-button-secondaryForeground': '#ffffff',
  '--vscode-badge-background': '#000000',
  '--vscode-badge-foreground': '#ffffff',
  '--vscode-diffEditor-insertedTextBackground': '#00000000',
  '--vscode-diffEditor-removedTextBackground': '#00000000',
  '--vscode-diffEditor-insertedLineBackground': '#00000000',
  '--vscode-diffEditor-removedLineBackground': '#00000000',
  '--vscode-textLink-foreground': '#21a6ff',
};

export const THEMES = {
  light: { palette: LIGHT, bodyClass: 'vscode-light' },
  dark: { palette: DARK, bodyClass: 'vscode-dark' },
  'high-contrast': { palette: HIGH_CONTRAST, bodyClass: 'vscode-high-contrast' },
} as const;
export type ThemeName = keyof typeof THEMES;

export interface Harness {
  browser: Browser;
  origin: string;
  /** The CSP the page is served with. */
  csp: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  let page = '';
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(page);
    }
    if (url === '/favicon.ico') {
      res.writeHead(204);
      return void res.end();
    }
    const file = url.startsWith('/dist/') ? path.join(DIST, path.basename(url)) : null;
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404);
      return void res.end();
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The page the extension serves, built by its own code: same CSP, same nonce rules.
  const nonce = makeNonce();
  const csp = contentSecurityPolicy(origin, nonce);
  page = sidebarHtml({
    cspSource: origin,
    nonce,
    scriptUri: `${origin}/dist/webview.js`,
    styleUri: `${origin}/dist/webview.css`,
    codiconUri: `${origin}/dist/codicon.css`,
  });

  const browser = await launchChromium();
  return {
    browser,
    origin,
    csp,
    async close() {
      await browser.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Records every postMessage; getState/setState live in sessionStorage to survive a reload. */
function fakeVsCodeApi(): void {
  const w = window as unknown as Record<string, unknown>;
  w.__posted = [];
  // Asked for transcripts (`loadTranscripts`, no reply) are kept apart from the other messages,
  // which the tests count.
  w.__asked = [];
  w.__warnings = [];
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    (w.__warnings as string[]).push(args.map(String).join(' '));
    warn(...args);
  };
  // A reload must not restore the scroll position by itself: the sidebar has to.
  history.scrollRestoration = 'manual';
  w.acquireVsCodeApi = () => ({
    postMessage(message: unknown) {
      const copy = JSON.parse(JSON.stringify(message)) as { type?: unknown };
      if (copy.type === 'loadTranscripts') (w.__asked as unknown[]).push(copy);
      else (w.__posted as unknown[]).push(copy);
    },
    getState() {
      const saved = sessionStorage.getItem('vscode-state');
      return saved === null ? undefined : (JSON.parse(saved) as unknown);
    },
    setState(state: unknown) {
      sessionStorage.setItem('vscode-state', JSON.stringify(state));
      return state;
    },
  });
}

export interface Sidebar {
  page: Page;
  /** console.warn / console.error lines of the page. */
  warnings: string[];
  /** Sends a message as the extension would (validated against the protocol first). */
  send(message: ToWebview): Promise<void>;
  /** Every message the webview posted, parsed with the protocol's FromWebview. */
  posted(): Promise<FromWebview[]>;
  /** Every `loadTranscripts` the webview posted (kept apart from `posted`). */
  asked(): Promise<LoadTranscripts[]>;
  /** Waits until the webview has posted `count` messages in total, and returns the last. */
  nthPosted(count: number): Promise<FromWebview>;
  theme(name: ThemeName): Promise<void>;
  reload(): Promise<void>;
  close(): Promise<void>;
}

export async function openSidebar(harness: Harness, theme: ThemeName = 'light'): Promise<Sidebar> {
  const context = await harness.browser.newContext({
    viewport: { width: 380, height: 900 },
    deviceScaleFactor: 1,
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const warnings: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'warning' || msg.type() === 'error') warnings.push(msg.text());
  });
  page.on('pageerror', (err) => warnings.push(`pageerror: ${err.message}`));
  await page.addInitScript(fakeVsCodeApi);

  const applyTheme = async (name: ThemeName) => {
    const { palette, bodyClass } = THEMES[name];
    // As VS Code does: theme variables on <html>, the theme kind as a class on <body>. Through the
    // CSSOM, which the CSP allows (a style attribute in markup would be blocked).
    await page.evaluate(
      ({ palette, bodyClass }) => {
        const root = document.documentElement;
        for (const [name, value] of Object.entries(palette)) root.style.setProperty(name, value);
        document.body.className = bodyClass;
      },
      { palette, bodyClass },
    );
  };
  const loaded = async () => {
    await page.waitForFunction(
      () => (window as unknown as { __posted: unknown[] }).__posted.length > 0,
    );
    await applyTheme(theme);
  };

  const sidebar: Sidebar = {
    page,
    warnings,
    async send(message) {
      const valid = ToWebview.parse(message);
      await page.evaluate((m) => window.postMessage(m, '*'), valid as unknown);
    },
    async posted() {
      const raw = await page.evaluate(
        () => (window as unknown as { __posted: unknown[] }).__posted,
      );
      return raw.map((m) => FromWebview.parse(m));
    },
    async asked() {
      const raw = await page.evaluate(() => (window as unknown as { __asked: unknown[] }).__asked);
      return raw.map((m) => LoadTranscripts.parse(m));
    },
    async nthPosted(count) {
      await page.waitForFunction(
        (n) => (window as unknown as { __posted: unknown[] }).__posted.length >= n,
        count,
      );
      const all = await sidebar.posted();
      const message = all[count - 1];
      if (!message) throw new Error(`No message #${count}.`);
      return message;
    },
    theme: async (name) => {
      theme = name;
      await applyTheme(name);
    },
    async reload() {
      await page.reload();
      await loaded();
    },
    async close() {
      await context.close();
    },
  };
  await page.goto(`${harness.origin}/`);
  await loaded();
  return sidebar;
}
