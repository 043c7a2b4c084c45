// One build script, one esbuild context per bundle. `tsc --noEmit` type-checks separately
// (npm run typecheck) because esbuild only strips types.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { englishOnlyZod } from './scripts/esbuild-plugins.mjs';

const require = createRequire(import.meta.url);
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/**
 * tree-sitter and its bash grammar (170 KB) are a bundle of their own, dist/bash-grammar.js, that
 * the others load on a run's first shell command: most processes never parse a command line.
 */
const bashGrammarApart = {
  name: 'bash-grammar-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/bash-grammar\.js$/ }, (args) =>
      args.importer.endsWith(path.join('host', 'tools', 'command-line.ts'))
        ? { path: './bash-grammar.js', external: true }
        : undefined,
    );
  },
};

const node = {
  plugins: [englishOnlyZod, bashGrammarApart],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
};

const bundles = [
  // The extension in two bundles: the activation module, small so activating is cheap, and the
  // rest, which it `require`s on first use (extension/extension.ts).
  {
    ...node,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
  },
  {
    ...node,
    entryPoints: ['extension/main.ts'],
    outfile: 'dist/extension-main.js',
    external: ['vscode'],
  },
  // The host and the CLI in two bundles each: a small launcher, which runs the rest from V8's
  // code cache (host/code-cache.ts). In the rest, import() is require(): V8 (Node 20) loses a
  // script's import() callback when the script comes from its cache.
  { ...node, entryPoints: ['host/server/launch.ts'], outfile: 'dist/host.js' },
  {
    ...node,
    entryPoints: ['host/server/main.ts'],
    outfile: 'dist/host-main.js',
    supported: { 'dynamic-import': false },
  },
  {
    ...node,
    entryPoints: ['host/cli/launch.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...node,
    entryPoints: ['host/cli/main.ts'],
    outfile: 'dist/cli-main.js',
    supported: { 'dynamic-import': false },
  },
  // The runtime as a library (not in the .vsix): the user's zod is the one its Tool params are
  // written with, so zod is a peer dependency, never bundled. sql.js stays inside: its JS must
  // match the sql-wasm.wasm beside the bundle, and no sql.js object crosses the API.
  {
    ...node,
    entryPoints: ['host/runtime/index.ts'],
    outfile: 'dist/runtime.js',
    external: ['zod'],
  },
  { ...node, entryPoints: ['host/tools/bash-grammar.ts'], outfile: 'dist/bash-grammar.js' },
  // The store's snapshot writer: a worker thread that host.js, cli.js and runtime.js start.
  { ...node, entryPoints: ['host/store/snapshot-worker.ts'], outfile: 'dist/snapshot-worker.js' },
  // Team mode's PostgreSQL connection (host/store/pg-store.ts): a worker thread of the same three.
  { ...node, entryPoints: ['host/store/pg-worker.ts'], outfile: 'dist/pg-worker.js' },
  {
    plugins: [englishOnlyZod],
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
  },
];

// The extension-host suite (test only; a release build leaves it out): one module that is both
// the `extensionTestsPath` of @vscode/test-electron (npm run test:desktop) and the main of the
// runner extension that code-server installs beside Airlock. `vscode` is the editor's.
if (!production) {
  bundles.push({
    ...node,
    sourcemap: 'inline',
    minify: false,
    entryPoints: ['test/extension-host/index.ts'],
    outfile: 'out/extension-host/suite.js',
    external: ['vscode'],
    // Mocha's parallel mode resolves its worker files at run time; the suite runs serially.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
  mkdirSync('out/extension-host', { recursive: true });
  copyFileSync('test/extension-host/package.json', 'out/extension-host/package.json');
  copyFileSync('LICENSE', 'out/extension-host/LICENSE');
}

mkdirSync('dist', { recursive: true });
// sql.js loads its wasm from beside the bundle (see host/store/sqljs-store.ts).
copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');
// So do tree-sitter and its bash grammar, for run_command (see host/tools/bash-grammar.ts).
for (const file of ['tree-sitter.wasm', 'tree-sitter-bash.wasm']) {
  copyFileSync(require.resolve(`@vscode/tree-sitter-wasm/wasm/${file}`), `dist/${file}`);
}
copyFileSync('webview/style.css', 'dist/webview.css');
// VS Code's icon font for the sidebar: the stylesheet finds codicon.ttf beside it.
for (const file of ['codicon.css', 'codicon.ttf']) {
  copyFileSync(require.resolve(`@vscode/codicons/dist/${file}`), `dist/${file}`);
}

const contexts = await Promise.all(bundles.map((options) => esbuild.context(options)));
if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
} else {
  await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
  runtimeTypes();
}

/**
 * The runtime library's types: tsc writes one declaration per module into dist/runtime-types/
 * (tsconfig.runtime.json; it emits without checking, which npm run typecheck does), and
 * dist/runtime.d.ts re-exports the entry's.
 */
function runtimeTypes() {
  rmSync('dist/runtime-types', { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.runtime.json'], { stdio: 'inherit' });
  writeFileSync('dist/runtime.d.ts', "export * from './runtime-types/runtime/index.js';\n");
}
