// A real VS Code for this machine: code-server (VS Code in the browser, with a real Node
// extension host), installed once into .cache/code-server. The desktop download that
// @vscode/test-electron performs is not reachable here (see README). code-server 4.100.3 is
// VS Code 1.100, the newest whose engines accept Node 20.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '4.100.3';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = join(root, '.cache', 'code-server');
export const binary = join(cacheDir, 'node_modules', '.bin', 'code-server');

/** Debian packages code-server's install needs: ripgrep and headers for its native modules. */
export const APT_PACKAGES = [
  'ripgrep',
  'libkrb5-dev',
  'libsecret-1-dev',
  'libxkbfile-dev',
  'libx11-dev',
];

/**
 * Installs the Debian packages of `packages` that are missing, with apt-get, when running as root
 * where apt-get exists; otherwise throws naming exactly what to install. `what` says who needs
 * them (for the messages).
 */
export function installDebianPackages(packages, what) {
  const missing = packages.filter(
    (p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0,
  );
  if (!missing.length) return;
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) {
    throw new Error(`missing Debian packages (for ${what}): apt-get install ${missing.join(' ')}`);
  }
  console.error(`Installing ${missing.join(' ')} with apt-get (for ${what})…`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...missing],
  ]) {
    const r = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new Error(
        `apt-get ${args[0]} failed; install them by hand: apt-get install ${missing.join(' ')}`,
      );
  }
}

/** Its postinstall downloads ripgrep from GitHub; @vscode/ripgrep looks in this cache first. */
function seedRipgrepCache() {
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  if (!rg) throw new Error('ripgrep is missing: apt-get install ripgrep (see .ci/run).');
  for (const v of ['1.15.11', '1.15.12', '1.15.13', '1.15.14']) {
    const dir = join(tmpdir(), `vscode-ripgrep-cache-${v}`);
    const archive = join(dir, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
    if (existsSync(archive)) continue;
    mkdirSync(join(dir, 'x'), { recursive: true });
    cpSync(rg, join(dir, 'x', 'rg'));
    execFileSync('tar', ['-C', join(dir, 'x'), '-czf', archive, 'rg']);
  }
}

export function ensureCodeServer() {
  if (existsSync(binary)) return binary;
  console.error(`Installing code-server ${VERSION} into ${cacheDir} (once; about a minute)…`);
  installDebianPackages(APT_PACKAGES, 'code-server');
  seedRipgrepCache();
  mkdirSync(cacheDir, { recursive: true });
  const result = spawnSync(
    'npm',
    [
      'install',
      '--unsafe-perm',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      cacheDir,
      `code-server@${VERSION}`,
    ],
    { stdio: 'inherit', env: { ...process.env, npm_config_yes: 'true' } },
  );
  if (result.status !== 0 || !existsSync(binary)) {
    throw new Error(
      'Installing code-server failed. It needs libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev ripgrep (apt-get, see .ci/run).',
    );
  }
  return binary;
}

/**
 * User settings that keep a code-server window quiet and local: it does not forward (or offer to
 * forward) the loopback ports it sees listening (the demo model, the Airlock host's children),
 * and nothing reports telemetry or looks for extension updates and recommendations.
 */
export const OFFLINE_SETTINGS = {
  'remote.autoForwardPorts': false,
  'remote.restoreForwardedPorts': false,
  'remote.forwardOnOpen': false,
  'remote.otherPortsAttributes': { onAutoForward: 'ignore' },
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
};

/**
 * code-server's environment without an extension gallery: it reads EXTENSIONS_GALLERY (JSON) in
 * place of its built-in Open VSX one, and a gallery without a serviceUrl is none at all, so the
 * window never queries one (this machine cannot reach it: errors in the log otherwise).
 */
export function serveEnv(env = process.env) {
  return { ...env, EXTENSIONS_GALLERY: '{}' };
}

/** How npm start and the editor tests serve VS Code: loopback only, no auth, no prompts. */
export function serveArgs({ port, userData, extensions, workspace }) {
  return [
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensions,
    workspace,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(ensureCodeServer());
}
