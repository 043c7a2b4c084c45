// esbuild plugins shared by the product's bundles (esbuild.mjs) and the benchmark's floor bundle
// (bench/process.bench.ts), so a floor is built as the product is.
import path from 'node:path';

/**
 * zod's namespace re-exports all of its locales (`z.locales`, ~250 KB), and esbuild cannot drop
 * members of a namespace object. Every message Airlock shows is English, so each bundle gets a
 * locales module holding `en` only (the one zod configures itself with).
 */
export const englishOnlyZod = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? {
            path: path.join(path.dirname(args.importer), '..', 'locales', 'index.js'),
            namespace: 'zod-en',
          }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};
