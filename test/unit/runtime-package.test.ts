// dist/runtime.js as a library user meets it (built by `node esbuild.mjs`, which also writes its
// declarations): the files the package lays out under dist/ copied into a consumer's
// node_modules/airlock beside the consumer's own zod, then a consumer file type-checked against
// dist/runtime.d.ts and run against dist/runtime.js.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { runProcess, type Result } from '../support/cli-process.js';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
// What dist/runtime.js needs beside it: its types, sql.js's wasm, the store's snapshot worker,
// and the bash parser a shell-command tool's policy loads on first use.
const LIBRARY_FILES = [
  'runtime.js',
  'runtime.d.ts',
  'runtime-types',
  'sql-wasm.wasm',
  'bash-grammar.js',
  'tree-sitter.wasm',
  'tree-sitter-bash.wasm',
  ...(fs.existsSync(path.join(DIST, 'snapshot-worker.js')) ? ['snapshot-worker.js'] : []),
];

const CONSUMER = `import { z } from 'zod';
import { Agent, Tool, runTool, SqlJsStore } from 'airlock';

export const refund = Tool({
  name: 'refund',
  description: 'Refund a customer',
  params: z.object({ amount: z.number(), customer_id: z.string() }),
  handler: ({ amount, customer_id }) => \`refunded \${amount} to \${customer_id}\`,
  requiresApproval: ({ amount }) => amount > 100,
});

// The handler's input is the schema's output: a wrong type there is the user's error.
// @ts-expect-error amount is a number
Tool({ name: 'bad', description: 'bad', params: z.object({ amount: z.number() }), handler: (input: { amount: string }) => input.amount });

export async function pauseOnce(db: string): Promise<string> {
  const store = await SqlJsStore.open(db);
  try {
    const paused = await runTool(refund, { input: { amount: 250, customer_id: 'C-42' }, store }).collect();
    return paused.status.reason;
  } finally {
    store.close();
  }
}

export type AgentName = ConstructorParameters<typeof Agent>[0]['name'];
`;

let dir = '';
let consumerTs = '';

before(() => {
  for (const file of LIBRARY_FILES) {
    assert.ok(
      fs.existsSync(path.join(DIST, file)),
      `dist/${file} is missing: run node esbuild.mjs`,
    );
  }
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-runtime-package-')));
  const pkg = path.join(dir, 'node_modules', 'airlock');
  fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  for (const file of LIBRARY_FILES) {
    fs.cpSync(path.join(DIST, file), path.join(pkg, 'dist', file), { recursive: true });
  }
  // The consumer's own zod (a copy, so a require of it is told apart from ours) and Node's types.
  fs.cpSync(path.join(ROOT, 'node_modules', 'zod'), path.join(dir, 'node_modules', 'zod'), {
    recursive: true,
  });
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'));
  fs.symlinkSync(
    path.join(ROOT, 'node_modules', '@types', 'node'),
    path.join(dir, 'node_modules', '@types', 'node'),
  );
  consumerTs = path.join(dir, 'consumer.ts');
  fs.writeFileSync(consumerTs, CONSUMER);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], cwd: string): Promise<Result> {
  return runProcess(process.execPath, args, { cwd, env: process.env });
}

void describe('dist/runtime.js as a library', () => {
  void it('type-checks a consumer importing Agent, Tool, runTool and SqlJsStore', () => {
    const program = ts.createProgram([consumerTs], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      // A library user's usual setting: the declarations name modules only the build has
      // (sql.js, openai, re2js types), none of them in the API a consumer calls.
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${path.basename(d.file.fileName)}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    assert.deepEqual(diagnostics, []);
    const runtimeTypes = program.getSourceFile(
      path.join(dir, 'node_modules', 'airlock', 'dist', 'runtime.d.ts'),
    );
    assert.ok(runtimeTypes, 'the types come from dist/runtime.d.ts');
  });

  void it("requires the consumer's zod instead of bundling one, and runs a tool with it", async () => {
    const bundle = fs.readFileSync(path.join(DIST, 'runtime.js'), 'utf8');
    assert.match(bundle, /require\("zod"\)/);
    // zod's core names its base class with this literal, minified or not.
    assert.ok(!bundle.includes('"$ZodType"'), 'no zod implementation in dist/runtime.js');

    const script = `
      const airlock = require('airlock');
      const { z } = require('zod');
      const zodFiles = Object.keys(require.cache).filter((f) => f.includes('/zod/'));
      const refund = airlock.Tool({
        name: 'refund',
        description: 'Refund a customer',
        params: z.object({ amount: z.number() }),
        handler: ({ amount }) => 'refunded ' + amount,
        requiresApproval: ({ amount }) => amount > 100,
      });
      airlock.SqlJsStore.open('runs.db').then(async (store) => {
        const paused = await airlock.runTool(refund, { input: { amount: 250 }, store }).collect();
        store.close();
        console.log(JSON.stringify({ zodFiles, reason: paused.status.reason }));
      });`;
    const r = await run(['-e', script], dir);
    assert.equal(r.code, 0, r.stderr);
    const { zodFiles, reason } = JSON.parse(r.stdout) as { zodFiles: string[]; reason: string };
    assert.ok(zodFiles.length > 0, 'dist/runtime.js required zod');
    const own = path.join(dir, 'node_modules', 'zod') + path.sep;
    assert.deepEqual(
      zodFiles.filter((f) => !f.startsWith(own)),
      [],
      "every zod module loaded is the consumer's",
    );
    assert.equal(reason, 'approval_required');
  });
});
