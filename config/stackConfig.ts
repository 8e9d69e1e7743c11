/**
 * Reads stack config the way the Pulumi CLI hands it to a program: the project's `config:`
 * defaults from Pulumi.yaml first, then Pulumi.<stack>.yaml on top. Un-prefixed project keys get
 * the project's namespace; arrays and objects become JSON text (as in PULUMI_CONFIG).
 *
 * The CLI does this itself for `pulumi up`; the offline plan command and the tests need it here.
 * `secure:` values cannot be decrypted without the CLI: they are listed, and their value is
 * UNDECRYPTED_SECRET (set, value unknown), never the project's default, which they override.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { UNDECRYPTED_SECRET } from "../model/config/settings";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  /** `namespace:key` -> string, exactly what `pulumi.Config` would read. */
  readonly config: Record<string, string>;
  /** Keys whose stack value is `secure:` ciphertext. */
  readonly secureKeys: string[];
  readonly projectDir: string;
}

interface ProjectFile {
  name: string;
  config?: Record<string, unknown>;
}

/**
 * The project directory: the nearest folder above this file that holds Pulumi.yaml (the marker),
 * so the same code finds it from config/ under ts-node and from a compiled copy under dist/.
 */
export function projectDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml in ${__dirname} or any folder above it`);
  }
}

/** A YAML file, or an error that names the file and the parser's line and column. */
function readYaml(file: string): unknown {
  const text = fs.readFileSync(file, "utf8");
  let parsed = parsedYaml.get(text) ?? readParseCache(text);
  if (parsed === undefined) {
    try {
      parsed = { value: (require("yaml") as typeof import("yaml")).parse(text) };
    } catch (e) {
      throw new Error(`${path.basename(file)} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    writeParseCache(text, parsed.value);
  }
  if (parsedYaml.size >= 64) parsedYaml.clear(); // a handful of stack files; generated ones pass through
  parsedYaml.set(text, parsed);
  // A copy: callers may change what they get, and the next read must see the file as written.
  return structuredClone(parsed.value);
}

/**
 * Parsed YAML by the text it was parsed from: a process that loads config many times (the tests,
 * --diff of a stack with itself) parses each distinct file once. Parsing Pulumi.yaml was a third
 * of the time of the property tests, which load a config for every generated case.
 */
const parsedYaml = new Map<string, { value: unknown }>();

/**
 * Across processes, the parse is kept as JSON in .cache/yaml/, named by a hash of the YAML text
 * and the yaml package's version: a command whose files have not changed reads JSON and never
 * loads the YAML parser (a quarter of the plan command's own time). A changed file has another
 * name, so a parse is never used for other text. Values JSON cannot carry exactly (.inf, .nan, -0)
 * are not cached. The cache is only an optimisation: any failure to read or write it is ignored.
 */
/** @internal The cache file for a YAML text (exported for its tests). */
export function parseCacheFile(text: string): string {
  const yamlVersion = (JSON.parse(fs.readFileSync(require.resolve("yaml/package.json"), "utf8")) as { version: string }).version;
  const key = crypto.createHash("sha256").update(`yaml ${yamlVersion}\0`).update(text).digest("hex").slice(0, 32);
  return path.join(projectDir(), ".cache", "yaml", `${key}.json`);
}

function readParseCache(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(fs.readFileSync(parseCacheFile(text), "utf8")) as unknown };
  } catch {
    return undefined;
  }
}

function writeParseCache(text: string, value: unknown): void {
  try {
    const json = JSON.stringify(value);
    if (json === undefined || !isDeepStrictEqual(JSON.parse(json), value)) return;
    const file = parseCacheFile(text);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, json);
    fs.renameSync(tmp, file);
  } catch {
    // read-only checkout, full disk: parse again next time
  }
}

function toConfigString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function readProjectFile(dir = projectDir()): ProjectFile {
  return readYaml(path.join(dir, "Pulumi.yaml")) as ProjectFile;
}

/** Stack names that have a Pulumi.<stack>.yaml beside Pulumi.yaml. */
export function listStacks(dir = projectDir()): string[] {
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function loadStackConfig(stack: string, dir = projectDir()): StackConfig {
  const project = readProjectFile(dir);
  const config: Record<string, string> = {};
  for (const [name, decl] of Object.entries(project.config ?? {})) {
    const fullKey = name.includes(":") ? name : `${project.name}:${name}`;
    if (decl !== null && typeof decl === "object" && !Array.isArray(decl)) {
      const d = decl as { default?: unknown; value?: unknown };
      const value = d.value !== undefined ? d.value : d.default;
      if (value !== undefined) config[fullKey] = toConfigString(value);
    } else if (decl !== undefined && decl !== null) {
      config[fullKey] = toConfigString(decl);
    }
  }
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(`stack "${stack}" has no Pulumi.${stack}.yaml in ${dir}; stacks here: ${listStacks(dir).join(", ")}`);
  }
  const stackDoc = (readYaml(stackFile) ?? {}) as { config?: Record<string, unknown> };
  const secureKeys: string[] = [];
  for (const [name, value] of Object.entries(stackDoc.config ?? {})) {
    const fullKey = name.includes(":") ? name : `${project.name}:${name}`;
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      secureKeys.push(fullKey);
      config[fullKey] = UNDECRYPTED_SECRET;
      continue;
    }
    config[fullKey] = toConfigString(value);
  }
  return { project: project.name, stack, config, secureKeys, projectDir: dir };
}

/** Path segments that name JavaScript's object machinery, not data: setting them reaches Object.prototype. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/**
 * The largest array index a --set path may name: a node inventory or an override list is a few
 * dozen entries; `nodes[99999999]` would make a 100-million-slot array (seconds and gigabytes).
 */
export const MAX_SET_INDEX = 1000;

/** A --set the command cannot apply: the message names the key, never the value (it may be a secret). */
export class SetError extends Error {}

/**
 * Applies `key=value` the way `pulumi config set` does, and `pulumi config set --path` when the
 * key has a path (`advwell:nodes[1]`, `advwell:obj.field`). With a path, "true"/"false" become
 * booleans and integers numbers; top-level values stay strings. Refused, naming the key and never
 * showing the value: a path segment `__proto__`, `constructor` or `prototype`, and an index
 * beyond the end of the list (one past it appends) or above MAX_SET_INDEX.
 */
export function applySet(config: Record<string, string>, assignment: string, project: string): void {
  const eq = assignment.indexOf("=");
  // Without "=" nothing says which part is the key: the argument is not shown (it may be a value).
  if (eq <= 0) throw new SetError(`--set expects key=value, got ${eq === 0 ? "no key before the \"=\"" : "an argument with no \"=\" (not shown: it may be a value)"}`);
  const rawKey = assignment.slice(0, eq);
  const value = assignment.slice(eq + 1);
  const match = /^([^.[\]]+(?::[^.[\]]+)?)(.*)$/.exec(rawKey);
  if (!match) throw new SetError(`--set: cannot read the key "${shortKey(rawKey)}"`);
  const topKey = match[1].includes(":") ? match[1] : `${project}:${match[1]}`;
  const pathText = match[2];
  if (PROTOTYPE_KEYS.has(topKey.slice(topKey.indexOf(":") + 1)) || PROTOTYPE_KEYS.has(topKey.slice(0, topKey.indexOf(":")))) {
    throw new SetError(`--set ${shortKey(rawKey)}: "${topKey}" is not a config key (__proto__, constructor and prototype never are)`);
  }
  if (pathText === "") {
    config[topKey] = value;
    return;
  }
  const segments: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\["([^"]+)"\]/g;
  let consumed = 0;
  for (let m = re.exec(pathText); m; m = re.exec(pathText)) {
    if (m.index !== consumed) break;
    consumed = re.lastIndex;
    if (m[2] !== undefined && (m[2].length > 6 || Number(m[2]) > MAX_SET_INDEX)) {
      throw new SetError(`--set ${shortKey(rawKey)}: index ${m[2].length > 12 ? `${m[2].slice(0, 12)}...` : m[2]} is beyond any list this stack has (at most ${MAX_SET_INDEX})`);
    }
    const segment = m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3]);
    if (typeof segment === "string" && PROTOTYPE_KEYS.has(segment)) {
      throw new SetError(`--set ${shortKey(rawKey)}: the path segment "${segment}" is not a config field (__proto__, constructor and prototype reach JavaScript's object machinery, not data)`);
    }
    segments.push(segment);
  }
  if (consumed !== pathText.length) throw new SetError(`--set: cannot read the path of "${shortKey(rawKey)}"`);
  const typed: unknown = value === "true" ? true : value === "false" ? false : /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  let root: unknown;
  try {
    root = config[topKey] === undefined ? undefined : JSON.parse(config[topKey]);
  } catch {
    root = undefined;
  }
  if (root === undefined || typeof root !== "object" || root === null) root = typeof segments[0] === "number" ? [] : {};
  let cursor = root as Record<string | number, unknown>;
  segments.forEach((segment, i) => {
    // An index names an entry that exists or the next one: no holes (JSON would write them as null).
    if (typeof segment === "number" && (!Array.isArray(cursor) || segment > cursor.length)) {
      throw new SetError(`--set ${shortKey(rawKey)}: index ${segment} ${Array.isArray(cursor) ? `is past the end of a list of ${cursor.length} (use ${cursor.length} to append)` : "names an entry of something that is not a list"}`);
    }
    if (i === segments.length - 1) {
      cursor[segment] = typed;
      return;
    }
    const own = Object.prototype.hasOwnProperty.call(cursor, segment) ? cursor[segment] : undefined;
    if (own === undefined || typeof own !== "object" || own === null) cursor[segment] = typeof segments[i + 1] === "number" ? [] : {};
    cursor = cursor[segment] as Record<string | number, unknown>;
  });
  config[topKey] = JSON.stringify(root);
}

/** A key as an error shows it: at most 80 characters, JSON-escaped (no line breaks or backticks). */
function shortKey(key: string): string {
  const text = key.length > 80 ? `${key.slice(0, 80)}...` : key;
  return JSON.stringify(text).slice(1, -1).replace(/`/g, "\\u0060");
}
