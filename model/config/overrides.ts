/**
 * `advwell:overrides`: per-service changes to tier values, one `path=value` entry each (Pulumi's
 * project config types have no objects): `backend.replicas=4`, `postgres.memoryLimit=4GiB`,
 * `postgres.settings.work_mem=8MB`. Each value is parsed here; whether it fits a node or the
 * container is the plan's question.
 */
import { formatMiB, parseSizeMiB } from "../units";
import { NODE_LIMITS } from "./nodes";
import { SERVICE_NAMES, ServiceName } from "../services";
import { overrideKey } from "./keys";
import { printable } from "./references";

export interface ResourceOverride {
  readonly replicas?: number;
  readonly cpuLimit?: number;
  readonly memoryLimitMiB?: number;
  readonly cpuReservation?: number;
  readonly memoryReservationMiB?: number;
}

export interface Overrides {
  readonly services: Readonly<Partial<Record<ServiceName, ResourceOverride>>>;
  /** backend.nodeHeap: the V8 old-space size per replica. */
  readonly nodeHeapMiB?: number;
  /** backend.connectionLimit: Prisma `connection_limit` per replica. */
  readonly connectionLimit?: number;
  /** postgres.maxConnections. */
  readonly maxConnections?: number;
  /** pgbouncer.poolSize: server connections per database/user pair. */
  readonly pgbouncerPoolSize?: number;
  /** postgres.settings.<name>: verbatim postgresql.conf values that win over derived ones. */
  readonly postgresSettings: Readonly<Record<string, string>>;
}

/** The most replicas any one service may ask for: ten times the largest tier, and far past one Swarm's sense. */
export const MAX_REPLICAS = 100;

export const RESOURCE_FIELDS = ["replicas", "cpuLimit", "memoryLimit", "cpuReservation", "memoryReservation"] as const;
export const OVERRIDE_HELP =
  `entries like backend.replicas=4; paths: <service>.{${RESOURCE_FIELDS.join(",")}} for services ${SERVICE_NAMES.join(", ")}; ` +
  "backend.nodeHeap, backend.connectionLimit, postgres.maxConnections, pgbouncer.poolSize, postgres.settings.<name>";

function positiveInt(max: number) {
  return (text: string): number | undefined => (/^\d{1,9}$/.test(text) && Number(text) > 0 && Number(text) <= max ? Number(text) : undefined);
}
/** Docker's smallest memory limit (moby's linuxMinMemory, 6 MiB since Engine 23; 4 MiB before). */
export const MIN_MEMORY_MIB = 6;

/** A memory size Docker accepts and some node could have: 6 MiB to the largest node there is. */
function memory(text: string): number | undefined {
  const mib = parseSizeMiB(text);
  return mib !== undefined && mib >= MIN_MEMORY_MIB && mib <= NODE_LIMITS.maxMemoryMiB ? mib : undefined;
}
const MEMORY_ALLOWED = `a size from ${MIN_MEMORY_MIB} MiB to ${formatMiB(NODE_LIMITS.maxMemoryMiB)}, like 1GiB or 512MiB`;

/** Decimal CPUs in Swarm's resolution (1/1000 of a core, at least 0.001). */
function cpus(text: string): number | undefined {
  return /^\d{1,4}(\.\d{1,3})?$/.test(text) && Number(text) >= 0.001 ? Number(text) : undefined;
}

type Parser = readonly [field: string, parse: (text: string) => number | undefined, allowed: string];

const SCALARS: Record<string, Parser> = {
  "backend.nodeHeap": ["nodeHeapMiB", memory, MEMORY_ALLOWED],
  "backend.connectionLimit": ["connectionLimit", positiveInt(10000), "a positive integer up to 10000"],
  "postgres.maxConnections": ["maxConnections", positiveInt(262143), "a positive integer up to 262143 (PostgreSQL's maximum)"],
  "pgbouncer.poolSize": ["pgbouncerPoolSize", positiveInt(10000), "a positive integer up to 10000"],
};

const RESOURCES: Record<(typeof RESOURCE_FIELDS)[number], Parser> = {
  replicas: ["replicas", positiveInt(MAX_REPLICAS), `a positive integer up to ${MAX_REPLICAS}`],
  cpuLimit: ["cpuLimit", cpus, "a decimal number of CPUs of at least 0.001, e.g. 1.5"],
  cpuReservation: ["cpuReservation", cpus, "a decimal number of CPUs of at least 0.001, e.g. 0.5"],
  memoryLimit: ["memoryLimitMiB", memory, MEMORY_ALLOWED],
  memoryReservation: ["memoryReservationMiB", memory, MEMORY_ALLOWED],
};

type Fail = (key: string, got: unknown, allowed: string) => undefined;

/** Parses every entry; one bad entry makes the whole list undefined, each bad entry a finding. */
export function parseOverrides(entries: string[] | undefined, fail: Fail): Overrides | undefined {
  if (!entries) return undefined;
  const services: Partial<Record<ServiceName, Record<string, number>>> = {};
  const postgresSettings: Record<string, string> = {};
  const scalars: Record<string, number> = {};
  const seen = new Set<string>();
  let ok = true;
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const path = eq > 0 ? entry.slice(0, eq).trim() : entry.trim();
    const value = eq > 0 ? entry.slice(eq + 1).trim() : "";
    // The path is part of the key every finding names: shown escaped when it is not a plain path.
    const shownPath = /^[A-Za-z0-9_.-]{1,128}$/.test(path) ? path : printable(JSON.stringify(path.slice(0, 128))).slice(1, -1);
    const bad = (allowed: string) => {
      ok = false;
      fail(overrideKey(shownPath), value, allowed);
    };
    if (eq <= 0 || value === "") {
      bad(OVERRIDE_HELP);
      continue;
    }
    if (seen.has(path)) {
      bad(`one entry per path; ${shownPath} is set twice in advwell:overrides (the CLI would silently keep the last)`);
      continue;
    }
    seen.add(path);
    const [service, field, ...rest] = path.split(".");
    if (service === "postgres" && field === "settings" && rest.length > 0) {
      const name = rest.join(".");
      if (!/^[a-z_][a-z0-9_.]*$/.test(name) || /['\n\\`]/.test(value)) bad("a postgresql.conf name and a value without quotes, backticks or newlines");
      else postgresSettings[name] = value;
      continue;
    }
    const scalar = SCALARS[path];
    if (scalar) {
      const parsed = scalar[1](value);
      if (parsed === undefined) bad(scalar[2]);
      else scalars[scalar[0]] = parsed;
      continue;
    }
    if (!(SERVICE_NAMES as readonly string[]).includes(service) || !(RESOURCE_FIELDS as readonly string[]).includes(field) || rest.length > 0) {
      bad(OVERRIDE_HELP);
      continue;
    }
    const [target, parse, allowed] = RESOURCES[field as (typeof RESOURCE_FIELDS)[number]];
    const parsed = parse(value);
    if (parsed === undefined) {
      bad(allowed);
      continue;
    }
    (services[service as ServiceName] ??= {})[target] = parsed;
  }
  return ok ? { services: services as Overrides["services"], postgresSettings, ...scalars } : undefined;
}
