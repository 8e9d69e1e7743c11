/**
 * Compiles the program and the developer commands (index.ts, model/, components/, config/,
 * scripts/) to CommonJS with @swc/core, into a folder named by the content hash of what it compiled:
 *   dist/<hash>/index.js, dist/<hash>/scripts/plan.js, ...
 *
 * The hash covers every source file's path and bytes, this file (the compiler options) and the
 * @swc/core version. A command finds its build by hashing the sources as they are now, so a build of
 * other sources is never at that path: an edited, added or removed file means a new hash, a new
 * build, and the old one is never run. Modification times play no part (a checkout changes them,
 * an edit may not).
 *
 * Plain JavaScript on purpose: it must run before anything is compiled, and it loads only fs, path
 * and crypto on the path that finds an existing build (@swc/core only when it has to compile).
 *
 *   node scripts/build.js            build if needed; prints the folder
 *   node scripts/build.js --prepare  the same at `npm ci`/`npm install`, where a failure is only reported
 *   node scripts/build.js --check    exit 0 when the build of the current sources exists, else 1
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** What is compiled: the files the plan command and index.ts can reach, and the other scripts. */
const SOURCE_ROOTS = ["index.ts", "model", "components", "config", "scripts"];
/** Builds kept beside the current one (another checkout's, or a command still running from one). */
const KEEP_OTHER_BUILDS = 3;

/** The project folder: the nearest one above this file holding Pulumi.yaml (the marker). */
function projectDir(from = __dirname) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml in ${from} or any folder above it`);
  }
}

/**
 * Every file a build holds, as sorted paths relative to root with "/": each .ts source under
 * SOURCE_ROOTS (no .d.ts), compiled, and each .json file there, which sources may import
 * (resolveJsonModule), copied as it is.
 */
const built = (name) => (name.endsWith(".ts") && !name.endsWith(".d.ts")) || name.endsWith(".json");

function sourceFiles(root) {
  const files = [];
  const walk = (rel) => {
    const abs = path.join(root, rel);
    let entries;
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      if (e.code === "ENOTDIR") {
        if (built(rel)) files.push(rel);
        return;
      }
      if (e.code === "ENOENT") return;
      throw e;
    }
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (built(entry.name)) files.push(child);
    }
  };
  for (const r of SOURCE_ROOTS) walk(r);
  return files.sort();
}

function swcVersion(root) {
  return JSON.parse(fs.readFileSync(require.resolve("@swc/core/package.json", { paths: [root] }), "utf8")).version;
}

/**
 * The build key: a hash of this file, the compiler's version and every source's path and bytes,
 * with the sources' contents returned so a build compiles exactly what was hashed.
 */
function sourceState(root = projectDir()) {
  const hash = crypto.createHash("sha256");
  hash.update(fs.readFileSync(__filename));
  let swc;
  try {
    swc = swcVersion(root);
  } catch {
    swc = "missing";
  }
  hash.update(`\0swc ${swc}\0`);
  const files = sourceFiles(root);
  const contents = new Map();
  for (const rel of files) {
    const text = fs.readFileSync(path.join(root, rel));
    contents.set(rel, text);
    hash.update(`${rel}\0${text.length}\0`);
    hash.update(text);
  }
  return { root, key: hash.digest("hex").slice(0, 20), files, contents, swc };
}

/** The same options ts-node derives from tsconfig.json for swc (target es2022, CommonJS with interop). */
const SWC_OPTIONS = {
  swcrc: false,
  configFile: false,
  sourceMaps: false,
  module: { type: "commonjs", strictMode: true, noInterop: false },
  jsc: {
    parser: { syntax: "typescript", tsx: false },
    target: "es2022",
    keepClassNames: true,
    transform: { useDefineForClassFields: true },
  },
};

function distDir(root) {
  return path.join(root, "dist");
}

/** The folder of the build for `state`, or undefined when it has not been built. */
function existingBuild(state) {
  const dir = path.join(distDir(state.root), state.key);
  return fs.existsSync(path.join(dir, ".complete")) ? dir : undefined;
}

/**
 * Compiles the hashed contents into dist/<key>. Written to a temporary folder first and renamed
 * into place, so a command never sees half a build; two builds racing both produce the same bytes,
 * and the loser's rename fails harmlessly.
 */
function compile(state) {
  const swc = require(require.resolve("@swc/core", { paths: [state.root] }));
  const dist = distDir(state.root);
  fs.mkdirSync(dist, { recursive: true });
  const finalDir = path.join(dist, state.key);
  const tmp = fs.mkdtempSync(path.join(dist, `.tmp-${state.key}-`));
  try {
    for (const rel of state.files) {
      const source = state.contents.get(rel);
      const out = path.join(tmp, rel.replace(/\.ts$/, ".js"));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, rel.endsWith(".ts") ? swc.transformSync(source.toString("utf8"), { ...SWC_OPTIONS, filename: path.join(state.root, rel) }).code : source);
    }
    fs.writeFileSync(path.join(tmp, ".complete"), `${JSON.stringify({ key: state.key, swc: state.swc, files: state.files.length, builtAt: new Date().toISOString() })}\n`);
    try {
      fs.renameSync(tmp, finalDir);
    } catch (e) {
      // Another process built the same key first: same inputs, same output.
      if (fs.existsSync(path.join(finalDir, ".complete"))) return finalDir;
      // A folder without the marker is not a build (renames carry the marker): replace it.
      fs.rmSync(finalDir, { recursive: true, force: true });
      fs.renameSync(tmp, finalDir);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  prune(dist, state.key);
  return finalDir;
}

/** Deletes all but the newest few other builds and any temporary folder older than a minute. */
function prune(dist, keep) {
  const now = Date.now();
  const builds = [];
  for (const name of fs.readdirSync(dist)) {
    const full = path.join(dist, name);
    let stat;
    try {
      stat = fs.statSync(full);
    } catch {
      continue;
    }
    if (name.startsWith(".tmp-")) {
      if (now - stat.mtimeMs > 60_000) fs.rmSync(full, { recursive: true, force: true });
    } else if (name !== keep && stat.isDirectory()) {
      builds.push({ full, mtime: stat.mtimeMs });
    }
  }
  builds.sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(KEEP_OTHER_BUILDS)) fs.rmSync(old.full, { recursive: true, force: true });
}

/** The folder of an up-to-date build of the current sources, compiling it when there is none. */
function ensureBuild(root = projectDir()) {
  const state = sourceState(root);
  return existingBuild(state) ?? compile(state);
}

/**
 * Loads `rel` (e.g. "scripts/plan") from an up-to-date build. When no build can be made (no
 * @swc/core, a read-only checkout), it says so once on stderr and loads the TypeScript source
 * through ts-node instead: slower, never stale.
 */
function load(rel, root = projectDir(), onBuild = () => undefined) {
  let dir;
  try {
    dir = ensureBuild(root);
    onBuild();
  } catch (e) {
    const why = e.code === "MODULE_NOT_FOUND" ? "@swc/core is not installed" : (e.code ?? e.message);
    let tsNode;
    try {
      tsNode = require(require.resolve("ts-node", { paths: [root] }));
    } catch {
      throw new Error(`cannot build ${path.join(root, "dist")} (${why}), and ts-node, the fallback, is not installed either: run npm ci`);
    }
    process.stderr.write(`note: cannot build ${path.join(root, "dist")} (${why}); running the TypeScript sources with ts-node\n`);
    tsNode.register({ transpileOnly: true, swc: true, project: path.join(root, "tsconfig.json") });
    return require(path.join(root, rel));
  }
  return require(path.join(dir, rel));
}

module.exports = { SOURCE_ROOTS, SWC_OPTIONS, projectDir, sourceFiles, sourceState, existingBuild, ensureBuild, load };

if (require.main === module) {
  const root = projectDir();
  if (process.argv.includes("--check")) {
    const dir = existingBuild(sourceState(root));
    process.stdout.write(dir ? `${dir}\n` : "no build of the current sources\n");
    process.exitCode = dir ? 0 : 1;
  } else {
    try {
      process.stdout.write(`${ensureBuild(root)}\n`);
    } catch (e) {
      process.stderr.write(`build: ${e.message}\n`);
      // At install (`prepare`) a failed build does not fail `npm ci`: the commands try again, and
      // fall back to ts-node when they cannot build either.
      if (!process.argv.includes("--prepare")) process.exitCode = 1;
    }
  }
}
