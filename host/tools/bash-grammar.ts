// tree-sitter and its bash grammar, in a module of their own so that `command-line.ts` loads them
// (168 KB of JS, two wasm files) on a run's first command, not in every process that starts.
import * as fs from 'node:fs';
import path from 'node:path';
import { Language, Parser } from '@vscode/tree-sitter-wasm';

/** The wasm files sit beside the bundle in dist/, or in node_modules when run from source. */
function locate(file: string): string {
  const beside = path.join(__dirname, file);
  if (fs.existsSync(beside)) return beside;
  return require.resolve(`@vscode/tree-sitter-wasm/wasm/${file}`);
}

export async function bashParser(): Promise<Parser> {
  await Parser.init({ locateFile: (file: string) => locate(file) });
  const bash = await Language.load(locate('tree-sitter-bash.wasm'));
  const parser = new Parser();
  parser.setLanguage(bash);
  return parser;
}
