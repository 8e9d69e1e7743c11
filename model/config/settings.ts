/**
 * Stack config -> validated settings. Every key of model/config/keys.ts is checked here, once;
 * a bad value becomes an error finding that names the key, the value it got and what is allowed.
 *
 * Input is the flat map the Pulumi engine hands a program (`advwell:tier` -> "growth"; arrays
 * arrive as JSON text), which the offline loader in `config/` reproduces from the stack files.
 */
import { z } from "zod";
import { error, Finding } from "../findings";
import { SERVICE_NAMES, ServiceName } from "../services";
import { isTierName, TierName } from "../tiers";
import { parseSizeMiB } from "../units";
import { CONFIG_KEY_NAMES, CONFIG_KEYS, ConfigKey, configKey, PROJECT } from "./keys";
import { APP_ENV_KEYS, APP_ENV_SERVICES, AppEnvService, EnvProblem, parsePlainEnv, parseSecretEnv } from "./appEnv";
import { parseNodes, NodeSpec } from "./nodes";
import { Overrides, parseOverrides } from "./overrides";
import { DOMAIN, EMAIL, httpUrl, IDENT, isPinnedImage, postgresMajor, promDurationHours, URL_PATH } from "./references";
import { editDistance } from "../editDistance";

export { PROJECT };
export type { NodeSpec, Overrides };

export const ENVIRONMENTS = ["production", "staging", "development"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const CERTIFICATE_SOURCES = ["letsencrypt", "default"] as const;
export type CertificateSource = (typeof CERTIFICATE_SOURCES)[number];

export const ENDPOINT_MODES = ["vip", "dnsrr"] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];

/** The config keys that name images: each service row points at one (model/services.ts). */
export const IMAGE_KEYS = [
  "backendImage", "frontendImage", "postgresImage", "pgbouncerImage", "traefikImage", "backupImage",
  "prometheusImage", "grafanaImage", "alertmanagerImage", "postgresExporterImage", "nodeExporterImage", "cadvisorImage",
] as const satisfies readonly ConfigKey[];
export type ImageKey = (typeof IMAGE_KEYS)[number];

/** Images by key; `backupImage` is undefined when empty (the plan derives it from PostgreSQL's major). */
export type Images = Readonly<Record<Exclude<ImageKey, "backupImage">, string>> & { readonly backupImage?: string };

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
  /** An S3-compatible endpoint for the backup container (AWS_ENDPOINT_URL); undefined means AWS. */
  readonly endpointUrl?: string;
}

/** Where Alertmanager sends notifications, decided from the webhook URL's host. */
export type AlertReceiverKind = "none" | "slack" | "discord" | "webhook";

export interface MonitoringSettings {
  readonly enabled: boolean;
  /** Prometheus `--storage.tsdb.retention.time`, a Prometheus duration such as 15d. */
  readonly retention: string;
  readonly retentionHours: number;
  /** Prometheus `--storage.tsdb.retention.size`: the oldest blocks go first beyond this. */
  readonly retentionSizeMiB: number;
  readonly grafanaDomain: string;
  /**
   * The kind of receiver only. The URL is a credential: it never enters the settings or the plan
   * (which the offline plan command prints); the component receives it as a secret input.
   */
  readonly alertReceiver: AlertReceiverKind;
  /** Path of the backend's Prometheus endpoint; undefined when the backend exposes none. */
  readonly backendMetricsPath?: string;
}

/** Taking over an existing cluster's data volume instead of creating one. */
export interface Adoption {
  /** The existing Docker volume; PGDATA is its root, as the official image keeps it. */
  readonly volume: string;
  /** Its data directory's major version (PG_VERSION). */
  readonly major: number;
}

/** One service's own environment (model/config/appEnv.ts). */
export interface AppEnvSettings {
  /** Plain variables, by name: they go into the service spec's env. */
  readonly env: Readonly<Record<string, string>>;
  /** The secret variables' names (their values stay in the secret config value, never here). */
  readonly secretNames: readonly string[];
  /** The secret key is set but stored as secure: and not readable offline (names unknown until deploy). */
  readonly secretUnread: boolean;
}

export interface Settings {
  readonly stack: string;
  readonly tier: TierName;
  readonly environment: Environment;
  readonly apiDomain: string;
  readonly appDomain: string;
  readonly dashboardDomain: string;
  readonly acmeEmail: string;
  /** Let's Encrypt, or Traefik's default certificate (development hosts). */
  readonly certificates: CertificateSource;
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
  readonly monitoring: MonitoringSettings;
  /** An existing data volume to take over, when the stack adopts a running deployment. */
  readonly adoption?: Adoption;
  /** Whether advwell:postgresSuperuserPassword is set (its value is a credential and never enters the settings). */
  readonly superuserPasswordSet: boolean;
  /** The backend's and the frontend's own environment. */
  readonly appEnv: Readonly<Record<AppEnvService, AppEnvSettings>>;
}

export type RawConfig = Readonly<Record<string, string | undefined>>;

const MISSING = " (the key is missing: Pulumi.yaml declares its default)";

/** Collects findings while the readers below validate one key each. */
class Reader {
  readonly findings: Finding[] = [];
  constructor(
    private readonly config: RawConfig,
    private readonly secureKeys: readonly string[],
  ) {}

  raw(name: ConfigKey): string | undefined {
    return this.config[configKey(name)];
  }

  /** Keys already refused for being stored as secure: values; no second error about their absence. */
  readonly unreadable = new Set<string>();

  /** An error naming the key, the value it got and what is allowed (the table's text unless given). */
  fail(name: ConfigKey | string, got: unknown, allowed?: string): undefined {
    const key = name.includes(":") ? name : configKey(name as ConfigKey);
    if (this.unreadable.has(key)) return undefined;
    const text = allowed ?? CONFIG_KEYS[name as ConfigKey].allowed;
    this.findings.push(error(key, `got ${JSON.stringify(got)}; allowed: ${text}${got === undefined ? MISSING : ""}`));
    return undefined;
  }

  matching(name: ConfigKey, test: RegExp): string | undefined {
    const value = this.raw(name);
    return value !== undefined && test.test(value) ? value : this.fail(name, value);
  }

  oneOf<T extends string>(name: ConfigKey, values: readonly T[]): T | undefined {
    const value = this.raw(name);
    return values.includes(value as T) ? (value as T) : this.fail(name, value);
  }

  /** Decimal digits only: `0x10`, `3e3` and `1.0` are refused, as Pulumi's integer type would. */
  integer(name: ConfigKey, min: number, max: number): number | undefined {
    const value = this.raw(name);
    const parsed = value !== undefined && /^\s*-?\d{1,15}\s*$/.test(value) ? z.coerce.number().int().min(min).max(max).safeParse(value) : undefined;
    return parsed?.success ? parsed.data : this.fail(name, value);
  }

  boolean(name: ConfigKey): boolean | undefined {
    const value = this.raw(name);
    if (value === "true") return true;
    if (value === "false") return false;
    return this.fail(name, value);
  }

  image(name: ImageKey): string | undefined {
    const value = this.raw(name);
    return value !== undefined && isPinnedImage(value) ? value : this.fail(name, value);
  }

  /** Empty string and absent both mean "not set". */
  optional(name: ConfigKey): string | undefined {
    const value = this.raw(name);
    return value === undefined || value === "" ? undefined : value;
  }

  list(name: ConfigKey): string[] | undefined {
    const value = this.raw(name);
    let parsed: unknown;
    try {
      parsed = value === undefined ? undefined : JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    const result = z.array(z.string()).safeParse(parsed);
    return result.success ? result.data : this.fail(name, value, "a list of strings");
  }

  /** True when the stack file holds the key as `secure:` ciphertext the offline loader could not read. */
  isSecure(name: ConfigKey): boolean {
    return this.secureKeys.includes(configKey(name));
  }
}

/** Namespaces whose keys the program or its providers read; anything else is a typo. */
const KNOWN_NAMESPACES = ["docker", "aws", "random", "pulumi"];


/** The known project key nearest to an unknown one, when it is near enough to be a typo. */
export function nearestKey(unknown: string): string | undefined {
  const bare = unknown.includes(":") ? unknown.slice(unknown.indexOf(":") + 1) : unknown;
  let best: { key: string; d: number } | undefined;
  for (const name of CONFIG_KEY_NAMES) {
    const d = editDistance(bare.toLowerCase(), name.toLowerCase());
    if (!best || d < best.d) best = { key: configKey(name), d };
  }
  return best && best.d <= Math.max(2, Math.floor(bare.length / 3)) ? best.key : undefined;
}

function checkKeyNames(r: Reader, config: RawConfig): void {
  const known = new Set(CONFIG_KEY_NAMES.map(configKey));
  for (const name of Object.keys(config)) {
    const namespace = name.includes(":") ? name.slice(0, name.indexOf(":")) : "";
    if (namespace === PROJECT ? known.has(name) : KNOWN_NAMESPACES.includes(namespace)) continue;
    const near = nearestKey(name);
    const scope = namespace === PROJECT ? "a key Pulumi.yaml declares" : `a key in the ${PROJECT} namespace or a provider's (${KNOWN_NAMESPACES.join(", ")})`;
    const allowed = near ? `${scope}; did you mean ${near}?` : `${scope}: ${CONFIG_KEY_NAMES.map(configKey).join(", ")}`;
    r.findings.push(error(name, `got an unknown key (value ${JSON.stringify(config[name])}); allowed: ${allowed}`));
  }
}

/** Slack incoming webhooks, Discord webhooks, or anything else Alertmanager can POST JSON to. */
export function alertReceiverKind(url: string): AlertReceiverKind | undefined {
  if (url === "") return "none";
  const parsed = httpUrl(url);
  if (!parsed || parsed.protocol !== "https:") return undefined;
  if (parsed.hostname === "hooks.slack.com") return "slack";
  if (/^(discord|discordapp)\.com$/.test(parsed.hostname) && parsed.pathname.startsWith("/api/webhooks/")) return "discord";
  return "webhook";
}

function readMonitoring(r: Reader): Partial<MonitoringSettings> {
  const enabled = r.boolean("monitoringEnabled");

  const retention = r.raw("prometheusRetention");
  const retentionHours = retention === undefined ? undefined : promDurationHours(retention);
  if (retentionHours === undefined || retentionHours < 2) r.fail("prometheusRetention", retention);

  const storage = r.raw("prometheusStorage");
  const retentionSizeMiB = storage === undefined ? undefined : parseSizeMiB(storage);
  // Below ~512 MiB the size limit would delete blocks faster than Prometheus compacts them.
  if (retentionSizeMiB === undefined || retentionSizeMiB < 512) r.fail("prometheusStorage", storage);

  const grafanaDomain = r.matching("grafanaDomain", DOMAIN);

  let alertReceiver: AlertReceiverKind | undefined;
  const webhook = r.raw("alertWebhookUrl");
  if (webhook === undefined && r.isSecure("alertWebhookUrl")) {
    // Set with --secret and not decrypted offline: it is there, its kind is known at deploy time.
    alertReceiver = "webhook";
  } else if (webhook === undefined) {
    r.fail("alertWebhookUrl", webhook);
  } else {
    alertReceiver = alertReceiverKind(webhook);
    if (alertReceiver === undefined) {
      r.findings.push(error(configKey("alertWebhookUrl"), `got a value that is not an https:// URL (not shown: the key holds a credential); allowed: ${CONFIG_KEYS.alertWebhookUrl.allowed}`));
    }
  }

  const metricsPath = r.raw("backendMetricsPath");
  if (metricsPath === undefined || (metricsPath !== "" && !URL_PATH.test(metricsPath))) r.fail("backendMetricsPath", metricsPath);

  return {
    enabled,
    retention,
    retentionHours,
    retentionSizeMiB,
    grafanaDomain,
    alertReceiver,
    backendMetricsPath: metricsPath === "" ? undefined : metricsPath,
  };
}

function readImages(r: Reader): Partial<Images> {
  const images: Record<string, string | undefined> = {};
  for (const name of IMAGE_KEYS) {
    if (name === "backupImage") images[name] = r.optional(name) === undefined ? undefined : r.image(name);
    else images[name] = r.image(name);
  }
  const postgres = images.postgresImage;
  if (postgres !== undefined && postgresMajor(postgres) === undefined) r.fail("postgresImage", postgres, "a postgres image tagged with its major version, e.g. postgres:15.10");
  return images as Partial<Images>;
}

/** A Docker endpoint the docker provider accepts as `host`. */
function readDockerHost(r: Reader, name: ConfigKey): string | undefined {
  const value = r.optional(name);
  if (value === undefined) return undefined;
  const ok = /^(ssh:\/\/[A-Za-z0-9._-]+@?[A-Za-z0-9.-]*(:\d{1,5})?|tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}|unix:\/\/\/[^\s]+|npipe:\/\/[^\s]+)$/.test(value);
  return ok ? value : r.fail(name, value);
}

/** Docker's volume name rule (daemon/names): a letter or digit, then letters, digits, _ . -. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

function readAdoption(r: Reader, postgresImage: string | undefined): Adoption | undefined {
  const volume = r.optional("adoptPostgresVolume");
  const major = r.integer("adoptPostgresMajor", 0, 99);
  if (volume === undefined) {
    if (major !== undefined && major !== 0) r.fail("adoptPostgresMajor", String(major), `0 while ${configKey("adoptPostgresVolume")} is empty (nothing is adopted)`);
    return undefined;
  }
  if (!VOLUME_NAME.test(volume)) return r.fail("adoptPostgresVolume", volume);
  const serverMajor = postgresImage === undefined ? undefined : postgresMajor(postgresImage);
  if (major === undefined) return undefined;
  if (major === 0) return r.fail("adoptPostgresMajor", "0", `the major version of ${volume}'s data directory (docker exec <old postgres> cat /var/lib/postgresql/data/PG_VERSION)`);
  if (serverMajor !== undefined && major !== serverMajor) {
    return r.fail("adoptPostgresMajor", String(major), `${serverMajor}, the major of ${configKey("postgresImage")} (${postgresImage}): PostgreSQL ${serverMajor} refuses a data directory made by ${major}; upgrade it first (pg_upgrade, or pg_dump and restore), or run postgres:${major}`);
  }
  return { volume, major };
}

/** Set (a one-line value), set with --secret and unread offline, or unset. */
function readSuperuserPassword(r: Reader): boolean {
  if (r.isSecure("postgresSuperuserPassword")) return true;
  const value = r.raw("postgresSuperuserPassword");
  if (value === undefined || value === "") return false;
  if (/[\r\n]/.test(value)) {
    r.findings.push(error(configKey("postgresSuperuserPassword"), `got a value with a line break (not shown: the key holds a credential); allowed: ${CONFIG_KEYS.postgresSuperuserPassword.allowed}`));
    return false;
  }
  return true;
}

/** Each problem as an error naming the key and the entry (a secret key's values are never shown). */
function envProblems(r: Reader, name: ConfigKey, problems: readonly EnvProblem[], secret: boolean): void {
  for (const p of problems) {
    const where = secret ? `line ${p.at}` : `entry ${p.at}`;
    const got = secret ? `got ${where}${p.name ? ` (${p.name})` : ""} (values not shown: the key holds credentials)` : `got ${where} ${p.name ? JSON.stringify(p.name) : "(no readable name)"}`;
    r.findings.push(error(configKey(name), `${got}: ${p.problem}; allowed: ${CONFIG_KEYS[name].allowed}`));
  }
}

function readAppEnv(r: Reader, service: AppEnvService): AppEnvSettings | undefined {
  const keys = APP_ENV_KEYS[service];
  const entries = r.list(keys.plain);
  const plain = entries === undefined ? undefined : parsePlainEnv(service, entries);
  if (plain) envProblems(r, keys.plain, plain.problems, false);
  const secretUnread = r.isSecure(keys.secret) && r.raw(keys.secret) === undefined;
  const text = r.raw(keys.secret);
  if (text === undefined && !secretUnread) return r.fail(keys.secret, undefined);
  const secret = text === undefined ? undefined : parseSecretEnv(service, text);
  if (secret) envProblems(r, keys.secret, secret.problems, true);
  const both = secret && plain ? [...secret.vars.keys()].filter((n) => plain.vars.has(n)) : [];
  for (const n of both) r.findings.push(error(configKey(keys.secret), `got ${n}, which ${configKey(keys.plain)} sets too; allowed: each variable in one of the two keys`));
  if (!plain) return undefined;
  return { env: Object.fromEntries(plain.vars), secretNames: secret ? [...secret.vars.keys()] : [], secretUnread };
}

/** Databases PostgreSQL has already; the application database must be its own. */
const RESERVED_DATABASES = ["postgres", "template0", "template1"];
/** The superuser, PostgreSQL's predefined roles, and the roles the stack creates for itself. */
const RESERVED_ROLES = ["postgres", "public", "replicator", "advwell_monitor"];

function readIdentifier(r: Reader, name: ConfigKey, reserved: readonly string[]): string | undefined {
  const value = r.matching(name, IDENT);
  if (value === undefined) return undefined;
  return reserved.includes(value) || value.startsWith("pg_") ? r.fail(name, value) : value;
}

/** Suffixes Let's Encrypt never issues for (RFC 6761/6762/8375 special-use and private names). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".test", ".example", ".invalid", ".internal", ".lan", ".home.arpa"];

/** Every router gets its own host, and Let's Encrypt is asked only for names it can issue. */
function checkHosts(r: Reader, s: Partial<Settings>): void {
  const hosts: [ConfigKey, string | undefined][] = [
    ["apiDomain", s.apiDomain],
    ["appDomain", s.appDomain],
    ["dashboardDomain", s.dashboardDomain],
    ...(s.monitoring?.enabled ? ([["grafanaDomain", s.monitoring.grafanaDomain]] as [ConfigKey, string | undefined][]) : []),
  ];
  const seen = new Map<string, ConfigKey>();
  for (const [name, host] of hosts) {
    if (host === undefined) continue;
    const first = seen.get(host);
    if (first) r.fail(name, host, `a host no other router uses (${configKey(first)} is already ${host}; two routers on one host would split its traffic and its certificate)`);
    else seen.set(host, name);
    if (s.certificates === "letsencrypt" && PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
      r.fail(name, host, `a public DNS name while ${configKey("certificates")} is letsencrypt (Let's Encrypt cannot issue for ${host}); for development set ${configKey("certificates")}=default`);
    }
  }
}

/** Validates the flat config map. Either settings with no findings, or error findings. */
export function validateSettings(config: RawConfig, stack: string, secureKeys: readonly string[] = []): { settings?: Settings; findings: Finding[] } {
  const r = new Reader(config, secureKeys);
  checkKeyNames(r, config);
  for (const name of CONFIG_KEY_NAMES) {
    // A secure: value the plan cannot read is only acceptable for a credential.
    if (r.isSecure(name) && !("secret" in CONFIG_KEYS[name])) {
      r.unreadable.add(configKey(name));
      r.findings.push(error(configKey(name), `is stored as a secure: (encrypted) value, which the plan cannot read; allowed: a plain value (pulumi config set ${PROJECT}:${name} <value>, without --secret); only credentials are set with --secret`));
    }
  }
  const tierValue = r.raw("tier");
  const tier = tierValue !== undefined && isTierName(tierValue) ? tierValue : r.fail("tier", tierValue);
  const endpoint = r.optional("backupEndpointUrl");
  const settings = {
    stack,
    tier,
    environment: r.oneOf("environment", ENVIRONMENTS),
    apiDomain: r.matching("apiDomain", DOMAIN),
    appDomain: r.matching("appDomain", DOMAIN),
    dashboardDomain: r.matching("dashboardDomain", DOMAIN),
    acmeEmail: r.matching("acmeEmail", EMAIL),
    certificates: r.oneOf("certificates", CERTIFICATE_SOURCES),
    images: readImages(r),
    nodes: parseNodes(r.list("nodes"), (key, got, allowed) => r.fail(key, got, allowed)),
    overrides: parseOverrides(r.list("overrides"), (key, got, allowed) => r.fail(key, got, allowed)),
    backendPort: r.integer("backendPort", 1, 65535),
    frontendPort: r.integer("frontendPort", 1, 65535),
    databaseName: readIdentifier(r, "databaseName", RESERVED_DATABASES),
    databaseUser: readIdentifier(r, "databaseUser", RESERVED_ROLES),
    rateLimitAverage: r.integer("rateLimitAverage", 1, 100000),
    rateLimitBurst: r.integer("rateLimitBurst", 1, 100000),
    replicaDockerHost: readDockerHost(r, "replicaDockerHost"),
    endpointMode: r.oneOf("endpointMode", ENDPOINT_MODES),
    backup: {
      enabled: r.boolean("backupEnabled"),
      schedule: r.matching("backupSchedule", /^(\S+\s+){4}\S+$/),
      bucketName: r.optional("backupBucketName"),
      prefix: r.matching("backupPrefix", /^[a-z0-9][a-z0-9-_/]*[a-z0-9]$/),
      retentionDays: r.integer("backupRetentionDays", 1, 3650),
      transitionDays: r.integer("backupTransitionDays", 1, 3650),
      noncurrentDays: r.integer("backupNoncurrentDays", 1, 3650),
      kmsKeyArn: r.optional("backupKmsKeyArn"),
      endpointUrl: endpoint === undefined ? undefined : httpUrl(endpoint) ? endpoint : r.fail("backupEndpointUrl", endpoint),
    },
    monitoring: readMonitoring(r),
  };
  const adoption = readAdoption(r, settings.images.postgresImage);
  const superuserPasswordSet = readSuperuserPassword(r);
  if (adoption && !superuserPasswordSet) {
    r.fail("postgresSuperuserPassword", undefined, `the adopted cluster's superuser password, set with pulumi config set --secret ${configKey("postgresSuperuserPassword")} (an initialised cluster keeps its own; the generated one would not log in)`);
  }
  const appEnv = Object.fromEntries(APP_ENV_SERVICES.map((service) => [service, readAppEnv(r, service)])) as Record<AppEnvService, AppEnvSettings>;
  const all = { ...settings, ...(adoption ? { adoption } : {}), superuserPasswordSet, appEnv };
  checkHosts(r, all as Partial<Settings>);
  // The program reads aws:region for the bucket and the backup job; the plan refuses what it would.
  if (settings.backup.enabled === true && !config["aws:region"]) {
    r.findings.push(error("aws:region", `got undefined; allowed: an AWS region such as sa-east-1 (the backup bucket and job need it while ${configKey("backupEnabled")} is true; set it in Pulumi.${stack}.yaml)`));
  }
  if (r.findings.length > 0) return { findings: r.findings };
  return { settings: all as Settings, findings: [] };
}

export { postgresMajor, SERVICE_NAMES };
export type { ServiceName };
