// Where a store's worker thread (the snapshot writer, the PostgreSQL connection) finds its script.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `name`'s script: beside the bundle in dist/ (`name.js`), or the source under tsx (whose hooks
 * a worker thread does not inherit, so it registers them itself). Null when neither is there (a
 * bundle built without it).
 */
export function workerScript(
  name: string,
): { code: string; eval: true } | { code: string; eval: false } | null {
  const bundled = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(bundled)) return { code: bundled, eval: false };
  const source = path.join(__dirname, `${name}.ts`);
  if (!fs.existsSync(source)) return null;
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch {
    return null;
  }
  return {
    code: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)});`,
    eval: true,
  };
}
