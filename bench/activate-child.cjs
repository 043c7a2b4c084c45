// Row 7, one fresh process: require a module (dist/extension.js, or an empty one) and call its
// activate() with a stand-in for `vscode` that accepts any call, then print the elapsed time.
const Module = require('node:module');
const start = process.hrtime.bigint();

/** Any property, call or `new` gives another stand-in; never a thenable, never a primitive. */
function standIn(isModule = false) {
  const target = function () {};
  const values = new Map(); // what the extension assigned (item.name = …) reads back
  return new Proxy(target, {
    set(_t, key, value) {
      values.set(key, value);
      return true;
    },
    get(t, key) {
      if (values.has(key)) return values.get(key);
      if (key === 'then') return undefined;
      if (key === 'prototype') return t.prototype; // classes may extend a stand-in
      if (key === Symbol.iterator) return function* () {};
      if (typeof key === 'symbol') return undefined;
      return standIn();
    },
    // esbuild's __toESM copies a module onto an object whose prototype is the module's own.
    getPrototypeOf: (t) => (isModule ? standIn() : Object.getPrototypeOf(t)),
    apply: () => standIn(),
    construct: () => standIn(),
  });
}

const vscode = standIn(true);
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};

const target = process.argv[2];
const mod = require(target);
const context = new Proxy(
  { subscriptions: [], asAbsolutePath: (p) => require('node:path').join(process.cwd(), p) },
  { get: (t, key) => (key in t ? t[key] : typeof key === 'symbol' ? undefined : standIn()) },
);
Promise.resolve(typeof mod.activate === 'function' ? mod.activate(context) : undefined).then(
  () => {
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    process.stdout.write(JSON.stringify({ ms, modules: Object.keys(require.cache).length }) + '\n');
    process.exit(0);
  },
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  },
);
