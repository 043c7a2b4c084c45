// A real VS Code for the end-to-end suite: code-server (VS Code 1.100 in the browser, with a real
// Node extension host) with the packaged airlock.vsix installed, opened on a fresh copy of the
// sample workspace and driven by Playwright in Debian's Chromium. Settings point the extension at
// a scripted OpenAI-compatible server in the test process; XDG_DATA_HOME keeps the host's
// database in the temp folder. Every wait is bounded; nothing sleeps where a condition exists.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../support/chromium.js';
import { until, UI_TIMEOUT } from '../support/until.js';

const REPO = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(REPO, 'test-results');
const VSIX = path.join(REPO, 'airlock.vsix');
/** What goes into the .vsix: when any of it is newer than the package, it is built again. */
const PACKAGE_INPUTS = [
  'extension',
  'host',
  'webview',
  'media',
  'package.json',
  '.vscodeignore',
  'esbuild.mjs',
];

function newestMtime(p: string): number {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(p))
    newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** `npm run package` when airlock.vsix is missing or older than its sources. */
export function ensureVsix(): string {
  const built = fs.statSync(VSIX, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...PACKAGE_INPUTS.map((p) => newestMtime(path.join(REPO, p))));
  if (built >= sources) return VSIX;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'package'], { cwd: REPO, encoding: 'utf8' });
  if (result.status !== 0 || !fs.existsSync(VSIX)) {
    throw new Error(`npm run package failed:\n${result.stdout}\n${result.stderr}`);
  }
  return VSIX;
}

interface CodeServerScript {
  ensureCodeServer(): string;
  serveArgs(o: { port: number; userData: string; extensions: string; workspace: string }): string[];
  serveEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  OFFLINE_SETTINGS: Record<string, unknown>;
}

/** scripts/code-server.mjs (plain JavaScript): imported by URL, the exports used stated here. */
async function codeServerScript(): Promise<CodeServerScript> {
  const url = pathToFileURL(path.join(REPO, 'scripts', 'code-server.mjs')).href;
  return (await import(url)) as CodeServerScript;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches exactly this text (whole element text, trimmed). */
export function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

export interface EditorOptions {
  /** The scripted model server's base URL. */
  baseURL: string;
  /** More .vsix files installed beside Airlock's. */
  extraVsix?: string[];
  /** More environment for code-server and so for its extension host. */
  env?: Record<string, string>;
  /** The folder under test-results/ for screenshots and logs; default `editor`. */
  results?: string;
  /**
   * Open the folder untrusted, in VS Code's Restricted Mode: workspace trust stays on (no
   * `--disable-workspace-trust`) and never prompts, so the folder is simply not trusted.
   */
  restricted?: boolean;
  /** Files written into the fresh workspace before VS Code opens it (relative path → text). */
  workspaceFiles?: Record<string, string>;
}

/**
 * The test-only runner extension of the extension-host suite (built by esbuild.mjs into
 * out/extension-host), packaged as a .vsix: code-server installs extensions from packages only.
 */
export function packageSuiteExtension(): string {
  const dir = path.join(REPO, 'out', 'extension-host');
  const out = path.join(REPO, 'out', 'airlock-suite.vsix');
  if (!fs.existsSync(path.join(dir, 'suite.js'))) {
    throw new Error('out/extension-host is not built: run `node esbuild.mjs` first.');
  }
  const vsce = path.join(REPO, 'node_modules', '@vscode', 'vsce', 'vsce');
  const args = ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license'];
  const result = spawnSync(process.execPath, [vsce, ...args, '--out', out], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`Packaging the suite extension failed:\n${result.stdout}\n${result.stderr}`);
  }
  return out;
}

export class Editor {
  private shotIndex = 0;
  private constructor(
    readonly page: Page,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    readonly root: string,
    readonly workspace: string,
    readonly extensionsDir: string,
    readonly userDataDir: string,
    /** XDG_DATA_HOME of code-server and so of the Airlock host: its database lives here. */
    readonly dataDir: string,
    /** test-results/<results>: screenshots, code-server's log, VS Code's logs. */
    readonly shots: string,
  ) {}

  static async start(options: EditorOptions): Promise<Editor> {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`The editor tests drive Debian's Chromium: apt-get install chromium.`);
    }
    const vsix = ensureVsix();
    const { ensureCodeServer, serveArgs, serveEnv, OFFLINE_SETTINGS } = await codeServerScript();
    const binary = ensureCodeServer();
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-editor-')));
    const workspace = path.join(root, 'workspace');
    const ext = path.join(root, 'ext');
    const ud = path.join(root, 'ud');
    const data = path.join(root, 'data');
    fs.cpSync(path.join(REPO, 'sample-workspace'), workspace, { recursive: true });
    for (const [rel, text] of Object.entries(options.workspaceFiles ?? {})) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }
    for (const dir of [ext, ud, data, path.join(ud, 'User'), path.join(ud, 'Machine')])
      fs.mkdirSync(dir, { recursive: true });
    // Airlock's endpoint is a machine-scoped setting ("user settings only", SPEC §9). code-server
    // is a remote window to VS Code: machine-scoped settings come from the remote's settings
    // (<user-data-dir>/Machine/settings.json), and the browser side's user settings are ignored
    // for them, as in any remote window. The model name is an ordinary setting: user settings.
    fs.writeFileSync(
      path.join(ud, 'Machine', 'settings.json'),
      JSON.stringify({ 'airlock.baseURL': options.baseURL }, null, 2),
    );
    const trust = options.restricted
      ? {
          'security.workspace.trust.enabled': true,
          'security.workspace.trust.startupPrompt': 'never',
        }
      : { 'security.workspace.trust.enabled': false };
    fs.writeFileSync(
      path.join(ud, 'User', 'settings.json'),
      JSON.stringify(
        {
          'airlock.model': 'scripted',
          'workbench.startupEditor': 'none',
          ...trust,
          'workbench.tips.enabled': false,
          // The terminal drawn as DOM text, which a test can read (a command's output).
          'terminal.integrated.gpuAcceleration': 'off',
          // As npm start: no port forwarding (the model server, Chromium's), no telemetry, no
          // extension updates or recommendations.
          ...OFFLINE_SETTINGS,
        },
        null,
        2,
      ),
    );
    const shots = path.join(RESULTS, options.results ?? 'editor');
    fs.rmSync(shots, { recursive: true, force: true });
    fs.mkdirSync(shots, { recursive: true });

    for (const pkg of [vsix, ...(options.extraVsix ?? [])]) {
      const install = spawnSync(
        binary,
        ['--extensions-dir', ext, '--user-data-dir', ud, '--install-extension', pkg],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (install.status !== 0) {
        throw new Error(`Installing ${pkg} failed:\n${install.stdout}\n${install.stderr}`);
      }
    }

    const { AIRLOCK_DB: _db, ...env } = process.env; // the database goes under `data`
    const port = await freePort();
    const log = fs.openSync(path.join(shots, 'code-server.log'), 'w');
    const args = serveArgs({ port, userData: ud, extensions: ext, workspace }).filter(
      (arg) => !(options.restricted && arg === '--disable-workspace-trust'),
    );
    const server = spawn(binary, args, {
      // Its own process group, so `close` ends code-server and everything it started.
      detached: true,
      stdio: ['ignore', log, log],
      // XDG_CONFIG_HOME: the host's record of trusted workspace files stays in the temp folder.
      // serveEnv: no extension gallery, as npm start (this machine cannot reach one).
      env: {
        ...serveEnv(env),
        OPENAI_API_KEY: 'test-key',
        XDG_DATA_HOME: data,
        XDG_CONFIG_HOME: path.join(root, 'config'),
        ...options.env,
      },
    });
    fs.closeSync(log);
    const base = `http://127.0.0.1:${port}`;
    let browser: Browser | undefined;
    try {
      await until('code-server to answer', async () => {
        if (server.exitCode !== null) throw new Error(`code-server exited (${server.exitCode})`);
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
        return res.ok;
      });
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT); // every Playwright wait is bounded
      const url = `${base}/?folder=${encodeURIComponent(workspace)}`;
      const editor = new Editor(page, browser, server, root, workspace, ext, ud, data, shots);
      await page.goto(url);
      await editor.ready();
      return editor;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await stopGroup(server);
      fs.rmSync(root, { recursive: true, force: true });
      throw err;
    }
  }

  /** The workbench is up, the Airlock sidebar is open and connected to its host. */
  async ready(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: UI_TIMEOUT });
    await this.openSidebar();
    await this.connected();
  }

  /** A page reload is a window reload: the extension host (and so the Airlock host) restarts. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  get activityItem(): Locator {
    return this.page.locator('.activitybar .action-item').filter({
      has: this.page.locator('[aria-label^="Airlock"]'),
    });
  }

  async openSidebar(): Promise<void> {
    const item = this.activityItem;
    await item.waitFor({ timeout: UI_TIMEOUT });
    // Not a click on the activity bar icon: the workbench may be restoring the open sidebar at
    // that moment, and a click on an open container's icon closes it. The focus command only opens.
    if (!((await item.getAttribute('class')) ?? '').includes('checked')) {
      await this.runCommand('Airlock: Focus on Airlock View');
    }
    await until('the Airlock view to be open', async () =>
      ((await item.getAttribute('class')) ?? '').includes('checked'),
    );
    await this.sidebar.locator('main.sidebar').waitFor({ timeout: UI_TIMEOUT });
  }

  /** The connection banner is gone: the sidebar shows the host's state. */
  async connected(): Promise<void> {
    await this.sidebar.locator('.pending').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await this.sidebar.locator('.banner').waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
  }

  /** The sidebar webview's document (an iframe inside the webview's iframe). */
  get sidebar(): FrameLocator {
    return this.page
      .frameLocator('iframe.webview[src*="purpose=webviewView"]')
      .frameLocator('iframe');
  }

  /** The badge number on the Airlock activity bar item, or null when there is none. */
  async badge(): Promise<string | null> {
    const badge = this.activityItem.locator('.badge-content');
    if ((await badge.count()) === 0 || !(await badge.first().isVisible())) return null;
    const text = (await badge.first().textContent())?.trim() ?? '';
    return text || null;
  }

  async statusBar(): Promise<string> {
    return (await this.page.locator('.statusbar').textContent()) ?? '';
  }

  /** The run's section in the sidebar's runs list, found by its prompt. */
  run(prompt: string): Locator {
    return this.sidebar
      .locator('section.run')
      .filter({ has: this.sidebar.locator('.run-prompt', { hasText: exactly(prompt) }) });
  }

  async runStatus(prompt: string): Promise<string> {
    return ((await this.run(prompt).locator('.status-text').textContent()) ?? '').trim();
  }

  async waitForRunStatus(prompt: string, status: string, timeout = UI_TIMEOUT): Promise<void> {
    await this.run(prompt)
      .locator('.status-text', { hasText: exactly(status) })
      .waitFor({ timeout });
  }

  /** The pending group of a run ("Waiting for you"), found by its prompt. */
  group(prompt: string): Locator {
    return this.sidebar
      .locator('section.group')
      .filter({ has: this.sidebar.locator('.group-prompt', { hasText: exactly(prompt) }) });
  }

  /** An approval card by its accessible name, e.g. "Edit src/greet.js (edit_file)". */
  card(name: string): Locator {
    return this.sidebar.getByRole('region', { name, exact: true });
  }

  /** Types a prompt into the sidebar and presses Run. */
  async startRun(prompt: string): Promise<void> {
    const box = this.sidebar.getByLabel('Ask the agent');
    await box.fill(prompt);
    await this.sidebar.getByRole('button', { name: 'Run', exact: true }).click();
    await this.run(prompt).waitFor({ timeout: UI_TIMEOUT });
  }

  /** F1, the command's title, a click on its row (again if the palette did not list it yet). */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    const row = this.page
      .locator('.quick-input-widget .monaco-list-row')
      .filter({ hasText: title })
      .first();
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('F1');
      await input.waitFor({ timeout: UI_TIMEOUT });
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ timeout: 10_000 });
        await row.click();
        await input.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
        return;
      } catch (err) {
        await this.page.keyboard.press('Escape');
        if (attempt === 3) throw err;
      }
    }
  }

  async closeEditors(): Promise<void> {
    await this.runCommand('View: Close All Editors');
    await this.page
      .locator('.tabs-container .tab')
      .first()
      .waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  }

  /** The pids of this instance's Airlock host processes (`dist/host.js --node-ipc`). */
  hostPids(): number[] {
    const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    return ps.stdout
      .split('\n')
      .map((line) => line.trim().match(/^(\d+)\s+(.*)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .filter(([, , args]) => {
        return (
          args!.includes(this.extensionsDir) &&
          args!.includes(`${path.sep}dist${path.sep}host.js`) &&
          args!.includes('--node-ipc')
        );
      })
      .map(([, pid]) => Number(pid));
  }

  /** Saves test-results/<results>/NN-name.png of the whole window. */
  async shot(name: string): Promise<string> {
    this.shotIndex++;
    const file = path.join(this.shots, `${String(this.shotIndex).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The Airlock databases under this instance's XDG_DATA_HOME. */
  databases(): string[] {
    const dir = path.join(this.dataDir, 'airlock');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.db')) : [];
  }

  file(rel: string): string {
    return path.join(this.workspace, rel);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await stopGroup(this.server);
    // The logs (the extension's "Airlock" output channel among them) are kept with the screenshots.
    try {
      fs.cpSync(path.join(this.userDataDir, 'logs'), path.join(this.shots, 'logs'), {
        recursive: true,
      });
    } catch {
      // no logs: nothing to keep
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** SIGTERM to the process group we started, then SIGKILL if it lingers (bounded). */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000));
  const done = await Promise.race([exited.then(() => true), timer]);
  if (!done) signal('SIGKILL');
  // Stragglers of the group (extension host, Airlock host) after code-server itself exited.
  signal('SIGKILL');
}
