/**
 * Stack config -> validated settings. Every value is checked here once; a bad value becomes an
 * error finding that names the key, the value it got and what is allowed.
 *
 * Input is the flat map the Pulumi engine hands a program (`advwell:tier` -> "growth"; arrays
 * arrive as JSON text), which the offline loader in `config/` reproduces from the stack files.
 */
import { z } from "zod";
import { error, Finding } from "./findings";
import { isTierName, TIER_NAMES, TierName } from "./tiers";
import { parseSizeMiB } from "./units";

export const PROJECT = "advwell";

export const SERVICE_NAMES = ["postgres", "backend", "frontend", "traefik", "pgbouncer", "postgres-replica", "backup"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
/** Monitoring services (model/monitoring.ts) can be overridden too; listed here as literals to avoid an import cycle. */
const OVERRIDABLE_SERVICES = [...SERVICE_NAMES, "prometheus", "grafana", "alertmanager", "postgres-exporter", "node-exporter", "cadvisor"] as const;
export type OverridableService = (typeof OVERRIDABLE_SERVICES)[number];

export const ENVIRONMENTS = ["production", "staging", "development"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const ENDPOINT_MODES = ["vip", "dnsrr"] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];

export const NODE_ROLES = ["manager", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export interface NodeSpec {
  /** The node's hostname in the swarm; also the value of its `advwell.node` label. */
  readonly name: string;
  readonly role: NodeRole;
  readonly cpus: number;
  readonly memoryMiB: number;
}

export interface ResourceOverride {
  readonly replicas?: number;
  readonly cpuLimit?: number;
  readonly memoryLimitMiB?: number;
  readonly cpuReservation?: number;
  readonly memoryReservationMiB?: number;
}

export interface Overrides {
  readonly services: Partial<Record<OverridableService, ResourceOverride>>;
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

export interface Images {
  readonly backend: string;
  readonly frontend: string;
  readonly postgres: string;
  readonly pgbouncer: string;
  readonly traefik: string;
}

export interface BackupSettings {
  readonly enabled: boolean;
  /** Five-field cron expression, in UTC. */
  readonly schedule: string;
  readonly bucketName?: string;
  readonly prefix: string;
  readonly retentionDays: number;
  readonly transitionDays: number;
  readonly noncurrentDays: number;
  readonly kmsKeyArn?: string;
  /** Overrides the derived `siemens/postgres-backup-s3:<major>` image (a mirror, or a rehearsal stand-in). */
  readonly image?: string;
  /** An S3-compatible endpoint for the backup container (AWS_ENDPOINT_URL); undefined means AWS. */
  readonly endpointUrl?: string;
}

export interface Settings {
  readonly stack: string;
  readonly tier: TierName;
  readonly environment: Environment;
  readonly apiDomain: string;
  readonly appDomain: string;
  readonly dashboardDomain: string;
  readonly acmeEmail: string;
  readonly images: Images;
  readonly nodes: readonly NodeSpec[];
  readonly overrides: Overrides;
  readonly backendPort: number;
  readonly frontendPort: number;
  readonly databaseName: string;
  readonly databaseUser: string;
  readonly rateLimitAverage: number;
  readonly rateLimitBurst: number;
  /** Docker endpoint of the read replica's node, so Pulumi creates (and protects) its volume there. */
  readonly replicaDockerHost?: string;
  /** How a service's name resolves on the overlay: `vip` (one virtual IP, needs IPVS) or `dnsrr` (the tasks' addresses). */
  readonly endpointMode: EndpointMode;
  readonly backup: BackupSettings;
}

export type RawConfig = Readonly<Record<string, string | undefined>>;

const key = (name: string) => `${PROJECT}:${name}`;

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** `repo[:tag][@sha256:digest]`; the tag must be present and not `latest`, or a digest given. */
const IMAGE = /^[a-z0-9]+([._\/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const CRON = /^(\S+\s+){4}\S+$/;
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

class Collector {
  readonly findings: Finding[] = [];
  fail(name: string, got: unknown, allowed: string): undefined {
    this.findings.push(error(name, `got ${JSON.stringify(got)}; allowed: ${allowed}`));
    return undefined;
  }
}

function raw(config: RawConfig, name: string): string | undefined {
  return config[key(name)];
}

function readString(c: Collector, config: RawConfig, name: string, test: RegExp, allowed: string): string | undefined {
  const value = raw(config, name);
  if (value === undefined) return c.fail(key(name), value, `${allowed} (the key is missing: Pulumi.yaml declares its default)`);
  return test.test(value) ? value : c.fail(key(name), value, allowed);
}

function readEnum<T extends string>(c: Collector, config: RawConfig, name: string, values: readonly T[]): T | undefined {
  const value = raw(config, name);
  return values.includes(value as T) ? (value as T) : c.fail(key(name), value, values.join(", "));
}

function readInt(c: Collector, config: RawConfig, name: string, min: number, max: number): number | undefined {
  const value = raw(config, name);
  const parsed = z.coerce.number().int().min(min).max(max).safeParse(value);
  return parsed.success && value !== undefined && value.trim() !== "" ? parsed.data : c.fail(key(name), value, `an integer from ${min} to ${max}`);
}

function readBool(c: Collector, config: RawConfig, name: string): boolean | undefined {
  const value = raw(config, name);
  if (value === "true") return true;
  if (value === "false") return false;
  return c.fail(key(name), value, "true or false");
}

function readImage(c: Collector, config: RawConfig, name: string): string | undefined {
  const value = raw(config, name);
  const allowed = "an image with a pinned tag or digest, e.g. postgres:15.10 (never :latest, never untagged)";
  if (value === undefined || !IMAGE.test(value)) return c.fail(key(name), value, allowed);
  const lastSegment = value.split("@")[0].split("/").pop() ?? "";
  const tag = lastSegment.includes(":") ? lastSegment.split(":")[1] : undefined;
  const digest = value.includes("@sha256:");
  if ((tag === undefined && !digest) || tag === "latest") return c.fail(key(name), value, allowed);
  return value;
}

function readJsonArray(c: Collector, config: RawConfig, name: string): string[] | undefined {
  const value = raw(config, name);
  let parsed: unknown;
  try {
    parsed = value === undefined ? undefined : JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const result = z.array(z.string()).safeParse(parsed);
  return result.success ? result.data : c.fail(key(name), value, "a list of strings");
}

const NODE_FIELDS = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    cpus: z.coerce.number().positive().max(512),
    memory: z.string(),
    role: z.enum(NODE_ROLES).default("worker"),
  })
  .strict();

/** A node is written `name=vps-1,cpus=4,memory=16GiB,role=manager` (Pulumi config types have no objects). */
export function parseNode(text: string): NodeSpec | string {
  const fields: Record<string, string> = {};
  for (const part of text.split(",")) {
    const [k, ...rest] = part.split("=");
    if (!k || rest.length === 0) return `"${part.trim()}" is not key=value`;
    fields[k.trim()] = rest.join("=").trim();
  }
  const parsed = NODE_FIELDS.safeParse(fields);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.join(".") || "node"}: ${i.message}`).join("; ");
  }
  const memoryMiB = parseSizeMiB(parsed.data.memory);
  if (memoryMiB === undefined) return `memory "${parsed.data.memory}" is not a size like 16GiB or 8192MiB`;
  return { name: parsed.data.name, cpus: parsed.data.cpus, memoryMiB, role: parsed.data.role };
}

const NODE_FORMAT = "entries like name=vps-1,cpus=4,memory=16GiB,role=manager (role: manager or worker), at least one manager, unique names";

function readNodes(c: Collector, config: RawConfig): NodeSpec[] | undefined {
  const entries = readJsonArray(c, config, "nodes");
  if (!entries) return undefined;
  if (entries.length === 0) return c.fail(key("nodes"), entries, NODE_FORMAT);
  const nodes: NodeSpec[] = [];
  entries.forEach((entry, index) => {
    const node = parseNode(entry);
    if (typeof node === "string") c.fail(`${key("nodes")}[${index}]`, entry, `${NODE_FORMAT} (${node})`);
    else nodes.push(node);
  });
  if (nodes.length !== entries.length) return undefined;
  if (new Set(nodes.map((n) => n.name)).size !== nodes.length) return c.fail(key("nodes"), entries, NODE_FORMAT);
  if (!nodes.some((n) => n.role === "manager")) return c.fail(key("nodes"), entries, NODE_FORMAT);
  return nodes;
}

const RESOURCE_FIELDS = ["replicas", "cpuLimit", "memoryLimit", "cpuReservation", "memoryReservation"] as const;
const OVERRIDE_HELP =
  `entries like backend.replicas=4; paths: <service>.{${RESOURCE_FIELDS.join(",")}} for services ${OVERRIDABLE_SERVICES.join(", ")}; ` +
  "backend.nodeHeap, backend.connectionLimit, postgres.maxConnections, pgbouncer.poolSize, postgres.settings.<name>";

function positiveInt(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
}
function positiveNumber(text: string): number | undefined {
  return /^\d+(\.\d+)?$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
}

function readOverrides(c: Collector, config: RawConfig): Overrides | undefined {
  const entries = readJsonArray(c, config, "overrides");
  if (!entries) return undefined;
  const services: Partial<Record<OverridableService, Record<string, number>>> = {};
  const postgresSettings: Record<string, string> = {};
  const scalars: Record<string, number> = {};
  let ok = true;
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const path = eq > 0 ? entry.slice(0, eq).trim() : entry.trim();
    const value = eq > 0 ? entry.slice(eq + 1).trim() : "";
    const where = `${key("overrides")}[${path}]`;
    const bad = (allowed: string) => {
      ok = false;
      c.fail(where, value, allowed);
    };
    if (eq <= 0 || value === "") {
      bad(OVERRIDE_HELP);
      continue;
    }
    const [service, field, ...rest] = path.split(".");
    if (service === "postgres" && field === "settings" && rest.length > 0) {
      const name = rest.join(".");
      if (!/^[a-z_][a-z0-9_.]*$/.test(name) || /['\n\\]/.test(value)) bad("a postgresql.conf name and a value without quotes or newlines");
      else postgresSettings[name] = value;
      continue;
    }
    const scalarFields: Record<string, [string, (t: string) => number | undefined, string]> = {
      "backend.nodeHeap": ["nodeHeapMiB", parseSizeMiB, "a size like 768MiB"],
      "backend.connectionLimit": ["connectionLimit", positiveInt, "a positive integer"],
      "postgres.maxConnections": ["maxConnections", positiveInt, "a positive integer"],
      "pgbouncer.poolSize": ["pgbouncerPoolSize", positiveInt, "a positive integer"],
    };
    const scalar = scalarFields[path];
    if (scalar) {
      const parsed = scalar[1](value);
      if (parsed === undefined) bad(scalar[2]);
      else scalars[scalar[0]] = parsed;
      continue;
    }
    if (!(OVERRIDABLE_SERVICES as readonly string[]).includes(service) || !(RESOURCE_FIELDS as readonly string[]).includes(field) || rest.length > 0) {
      bad(OVERRIDE_HELP);
      continue;
    }
    const parse: Record<(typeof RESOURCE_FIELDS)[number], [string, (t: string) => number | undefined, string]> = {
      replicas: ["replicas", positiveInt, "a positive integer"],
      cpuLimit: ["cpuLimit", positiveNumber, "a positive number of CPUs, e.g. 1.5"],
      cpuReservation: ["cpuReservation", positiveNumber, "a positive number of CPUs, e.g. 0.5"],
      memoryLimit: ["memoryLimitMiB", parseSizeMiB, "a size like 1GiB or 512MiB"],
      memoryReservation: ["memoryReservationMiB", parseSizeMiB, "a size like 1GiB or 512MiB"],
    };
    const [target, parser, allowed] = parse[field as (typeof RESOURCE_FIELDS)[number]];
    const parsed = parser(value);
    if (parsed === undefined) {
      bad(allowed);
      continue;
    }
    (services[service as OverridableService] ??= {})[target] = parsed;
  }
  return ok ? { services: services as Overrides["services"], postgresSettings, ...scalars } : undefined;
}

function readOptionalUrl(c: Collector, config: RawConfig, name: string): string | undefined {
  const value = readOptional(config, name);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  return url && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" ? value : c.fail(key(name), value, "empty, or an http(s):// URL such as https://s3.example.com");
}

function readOptional(config: RawConfig, name: string): string | undefined {
  const value = raw(config, name);
  return value === undefined || value === "" ? undefined : value;
}

/** Every project key, as Pulumi.yaml declares them (a test holds the two lists equal). */
export const CONFIG_KEYS = [
  "tier", "environment", "apiDomain", "appDomain", "dashboardDomain", "acmeEmail",
  "backendImage", "frontendImage", "postgresImage", "pgbouncerImage", "traefikImage",
  "nodes", "overrides", "backendPort", "frontendPort", "databaseName", "databaseUser",
  "rateLimitAverage", "rateLimitBurst", "replicaDockerHost", "endpointMode",
  "backupEnabled", "backupSchedule", "backupBucketName", "backupPrefix",
  "backupRetentionDays", "backupTransitionDays", "backupNoncurrentDays", "backupKmsKeyArn", "backupImage", "backupEndpointUrl",
  // Monitoring keys, validated by model/monitoring.ts parseMonitoringSettings.
  "monitoringEnabled", "prometheusRetention", "prometheusStorage", "grafanaDomain", "alertWebhookUrl", "backendMetricsPath",
  "prometheusImage", "grafanaImage", "alertmanagerImage", "postgresExporterImage", "nodeExporterImage", "cadvisorImage",
] as const;

/** Validates the flat config map. Either settings with no findings, or error findings. */
export function validateSettings(config: RawConfig, stack: string): { settings?: Settings; findings: Finding[] } {
  const c = new Collector();
  for (const name of Object.keys(config)) {
    if (name.startsWith(`${PROJECT}:`) && !(CONFIG_KEYS as readonly string[]).includes(name.slice(PROJECT.length + 1))) {
      c.fail(name, config[name], `a key Pulumi.yaml declares: ${CONFIG_KEYS.map(key).join(", ")}`);
    }
  }
  const tierValue = raw(config, "tier");
  const tier = tierValue !== undefined && isTierName(tierValue) ? tierValue : c.fail(key("tier"), tierValue, TIER_NAMES.join(", "));
  const settings = {
    stack,
    tier,
    environment: readEnum(c, config, "environment", ENVIRONMENTS),
    apiDomain: readString(c, config, "apiDomain", DOMAIN, "a lower-case DNS name such as api.advwell.pro"),
    appDomain: readString(c, config, "appDomain", DOMAIN, "a lower-case DNS name such as app.advwell.pro"),
    dashboardDomain: readString(c, config, "dashboardDomain", DOMAIN, "a lower-case DNS name such as traefik.advwell.pro"),
    acmeEmail: readString(c, config, "acmeEmail", EMAIL, "an e-mail address for Let's Encrypt"),
    images: {
      backend: readImage(c, config, "backendImage"),
      frontend: readImage(c, config, "frontendImage"),
      postgres: readImage(c, config, "postgresImage"),
      pgbouncer: readImage(c, config, "pgbouncerImage"),
      traefik: readImage(c, config, "traefikImage"),
    },
    nodes: readNodes(c, config),
    overrides: readOverrides(c, config),
    backendPort: readInt(c, config, "backendPort", 1, 65535),
    frontendPort: readInt(c, config, "frontendPort", 1, 65535),
    databaseName: readString(c, config, "databaseName", IDENT, "a lower-case PostgreSQL identifier"),
    databaseUser: readString(c, config, "databaseUser", IDENT, "a lower-case PostgreSQL identifier"),
    rateLimitAverage: readInt(c, config, "rateLimitAverage", 1, 100000),
    rateLimitBurst: readInt(c, config, "rateLimitBurst", 1, 100000),
    replicaDockerHost: readOptional(config, "replicaDockerHost"),
    endpointMode: readEnum(c, config, "endpointMode", ENDPOINT_MODES),
    backup: {
      enabled: readBool(c, config, "backupEnabled"),
      schedule: readString(c, config, "backupSchedule", CRON, "a five-field cron expression in UTC, e.g. 0 2 * * *"),
      bucketName: readOptional(config, "backupBucketName"),
      prefix: readString(c, config, "backupPrefix", /^[a-z0-9][a-z0-9-_/]*[a-z0-9]$/, "a lower-case S3 key prefix without leading or trailing slash"),
      retentionDays: readInt(c, config, "backupRetentionDays", 1, 3650),
      transitionDays: readInt(c, config, "backupTransitionDays", 1, 3650),
      noncurrentDays: readInt(c, config, "backupNoncurrentDays", 1, 3650),
      kmsKeyArn: readOptional(config, "backupKmsKeyArn"),
      image: readOptional(config, "backupImage") === undefined ? undefined : readImage(c, config, "backupImage"),
      endpointUrl: readOptionalUrl(c, config, "backupEndpointUrl"),
    },
  };
  const images = settings.images.postgres;
  if (images !== undefined && postgresMajor(images) === undefined) {
    c.fail(key("postgresImage"), images, "a postgres image tagged with its major version, e.g. postgres:15.10");
  }
  if (c.findings.length > 0) return { findings: c.findings };
  return { settings: settings as Settings, findings: [] };
}

/** "postgres:15.10-bookworm" -> 15. The backup job must use this major version's pg_dump. */
export function postgresMajor(image: string): number | undefined {
  const tag = image.split("@")[0].split(":")[1];
  const match = tag ? /^(\d+)/.exec(tag) : null;
  return match ? Number(match[1]) : undefined;
}
