/**
 * PostgreSQL 15's parameters as data, and a checker that accepts exactly what the server accepts
 * for one `postgres -c name=value` (or one postgresql.conf line).
 *
 * The data, pg15-settings.json, is pg_settings read from a real server by
 * scripts/pg-settings-catalog.ts; test/integration/pg-catalog.test.ts regenerates it and compares,
 * and runs `postgres -C` on good and bad values to show the server and checkSetting agree.
 *
 * The rules follow PostgreSQL 15's src/backend/utils/misc/guc.c:
 *   names     case-insensitive; "sort_mem" and "vacuum_mem" are old names of work_mem and
 *             maintenance_work_mem (map_old_guc_names); an unknown name is refused unless it is a
 *             custom "prefix.name" (valid_custom_variable_name), which the server accepts as a placeholder
 *   bool      parse_bool: on, off, true, false, yes, no, 1, 0, case-insensitive; unique prefixes of
 *             true/false/yes/no ("t", "ye"); "on"/"off" need two letters ("of"); no surrounding spaces
 *   integer   parse_int: strtod (so "1.5", "1e3", "0x10" and leading spaces are numbers), spaces
 *             allowed before and after the unit, then convert_to_base_unit, rint (half to even),
 *             INT range, then [min_val, max_val] in the parameter's unit
 *   real      parse_real: the same without rint
 *   units     memory "B", "kB", "MB", "GB", "TB" (powers of 1024, case-sensitive), time "us", "ms",
 *             "s", "min", "h", "d"; a fractional value is first rounded to the next smaller unit
 *             ("1.5kB" of a kB setting is 1536 B -> 1.5 kB -> rint 2 kB); a unitless value is in the
 *             parameter's unit, e.g. 8kB blocks for shared_buffers
 *   enum      case-insensitive match of pg_settings.enumvals plus the hidden spellings the
 *             generator found (e.g. synchronous_commit=true, wal_level=hot_standby)
 *   string    accepted as written; check hooks on strings (TimeZone names, locales,
 *             session_authorization) are not modelled, and the integration test lists them
 *   context   "internal" parameters (block_size, server_version, ...) cannot be set at all
 *   hidden    role, seed, session_authorization, is_superuser and default_with_oids are not in
 *             pg_settings; HIDDEN_SETTINGS describes them from guc.c
 * Cross-parameter checks done at server start (wal_level=minimal with max_wal_senders > 0,
 * the sum of connections and workers under 262143, shared memory that must fit) are not
 * checkSetting's job; the settings the stack owns (STACK_OWNED_SETTINGS) cover the ones that matter here.
 */
import data from "./pg15-settings.json";
import { editDistance } from "../editDistance";

export type PgVartype = "bool" | "integer" | "real" | "string" | "enum";

export interface PgParameter {
  readonly name: string;
  readonly vartype: PgVartype;
  readonly context: string;
  readonly unit: string | null;
  readonly min: string | null;
  readonly max: string | null;
  readonly enumvals: readonly string[] | null;
  readonly enumAliases?: readonly string[];
  readonly bootVal: string | null;
}

/** The parameter table scripts/pg-settings-catalog.ts generates from a real server. */
export interface PgCatalog {
  readonly generatedBy: string;
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  readonly blockSize: number;
  readonly walBlockSize: number;
  /** Names the server knows but pg_settings hides (GUC_NO_SHOW_ALL), found by `postgres -C name`. */
  readonly hidden: readonly string[];
  readonly settings: readonly PgParameter[];
}

export const PG15_CATALOG = data as unknown as PgCatalog;

/**
 * The parameters pg_settings hides (GUC_NO_SHOW_ALL in PostgreSQL 15's guc.c), described by hand
 * from guc.c because the server does not list them; the generator checks which names the server
 * knows. `accepts` is what the server accepts for them at start, check hooks included.
 */
export const HIDDEN_SETTINGS: Readonly<Record<string, { readonly parameter: PgParameter; readonly accepts?: (value: string) => boolean; readonly rule: string }>> = {
  is_superuser: { parameter: { name: "is_superuser", vartype: "bool", context: "internal", unit: null, min: null, max: null, enumvals: null, bootVal: "off" }, rule: "read-only" },
  session_authorization: { parameter: { name: "session_authorization", vartype: "string", context: "user", unit: null, min: null, max: null, enumvals: null, bootVal: null }, accepts: () => false, rule: "nothing at server start (check_session_authorization needs a catalog lookup)" },
  role: { parameter: { name: "role", vartype: "string", context: "user", unit: null, min: null, max: null, enumvals: null, bootVal: "none" }, accepts: (v) => v === "none", rule: 'only "none" at server start (check_role needs a catalog lookup for a role name)' },
  seed: { parameter: { name: "seed", vartype: "real", context: "user", unit: null, min: "-1", max: "1", enumvals: null, bootVal: "0" }, rule: "a number from -1 to 1" },
  default_with_oids: { parameter: { name: "default_with_oids", vartype: "bool", context: "user", unit: null, min: null, max: null, enumvals: null, bootVal: "off" }, accepts: (v) => parsePgBool(v) === false, rule: "only false: tables WITH OIDS are not supported since PostgreSQL 12" },
};

const BY_NAME = new Map<string, PgParameter>([
  ...PG15_CATALOG.settings.map((p) => [p.name.toLowerCase(), p] as const),
  ...(PG15_CATALOG.hidden ?? []).filter((n) => HIDDEN_SETTINGS[n]).map((n) => [n, HIDDEN_SETTINGS[n].parameter] as const),
]);
/** guc.c map_old_guc_names. */
const OLD_NAMES: Readonly<Record<string, string>> = { sort_mem: "work_mem", vacuum_mem: "maintenance_work_mem" };

/** The parameter a name refers to (any case, old names mapped), or undefined. */
export function findParameter(name: string): PgParameter | undefined {
  const lower = name.toLowerCase();
  return BY_NAME.get(lower) ?? (OLD_NAMES[lower] !== undefined ? BY_NAME.get(OLD_NAMES[lower]) : undefined);
}

/** The name as pg_settings spells it ("timezone" -> "TimeZone", "sort_mem" -> "work_mem"), or undefined. */
export function canonicalSettingName(name: string): string | undefined {
  return findParameter(name)?.name;
}

/** guc.c valid_custom_variable_name: two or more identifiers separated by dots. */
export function isCustomSettingName(name: string): boolean {
  return /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*(\.[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)+$/.test(name);
}

// ---------- numbers as C's strtod reads them ----------

const C_SPACE = "[ \\t\\n\\v\\f\\r]";
const LEADING_SPACE = new RegExp(`^${C_SPACE}*`);
const DBL_MIN = 2.2250738585072014e-308;

/** C strtod on a prefix of text: the number and what follows, or undefined when no number starts it (or ERANGE). */
export function strtod(text: string): { value: number; rest: string } | undefined {
  const s = text.replace(LEADING_SPACE, "");
  let value: number;
  let used: string;
  let nonzeroDigits: boolean;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?/.exec(s);
  const special = /^([+-]?)(inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)/i.exec(s);
  if (hex && (hex[2] + (hex[3] ?? "")).length > 0) {
    const int = hex[2];
    const frac = hex[3] ?? "";
    const digits = int + frac;
    let mantissa = 0;
    for (const d of digits) mantissa = mantissa * 16 + parseInt(d, 16);
    value = mantissa * 2 ** ((hex[4] ? Number(hex[4]) : 0) - 4 * frac.length);
    if (hex[1] === "-") value = -value;
    used = hex[0];
    nonzeroDigits = /[1-9a-fA-F]/.test(digits);
  } else if (special) {
    value = special[2].toLowerCase().startsWith("inf") ? Infinity : NaN;
    if (special[1] === "-") value = -value;
    used = special[0];
    nonzeroDigits = false;
  } else {
    const dec = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(s);
    if (!dec) return undefined;
    used = dec[0];
    value = Number(used);
    nonzeroDigits = /[1-9]/.test(used.replace(/[eE].*$/, ""));
  }
  if (!special) {
    // ERANGE: overflow, or underflow to zero or a subnormal.
    if (!Number.isFinite(value)) return undefined;
    if (nonzeroDigits && Math.abs(value) < DBL_MIN) return undefined;
  }
  return { value, rest: s.slice(used.length) };
}

/** C rint in the default rounding mode: to nearest, ties to even. */
export function rint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

// ---------- units ----------

type UnitKind = "memory" | "time";
interface BaseUnit {
  readonly kind: UnitKind;
  /** Size of one unit of the parameter in bytes (memory) or microseconds (time). */
  readonly size: number;
}

function baseUnit(unit: string | null): BaseUnit | undefined {
  if (unit === null) return undefined;
  const memory = /^(\d*)(B|kB|MB)$/.exec(unit);
  if (memory) return { kind: "memory", size: Number(memory[1] || "1") * { B: 1, kB: 1024, MB: 1024 * 1024 }[memory[2] as "B" | "kB" | "MB"] };
  const time: Record<string, number> = { ms: 1e3, s: 1e6, min: 6e7 };
  if (time[unit] !== undefined) return { kind: "time", size: time[unit] };
  throw new Error(`pg15-settings.json: unknown unit "${unit}"`);
}

/** guc.c memory_unit_conversion_table / time_unit_conversion_table, largest first. */
const UNIT_TABLE: Readonly<Record<UnitKind, readonly [string, number][]>> = {
  memory: [["TB", 1024 ** 4], ["GB", 1024 ** 3], ["MB", 1024 ** 2], ["kB", 1024], ["B", 1]],
  time: [["d", 864e8], ["h", 36e8], ["min", 6e7], ["s", 1e6], ["ms", 1e3], ["us", 1]],
};
const UNIT_HINT: Readonly<Record<UnitKind, string>> = {
  memory: 'a number with no unit or one of the units "B", "kB", "MB", "GB", "TB"',
  time: 'a number with no unit or one of the units "us", "ms", "s", "min", "h", "d"',
};

/** convert_to_base_unit: value x unit in the parameter's unit, or undefined for a unit it does not know. */
function convertToBaseUnit(value: number, unitText: string, base: BaseUnit): number | undefined {
  const m = new RegExp(`^([^ \\t\\n\\v\\f\\r]{1,3})${C_SPACE}*$`).exec(unitText);
  if (!m) return undefined;
  const table = UNIT_TABLE[base.kind];
  const i = table.findIndex(([u]) => u === m[1]);
  if (i < 0) return undefined;
  // Multipliers as guc.c computes them (e.g. kB of an 8kB-block setting: 1.0 / (8192 / 1024)).
  const multiplier = (u: number) => table[u][1] / base.size;
  let converted = value * multiplier(i);
  if (i + 1 < table.length) converted = rint(converted / multiplier(i + 1)) * multiplier(i + 1);
  return converted;
}

function bound(text: string | null, fallback: number): number {
  if (text === null) return fallback;
  // pg_settings prints reals with %g: DBL_MAX comes out as 1.79769e+308, a little below DBL_MAX.
  if (text === "1.79769e+308") return Number.MAX_VALUE;
  if (text === "-1.79769e+308") return -Number.MAX_VALUE;
  return Number(text);
}

const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** guc.c parse_bool_with_len. */
export function parsePgBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v.length === 0) return undefined;
  const prefixOf = (word: string) => v.length <= word.length && word.startsWith(v);
  switch (v[0]) {
    case "t":
      return prefixOf("true") ? true : undefined;
    case "f":
      return prefixOf("false") ? false : undefined;
    case "y":
      return prefixOf("yes") ? true : undefined;
    case "n":
      return prefixOf("no") ? false : undefined;
    case "o":
      if (v.length >= 2 && prefixOf("on")) return true;
      if (v.length >= 2 && prefixOf("off")) return false;
      return undefined;
    case "1":
      return v.length === 1 ? true : undefined;
    case "0":
      return v.length === 1 ? false : undefined;
    default:
      return undefined;
  }
}

// ---------- the checker ----------

export type SettingProblemKind = "unknown" | "internal" | "type" | "unit" | "range" | "enum";

export interface SettingProblem {
  readonly kind: SettingProblemKind;
  /** The key as given. */
  readonly name: string;
  readonly value: string;
  /** What PostgreSQL allows here, in words. */
  readonly allowed: string;
  /** For an unknown name: the nearest known one. */
  readonly suggestion?: string;
  /** One sentence naming the key, the value and what is allowed. */
  readonly message: string;
}


/** The known parameter name nearest to name (edit distance, ties by name order). */
export function nearestSettingName(name: string): string {
  const lower = name.toLowerCase();
  let best = PG15_CATALOG.settings[0].name;
  let bestDistance = Infinity;
  for (const p of PG15_CATALOG.settings) {
    if (p.context === "internal") continue;
    const d = editDistance(lower, p.name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [p.name, d];
  }
  return best;
}

function humanSize(bytes: number): string {
  const [unit, size] = UNIT_TABLE.memory.find(([, size]) => bytes >= size) ?? ["B", 1];
  return bytes % size === 0 ? `${bytes / size}${unit}` : `about ${(bytes / size).toFixed(1)}${unit}`;
}

function describeRange(p: PgParameter): string {
  const base = baseUnit(p.unit);
  let unit = "";
  if (base?.kind === "memory" && p.min !== null && p.max !== null) {
    const human = (t: string) => (Number(t) < 0 ? t : humanSize(Number(t) * base.size));
    unit = ` ${p.unit === "8kB" ? "8kB blocks" : p.unit} (${human(p.min)} to ${human(p.max)})`;
  } else if (p.unit) unit = ` ${p.unit}`;
  return `${p.vartype === "integer" ? "an integer" : "a number"} from ${p.min} to ${p.max}${unit}`;
}

/**
 * Parses a numeric value as PostgreSQL does: the number in the parameter's own unit (8kB blocks
 * for shared_buffers, kB for work_mem, ms for statement_timeout), rounded for integers.
 * Returns a problem instead when PostgreSQL would refuse it.
 */
function parseNumeric(p: PgParameter, value: string): number | Omit<SettingProblem, "name" | "value" | "message"> {
  const base = baseUnit(p.unit);
  const allowed = describeRange(p) + (base ? `; ${UNIT_HINT[base.kind]}` : ", without a unit");
  const parsed = strtod(value);
  if (!parsed || Number.isNaN(parsed.value)) return { kind: "type", allowed };
  let n = parsed.value;
  const rest = parsed.rest.replace(LEADING_SPACE, "");
  if (rest !== "") {
    if (!base) return { kind: "type", allowed };
    const converted = convertToBaseUnit(n, rest, base);
    if (converted === undefined) return { kind: "unit", allowed: UNIT_HINT[base.kind] };
    n = converted;
  }
  if (p.vartype === "integer") {
    n = rint(n);
    if (n > INT_MAX || n < INT_MIN) return { kind: "type", allowed };
  }
  if (n < bound(p.min, -Infinity) || n > bound(p.max, Infinity)) return { kind: "range", allowed: describeRange(p) };
  return n;
}

function problem(name: string, value: string, p: Omit<SettingProblem, "name" | "value" | "message">): SettingProblem {
  const what: Record<SettingProblemKind, string> = {
    unknown: `"${name}" is not a PostgreSQL 15 parameter`,
    internal: `"${name}" is fixed when PostgreSQL is built or initialised and cannot be set`,
    type: `"${name}" = "${value}" is not a valid value`,
    unit: `"${name}" = "${value}" has a unit PostgreSQL does not know for it`,
    range: `"${name}" = "${value}" is out of range`,
    enum: `"${name}" = "${value}" is not one of its values`,
  };
  const hint = p.suggestion ? `; did you mean "${p.suggestion}"?` : `; allowed: ${p.allowed}`;
  return { ...p, name, value, message: `${what[p.kind]}${hint}` };
}

/** PostgreSQL 15's MAX_BACKENDS (2^18 - 1). */
const MAX_BACKENDS = 0x3ffff;
const BACKEND_SLOT_SETTINGS = ["max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders"];

/**
 * check_maxconnections and its siblings (postmaster.c / guc.c): max_connections +
 * autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders must not exceed MAX_BACKENDS.
 */
function backendSlotsProblem(name: string, n: number, others: Readonly<Record<string, string>>): string | undefined {
  if (!BACKEND_SLOT_SETTINGS.includes(name)) return undefined;
  const valueOf = (other: string): number => {
    if (other === name) return n;
    const given = Object.entries(others).find(([k]) => canonicalSettingName(k) === other)?.[1];
    const parsed = given === undefined ? undefined : parseSettingNumber(other, given);
    return parsed ?? Number(findParameter(other)!.bootVal);
  };
  const total = BACKEND_SLOT_SETTINGS.reduce((sum, s) => sum + valueOf(s), 1);
  return total > MAX_BACKENDS ? `max_connections + autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders at most ${MAX_BACKENDS} (here ${total})` : undefined;
}

/**
 * undefined when PostgreSQL 15 accepts `name = value` at server start (postgresql.conf or
 * `postgres -c`), else the problem: unknown name (with the nearest known name), a parameter that
 * cannot be set, the wrong type, an unknown unit, out of range, or not an allowed enum value.
 * `others` are the rest of the settings, for the one cross-check PostgreSQL makes while parsing
 * (the backend slots, below); parameters not in it count at their defaults.
 */
export function checkSetting(name: string, value: string, others: Readonly<Record<string, string>> = {}): SettingProblem | undefined {
  const p = findParameter(name);
  if (!p) {
    if (isCustomSettingName(name)) return undefined;
    const suggestion = nearestSettingName(name);
    return problem(name, value, { kind: "unknown", allowed: "a PostgreSQL 15 parameter name", suggestion });
  }
  if (p.context === "internal") return problem(name, value, { kind: "internal", allowed: "nothing: the value is read-only" });
  const hidden = HIDDEN_SETTINGS[p.name];
  if (hidden?.accepts && !hidden.accepts(value)) return problem(name, value, { kind: "type", allowed: hidden.rule });
  switch (p.vartype) {
    case "bool":
      return parsePgBool(value) === undefined ? problem(name, value, { kind: "type", allowed: "a Boolean: on, off, true, false, yes, no, 1, 0 (or a unique prefix such as t, f, y, n, of)" }) : undefined;
    case "integer":
    case "real": {
      const n = parseNumeric(p, value);
      if (typeof n !== "number") return problem(name, value, n);
      return backendSlotsProblem(p.name, n, others) ? problem(name, value, { kind: "range", allowed: backendSlotsProblem(p.name, n, others)! }) : undefined;
    }
    case "enum": {
      const options = [...(p.enumvals ?? []), ...(p.enumAliases ?? [])];
      return options.some((o) => o.toLowerCase() === value.toLowerCase()) ? undefined : problem(name, value, { kind: "enum", allowed: (p.enumvals ?? []).join(", ") });
    }
    case "string":
      return undefined;
  }
}

/**
 * The value of a numeric parameter in its own unit, as PostgreSQL stores it (shared_buffers in
 * 8kB blocks, work_mem in kB, statement_timeout in ms); undefined when checkSetting refuses it
 * or the parameter is not numeric.
 */
export function parseSettingNumber(name: string, value: string): number | undefined {
  const p = findParameter(name);
  if (!p || (p.vartype !== "integer" && p.vartype !== "real") || checkSetting(name, value)) return undefined;
  const n = parseNumeric(p, value);
  return typeof n === "number" ? n : undefined;
}

/** A memory parameter's value in kB (e.g. "1GB" -> 1048576, shared_buffers "16384" -> 131072); negative values (-1 = "use the default rule") are returned as they are, in the parameter's unit. */
export function settingKiB(name: string, value: string): number | undefined {
  const p = findParameter(name);
  const base = p ? baseUnit(p.unit) : undefined;
  const n = parseSettingNumber(name, value);
  if (!p || !base || base.kind !== "memory" || n === undefined) return undefined;
  return n < 0 ? n : (n * base.size) / 1024;
}

/** A parameter's compiled-in default (pg_settings.boot_val), as a string. */
export function bootValue(name: string): string | undefined {
  return findParameter(name)?.bootVal ?? undefined;
}

// ---------- what the stack owns ----------

/**
 * Settings the stack itself sets or relies on; an override of any of them is refused, with the
 * reason. Keys are pg_settings names; look names up with stackOwnedReason (any case, old names).
 */
export const STACK_OWNED_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: 'the stack listens on every interface ("*"): the backend, PgBouncer, the exporter, backups and replicas reach PostgreSQL over the overlay network, and e.g. "localhost" cuts them all off',
  port: "every client the stack renders (DATABASE_URL, PgBouncer, the exporter, pg_dump, replicas, health probes) uses 5432",
  data_directory: "the image's PGDATA on the stack's volume; another path starts a new, empty cluster outside the volume",
  config_file: "the image's postgresql.conf, which the stack's -c settings are layered on",
  hba_file: "the stack renders pg_hba.conf from the plan and mounts it as a Swarm config (/etc/postgresql/advwell/pg_hba.conf): its scram-sha-256 entries and the replication entry are the only way in",
  ident_file: "the image's pg_ident.conf; the stack's pg_hba.conf maps no identities, and a path the postgres user cannot read stops the server from starting",
  unix_socket_directories: "the image's entrypoint and the pg_isready health check use the socket in /var/run/postgresql",
  external_pid_file: "the container's init does not manage one; a path the postgres user cannot write stops the server from starting",
  max_connections: "set postgres.maxConnections instead, so that the connection budget and work_mem are derived from it",
  superuser_reserved_connections: "the connection budget counts max_connections minus these slots; changing it here would desynchronise the budget",
  wal_level: 'streaming replicas and pg_basebackup need "replica" (the plan sets it); "minimal" with PostgreSQL\'s default max_wal_senders (10) stops the server from starting',
  max_wal_senders: "sized by the plan from the replicas (one per replica plus two for pg_basebackup and a re-clone); a replica refuses to start when its value is below the primary's",
  max_replication_slots: "sized by the plan with max_wal_senders: one slot per replica plus two spare",
  hot_standby: "replicas must accept read queries; the plan sets it on replicas",
  primary_conninfo: "written by the replica's entrypoint (pg_basebackup -R); a -c value would override it and point the replica elsewhere",
  primary_slot_name: "written by the replica's entrypoint with the slot the primary keeps WAL for; another name loses that WAL",
  logging_collector: "the stack reads PostgreSQL's log from the container's stderr (docker service logs); the collector would move it into files inside the data volume",
};

/** Why the stack owns a setting (any spelling PostgreSQL accepts for the name), or undefined. */
export function stackOwnedReason(name: string): string | undefined {
  const canonical = canonicalSettingName(name) ?? name.toLowerCase();
  return STACK_OWNED_SETTINGS[canonical];
}

/**
 * Settings that trade crash safety for speed. With them off, a crash of the host (not only of
 * PostgreSQL) can leave the data directory corrupt, which a law firm's only copy of its cases
 * cannot afford: the plan refuses them (the backup is a day old at best). synchronous_commit=off
 * loses at most the last few hundred milliseconds of commits and never corrupts: a warning.
 */
const CRASH_UNSAFE_WHEN_OFF: Readonly<Record<string, string>> = {
  fsync: "PostgreSQL no longer forces writes to disk, so a power loss or a kernel crash can corrupt the whole cluster beyond crash recovery (PostgreSQL's docs: only for a throwaway initial load)",
  full_page_writes: "a page torn by a power loss cannot be repaired from the WAL, so crash recovery can silently keep a corrupt page; streaming replicas and pg_basebackup also need full-page images",
};

/**
 * How an override risks the data on a crash: `refuse` for settings that can corrupt the cluster,
 * `warn` for ones that can lose the last commits; undefined when it is safe (or not a boolean
 * PostgreSQL reads, which checkSetting reports).
 */
export function crashSafetyRisk(name: string, value: string): { readonly level: "refuse" | "warn"; readonly why: string } | undefined {
  const canonical = canonicalSettingName(name) ?? name.toLowerCase();
  if (canonical in CRASH_UNSAFE_WHEN_OFF) {
    return parsePgBool(value.trim()) === false ? { level: "refuse", why: CRASH_UNSAFE_WHEN_OFF[canonical] } : undefined;
  }
  if (canonical === "synchronous_commit" && (parsePgBool(value.trim()) === false)) {
    return { level: "warn", why: "a crash loses the commits of the last moments (up to 3 x wal_writer_delay) that clients were told had succeeded; the database itself stays consistent" };
  }
  return undefined;
}

/**
 * A warning when password_encryption is weaker than scram-sha-256 (the only other PostgreSQL 15
 * value is md5, any case); undefined for scram-sha-256 or a value that is not valid at all
 * (checkSetting reports those).
 */
export function weakerPasswordEncryption(value: string): string | undefined {
  if (value.toLowerCase() !== "md5") return undefined;
  return `password_encryption = "${value}" is weaker than scram-sha-256: passwords set from now on are stored as MD5 hashes, which a leaked hash or a captured handshake exposes; pg_hba's scram-sha-256 entries also refuse roles whose password is stored as MD5`;
}

/**
 * Values `postgres -C` accepts but the server refuses when it starts, for want of something the
 * stack never provides. ssl=on: the stack mounts no server certificate or key, and PostgreSQL
 * loads them at start (be-secure-openssl.c be_tls_init: "could not load server certificate file
 * \"server.crt\"", FATAL), so the database would not come back; its clients reach it only over the
 * stack's overlay network.
 */
export function startupProblem(name: string, value: string): string | undefined {
  const canonical = canonicalSettingName(name) ?? name.toLowerCase();
  if (canonical === "ssl" && parsePgBool(value.trim()) === true) {
    return "off (the default): the stack mounts no server certificate or key (ssl_cert_file, ssl_key_file), so with ssl=on PostgreSQL refuses to start (could not load server certificate file)";
  }
  return undefined;
}

/** The catalog's minor release, e.g. "15.20": the postgresImage default is this minor. */
export const CATALOG_MINOR = `${Math.floor(PG15_CATALOG.serverVersionNum / 10000)}.${PG15_CATALOG.serverVersionNum % 10000}`;
