/**
 * Loading @pulumi/pulumi also loads two large packages that only its closure serialisation uses
 * (`pulumi.runtime.serializeFunction` and `computeCodePaths`, for function serialisation and
 * dynamic providers, which this program does not use): TypeScript's compiler (8.9 MB, through
 * @pulumi/pulumi/typescript-shim.js and runtime/closure/parseFunction.js) and npm's
 * @npmcli/arborist (through runtime/closure/codePaths.js). They are more than half of the SDK's
 * load time. Where the program runs under mocks (the plan command, the tests), they are replaced by
 * stand-ins that load the real package the first time anything touches it, so nothing changes for
 * code that does use them.
 *
 * Plain JavaScript: jest's moduleNameMapper points at the two stand-in files (scripts/lib/lazy/),
 * and the plan command seeds Node's module cache (`install`).
 */
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

/**
 * A stand-in for a module's exports: a function-shaped proxy that loads the real exports on first
 * use and then forwards everything to them. `esModule` is what it answers for `__esModule` before
 * loading: true lets TypeScript's `__importStar` helper (codePaths.js) keep the stand-in instead of
 * copying every export at import time, which would load the package at once.
 */
function lazyExports(load, esModule = false) {
  let real;
  const target = () => undefined;
  const get = () => (real ??= load());
  return new Proxy(target, {
    get: (_, key) => (key === "__esModule" && real === undefined ? esModule || undefined : Reflect.get(get(), key)),
    has: (_, key) => Reflect.has(get(), key),
    set: (_, key, value) => Reflect.set(get(), key, value),
    ownKeys: () => [...new Set([...Reflect.ownKeys(get()), ...Reflect.ownKeys(target).filter((k) => !Reflect.getOwnPropertyDescriptor(target, k).configurable)])],
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), key);
      return d && { ...d, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
    apply: (_, thisArg, args) => Reflect.apply(get(), thisArg, args),
  });
}

/** Node's lookup of a package from `dir` (node_modules folders upward): its real folder and main file. */
function resolveFrom(dir, name) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pkg = path.join(d, "node_modules", name, "package.json");
    if (fs.existsSync(pkg)) {
      const folder = fs.realpathSync(path.dirname(pkg));
      const main = path.join(folder, JSON.parse(fs.readFileSync(pkg, "utf8")).main ?? "index.js");
      return { folder, main: fs.existsSync(main) && fs.statSync(main).isFile() ? main : `${main}.js` };
    }
    if (path.dirname(d) === d) throw new Error(`cannot find ${name} from ${dir}`);
  }
}

/** The deferred packages: each as the SDK file that loads it at import would resolve it. */
const DEFERRED = {
  typescript: { from: ".", esModule: false },
  "@npmcli/arborist": { from: "runtime/closure", esModule: true },
};

function realFile(name, root) {
  const sdk = resolveFrom(root, "@pulumi/pulumi").folder;
  return resolveFrom(path.join(sdk, DEFERRED[name].from), name).main;
}

/** The stand-in for `name` (jest.config.js maps the package names to scripts/lib/lazy/*.js). */
function standIn(name, root = projectRoot()) {
  const file = realFile(name, root);
  return lazyExports(() => require(file), DEFERRED[name].esModule);
}

/**
 * Puts the stand-ins into Node's module cache, before @pulumi/pulumi loads. Idempotent; a package
 * that is not installed is skipped. When a stand-in is first used it removes itself from the cache
 * and requires the real file.
 */
function install(root = projectRoot()) {
  for (const name of Object.keys(DEFERRED)) {
    let file;
    try {
      file = realFile(name, root);
    } catch {
      continue; // not installed (a later SDK may not need it): nothing to defer
    }
    if (require.cache[file]) continue;
    const stand = new Module(file, null);
    stand.filename = file;
    stand.loaded = true;
    stand.standIn = true; // what the tests look for in the cache
    stand.exports = lazyExports(() => {
      if (require.cache[file] === stand) delete require.cache[file];
      return require(file);
    }, DEFERRED[name].esModule);
    require.cache[file] = stand;
  }
}

/** The project folder: the nearest one above this file holding Pulumi.yaml. */
function projectRoot(from = __dirname) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml in ${from} or any folder above it`);
  }
}

module.exports = { lazyExports, standIn, install };
