/**
 * Stack config -> validated settings. Every key of model/config/keys.ts is checked here, once;
 * a bad value becomes an error finding that names the key, the value it got and what is allowed.
 *
 * Input is the flat map the Pulumi engine hands a program (`advwell:tier` -> "growth"; arrays
 * arrive as JSON text), which the offline loader in `config/` reproduces from the stack files.
 */
import { z } from "zod";
import { X509Certificate } from "crypto";
import { error, Finding } from "../findings";
import { SERVICE_NAMES, ServiceName } from "../services";
import { isTierName, TierName } from "../tiers";
import { parseSizeMiB } from "../units";
import { allowedText, CONFIG_KEY_NAMES, CONFIG_KEYS, ConfigKey, configKey, isCredentialKey, MAX_LENGTH, PROJECT, TextKey } from "./keys";
import { APP_ENV_KEYS, APP_ENV_SERVICES, AppEnvService, EnvProblem, parsePlainEnv, parseSecretEnv } from "./appEnv";
import { parseNodes, NodeSpec } from "./nodes";
import { Overrides, parseOverrides } from "./overrides";
import { DOMAIN, EMAIL, hasUrlPassword, printable, httpUrl, IDENT, isPinnedImage, parseImageReference, postgresMajor, PROM_MAX_BYTES, promDurationHours, redactUrlPassword, specialUseSuffix, UNSAFE_CHARACTER, URL_PATH } from "./references";
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
  "dockerSocketProxyImage",
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
  /** aws: the stack creates bucket and writer; s3-compatible: an existing bucket, keys from config secrets. */
  readonly storage: BackupStorage;
  /** s3-compatible: the signing region (backupRegion, else aws:region, else us-east-1). */
  readonly region?: string;
  /** Whether backupAccessKeyId / backupSecretAccessKey / backupEncryptionKey are set (values never enter the settings). */
  readonly accessKeySet: boolean;
  readonly encryptionKeySet: boolean;
  readonly objectLock: ObjectLockSetting;
  readonly pitr: PitrSettings;
}

export const BACKUP_STORAGES = ["aws", "s3-compatible"] as const;
export type BackupStorage = (typeof BACKUP_STORAGES)[number];
export const OBJECT_LOCK_SETTINGS = ["governance", "compliance", "off"] as const;
export type ObjectLockSetting = (typeof OBJECT_LOCK_SETTINGS)[number];

export interface PitrSettings {
  readonly enabled: boolean;
  readonly image?: string;
  readonly archiveTimeoutSeconds: number;
  /** Five-field cron, UTC, of full base backups. */
  readonly fullSchedule: string;
  readonly retentionDays: number;
  readonly retentionFull: number;
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
  /** The ACME directory Traefik's resolver asks (Let's Encrypt's by default). */
  readonly acmeServer: string;
  /** PEM of the CA behind the ACME server's HTTPS, for a private ACME server; undefined for Let's Encrypt. */
  readonly acmeCaCertificate?: string;
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
  /** IPsec on the data network between nodes (model/networks.ts); off only where the kernel cannot. */
  readonly dataNetworkEncrypted: boolean;
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

/**
 * What the offline loader (config/stackConfig.ts) puts in place of a `secure:` value it cannot
 * decrypt, so the plan, the program under mocks and every view see the key as set with a value
 * known only at deploy time. The real CLI hands the program the decrypted value instead.
 */
export const UNDECRYPTED_SECRET = "[secure: value known at deploy time]";

/**
 * A value as an error shows it: a credential key's as [secret] (whatever the error), a URL's
 * password as [secret], and as a JSON string whose backticks are escaped too, so that no value can
 * close the code span a Markdown view puts a message in, or start a new line (JSON escapes those).
 */
export function shownValue(key: string, got: unknown): string {
  if (got === undefined) return "undefined";
  const bare = key.replace(/\[.*$/, "");
  if (isCredentialKey(bare)) return "[secret]";
  const text = typeof got === "string" ? redactUrlPassword(got) : got;
  return printable(JSON.stringify(text) ?? String(got));
}

/** Collects findings while the readers below validate one key each. */
class Reader {
  readonly findings: Finding[] = [];
  constructor(
    private readonly config: RawConfig,
    private readonly secureKeys: readonly string[],
  ) {}

  /** The key's text; undefined for a `secure:` value the offline loader could not decrypt (see isSecure). */
  raw(name: ConfigKey): string | undefined {
    // A key already refused (stored as secure:, too long, a control character, a password in a URL)
    // reads as absent, and fail() stays quiet about it: one error per key. A `secure:` value the
    // offline loader could not decrypt reads as absent too (see isSecure).
    if (this.unreadable.has(configKey(name))) return undefined;
    const value = this.config[configKey(name)];
    return value === UNDECRYPTED_SECRET ? undefined : value;
  }

  /** Keys already refused for being stored as secure: values; no second error about their absence. */
  readonly unreadable = new Set<string>();

  /** An error naming the key, the value it got (never a credential's) and what is allowed (the table's text unless given). */
  fail(name: ConfigKey | string, got: unknown, allowed?: string): undefined {
    const key = name.includes(":") ? name : configKey(name as ConfigKey);
    if (this.unreadable.has(key)) return undefined;
    const text = allowed ?? allowedText(name as ConfigKey);
    this.findings.push(error(key, `got ${shownValue(key, got)}; allowed: ${text}${got === undefined ? MISSING : ""}`));
    return undefined;
  }

  /** Refuses a key once, whatever its readers would say after. */
  refuse(name: ConfigKey, message: string): void {
    this.findings.push(error(configKey(name), message));
    this.unreadable.add(configKey(name));
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
    if (!result.success) return this.fail(name, value, "a list of strings");
    // The list's JSON text passed the text rules; its entries, once unescaped, must too.
    const bad = result.data.findIndex((entry) => UNSAFE_CHARACTER.test(entry) || hasUrlPassword(entry));
    if (bad >= 0) return this.fail(`${configKey(name)}[${bad}]`, result.data[bad], `${allowedText(name)}, in printable characters without a password in a URL`);
    return result.data;
  }

  /** True when the stack file holds the key as `secure:` ciphertext the offline loader could not read. */
  isSecure(name: ConfigKey): boolean {
    return this.secureKeys.includes(configKey(name)) || this.config[configKey(name)] === UNDECRYPTED_SECRET;
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

/** A key name as findings print it: as written when it is a plain name, JSON-escaped otherwise. */
export function safeKeyName(name: string): string {
  return /^[A-Za-z0-9_.:\-]{1,200}$/.test(name) ? name : printable(JSON.stringify(name.slice(0, 200)));
}

/**
 * One set of rules for every text key, before any key's own grammar: a longest value
 * (MAX_LENGTH), no control, invisible or non-ASCII space characters, no password inside a URL,
 * and a credential key only as a secret. Each refuses the key once, naming it and never
 * echoing what could be secret.
 */
/** Keys whose value is a file's text (PEM certificates, env files): line breaks are its grammar, every other rule holds. */
const MULTI_LINE_KEYS: ReadonlySet<TextKey> = new Set<TextKey>(["acmeCaCertificate", "backendSecretEnv", "frontendSecretEnv"]);

function checkText(r: Reader, config: RawConfig): void {
  for (const name of Object.keys(MAX_LENGTH) as TextKey[]) {
    const key = configKey(name);
    const value = config[key];
    if (value === undefined || r.unreadable.has(key)) continue;
    const credential = isCredentialKey(key);
    const max = MAX_LENGTH[name];
    if (value.length > max) {
      r.refuse(name, `got ${value.length} characters${credential ? "" : ` (${shownValue(key, value.slice(0, 40))}...)`}; allowed: ${allowedText(name)}`);
    } else if (UNSAFE_CHARACTER.test(MULTI_LINE_KEYS.has(name) ? value.replace(/\r?\n/g, "") : value)) {
      const at = (MULTI_LINE_KEYS.has(name) ? value.replace(/\r?\n/g, " ") : value).search(UNSAFE_CHARACTER);
      const code = value.codePointAt(at)!.toString(16).toUpperCase().padStart(4, "0");
      r.refuse(name, `got ${credential ? "a value (not shown)" : `${shownValue(key, value)}`} with the invisible or control character U+${code}${credential ? "" : ` at position ${at + 1}`}; allowed: ${allowedText(name)}, in printable characters (no tabs, line breaks, zero-width or non-ASCII spaces)`);
    } else if (hasUrlPassword(value)) {
      r.refuse(name, `got ${credential ? "a URL" : shownValue(key, value)} with a password in it (not shown); allowed: ${allowedText(name)}, without user:password@: a password in a URL lands in a service's environment and in every log that prints it`);
    } else if (credential && value !== "" && !r.isSecure(name)) {
      r.refuse(name, `got a plaintext value (not shown): a credential in the stack file is readable by anyone with the repository; allowed: an encrypted value: pulumi config set --secret ${key} <value> (it replaces the plaintext line in Pulumi.<stack>.yaml)`);
    }
  }
}

function checkKeyNames(r: Reader, config: RawConfig): void {
  const known = new Set(CONFIG_KEY_NAMES.map(configKey));
  for (const name of Object.keys(config)) {
    const namespace = name.includes(":") ? name.slice(0, name.indexOf(":")) : "";
    if (namespace === PROJECT ? known.has(name) : KNOWN_NAMESPACES.includes(namespace)) continue;
    const near = nearestKey(name);
    const scope = namespace === PROJECT ? "a key Pulumi.yaml declares" : `a key in the ${PROJECT} namespace or a provider's (${KNOWN_NAMESPACES.join(", ")})`;
    const allowed = near ? `${scope}; did you mean ${near}?` : `${scope}: ${CONFIG_KEY_NAMES.map(configKey).join(", ")}`;
    // The value is never shown: a misspelt key is as likely to hold a password as any other.
    r.findings.push(error(safeKeyName(name), `got an unknown key (its value is not shown: it may be a credential); allowed: ${allowed}`));
  }
}

/** Slack incoming webhooks, Discord webhooks, or anything else Alertmanager can POST JSON to. */
export function alertReceiverKind(url: string): AlertReceiverKind | undefined {
  if (url === "") return "none";
  // Set with --secret and not decrypted offline: a receiver exists, its kind is known at deploy time.
  if (url === UNDECRYPTED_SECRET) return "webhook";
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
  // Below ~512 MiB the size limit would delete blocks faster than Prometheus compacts them. Above
  // 2^63 - 1 bytes Prometheus's flag parser (alecthomas/units Base2Bytes, an int64) overflows.
  if (retentionSizeMiB === undefined || retentionSizeMiB < 512) r.fail("prometheusStorage", storage);
  else if (BigInt(retentionSizeMiB) * 1048576n > PROM_MAX_BYTES) r.fail("prometheusStorage", storage, `${allowedText("prometheusStorage")}; at most 8 EiB, the int64 of bytes Prometheus's --storage.tsdb.retention.size parses into`);

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
  if (postgres !== undefined && postgresMajor(postgres) === undefined) r.fail("postgresImage", postgres, "a postgres image tagged with its major version, e.g. postgres:15.20");
  // The stack renders Traefik v3's flags and labels (model/render/traefik.ts); v2 refuses them
  // (e.g. the v3-only rule syntax) or reads them differently. A tag that states a version states 3.
  const traefik = images.traefikImage;
  const traefikMajor = traefik === undefined ? undefined : /^v?(\d+)(?:\.|$|-)/.exec(parseImageReference(traefik)?.tag ?? "")?.[1];
  if (traefik !== undefined && traefikMajor !== undefined && traefikMajor !== "3") {
    images.traefikImage = r.fail("traefikImage", traefik, `${allowedText("traefikImage")}; a Traefik 3 image (tag v3.x): the stack's static flags and router labels are Traefik v3's, and v${traefikMajor} does not read them`);
  }
  return images as Partial<Images>;
}

/** An https:// ACME directory: Traefik's lego client refuses plain http for the CA server. */
function readAcmeServer(r: Reader): string | undefined {
  const value = r.raw("acmeServer");
  const url = value === undefined ? undefined : httpUrl(value);
  // No credentials in the URL (they would land in Traefik's args, visible to `docker service inspect`).
  return url && url.protocol === "https:" && url.username === "" && url.password === "" ? value : r.fail("acmeServer", value);
}

/**
 * One or more PEM certificates that parse as X.509 (node's crypto), nothing else in between: the
 * value becomes a file Traefik's resolver reads with `caCertificates`, and a broken one would only
 * show as a failed TLS handshake with the ACME server in Traefik's log.
 */
function readPemCertificates(r: Reader, name: ConfigKey): string | undefined {
  const value = r.optional(name);
  if (value === undefined) return undefined;
  const blocks = value.trim().split(/(?<=-----END CERTIFICATE-----)\s*/).filter((b) => b !== "");
  const valid =
    blocks.length > 0 &&
    blocks.every((b) => {
      if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----$/.test(b)) return false;
      try {
        return new X509Certificate(b).ca;
      } catch {
        return false;
      }
    });
  // The value is a certificate, not a secret, but it can be long: the error shows its start only.
  return valid ? `${blocks.join("\n")}\n` : r.fail(name, value.length > 60 ? `${value.slice(0, 60)}...` : value);
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
  // A line break or any other control character was refused with every text key (checkText).
  return !(value === undefined || value === "");
}

/** A credential's value is never echoed: the error says what is wrong with it, not what it is. */
function readCredential(r: Reader, name: ConfigKey, valid: (value: string) => boolean): boolean {
  const value = r.raw(name);
  // Set with --secret but not decrypted (the offline plan): set, and checked at deploy time.
  if (value === undefined || value === "") return r.isSecure(name);
  if (!valid(value)) {
    r.findings.push(error(configKey(name), `got a value that is not allowed (not shown: the key holds a credential); allowed: ${CONFIG_KEYS[name].allowed}`));
    return false;
  }
  return true;
}

/** The backup keys of the PITR / s3-compatible / Object Lock block (model/config/keys.ts). */
function readBackupExtras(r: Reader, config: RawConfig) {
  const noBreak = (v: string) => !/[\r\n]/.test(v);
  const region = r.optional("backupRegion");
  if (region !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) r.fail("backupRegion", region);
  const image = r.optional("backupPitrImage");
  const keyId = readCredential(r, "backupAccessKeyId", (v) => noBreak(v) && !/\s/.test(v));
  const secretKey = readCredential(r, "backupSecretAccessKey", noBreak);
  return {
    storage: r.oneOf("backupStorage", BACKUP_STORAGES),
    region: region ?? config["aws:region"] ?? undefined,
    accessKeySet: keyId && secretKey,
    encryptionKeySet: readCredential(r, "backupEncryptionKey", (v) => noBreak(v) && v.length >= 32),
    objectLock: r.oneOf("backupObjectLock", OBJECT_LOCK_SETTINGS),
    pitr: {
      enabled: r.boolean("backupPitrEnabled"),
      image: image === undefined ? undefined : isPinnedImage(image) ? image : r.fail("backupPitrImage", image),
      archiveTimeoutSeconds: r.integer("backupArchiveTimeoutSeconds", 10, 3600),
      fullSchedule: r.matching("backupFullSchedule", /^(\S+\s+){4}\S+$/),
      retentionDays: r.integer("backupPitrRetentionDays", 1, 3650),
      retentionFull: r.integer("backupPitrRetentionFull", 1, 100),
    },
  };
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

/**
 * PostgreSQL 15's reserved and type/function-name keywords (pg_get_keywords() catcode R and T, read
 * from a real 15 server): unquoted, none of them is a role or database name (`CREATE ROLE user` is
 * a syntax error), and IDENT promises a name that needs no quoting.
 */
export const PG_RESERVED_KEYWORDS: readonly string[] = [
  "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check", "collate", "column", "constraint", "create",
  "current_catalog", "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
  "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading",
  "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
  "session_user", "some", "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with",
  "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full", "ilike", "inner", "is", "isnull", "join", "left", "like",
  "natural", "notnull", "outer", "overlaps", "right", "similar", "tablesample", "verbose",
];
/** Databases PostgreSQL has already, and pg_hba.conf's database keywords (hba.c: all, sameuser, samerole, replication). */
const RESERVED_DATABASES = ["postgres", "template0", "template1", "sameuser", "samerole", "replication"];
/**
 * The superuser, the roles the stack creates for itself, and the names PostgreSQL refuses for a
 * role even quoted (user.c CreateRole: "role name \"%s\" is reserved" for public and none, and
 * the pg_ prefix of predefined roles) or reads as role specifications (current_user,
 * session_user, current_role, system_user).
 */
const RESERVED_ROLES = ["postgres", "public", "none", "current_user", "session_user", "current_role", "system_user", "replicator", "advwell_monitor"];

function readIdentifier(r: Reader, name: ConfigKey, reserved: readonly string[]): string | undefined {
  const value = r.matching(name, IDENT);
  if (value === undefined) return undefined;
  if (PG_RESERVED_KEYWORDS.includes(value)) return r.fail(name, value, `${allowedText(name)}; not a PostgreSQL reserved keyword (${value} needs quoting everywhere it appears)`);
  return reserved.includes(value) || value.startsWith("pg_") ? r.fail(name, value) : value;
}

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
    const special = specialUseSuffix(host);
    if (s.certificates === "letsencrypt" && special) {
      r.fail(name, host, `a public DNS name while ${configKey("certificates")} is letsencrypt (.${special} is a special-use or private name: Let's Encrypt cannot issue for ${host}); for development set ${configKey("certificates")}=default`);
    }
  }
  // Let's Encrypt refuses an account whose contact e-mail is at a name that is not public.
  const emailDomain = s.acmeEmail?.slice(s.acmeEmail.lastIndexOf("@") + 1);
  const emailSpecial = emailDomain === undefined ? undefined : specialUseSuffix(emailDomain);
  if (s.certificates === "letsencrypt" && emailSpecial) {
    r.fail("acmeEmail", s.acmeEmail, `${allowedText("acmeEmail")} at a public domain (.${emailSpecial} is a special-use or private name: Let's Encrypt refuses the account's contact); for development set ${configKey("certificates")}=default`);
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
  checkText(r, config);
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
    acmeServer: readAcmeServer(r),
    acmeCaCertificate: readPemCertificates(r, "acmeCaCertificate"),
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
    dataNetworkEncrypted: r.boolean("dataNetworkEncrypted"),
    backup: {
      enabled: r.boolean("backupEnabled"),
      // Five fields separated by ASCII spaces, of the characters cron uses (model/cron.ts says which it supports).
      schedule: r.matching("backupSchedule", /^ *[A-Za-z0-9*,\/-]+( +[A-Za-z0-9*,\/-]+){4} *$/),
      bucketName: r.optional("backupBucketName"),
      prefix: r.matching("backupPrefix", /^[a-z0-9][a-z0-9-_/]*[a-z0-9]$/),
      retentionDays: r.integer("backupRetentionDays", 1, 3650),
      transitionDays: r.integer("backupTransitionDays", 1, 3650),
      noncurrentDays: r.integer("backupNoncurrentDays", 1, 3650),
      kmsKeyArn: r.optional("backupKmsKeyArn"),
      endpointUrl: endpoint === undefined ? undefined : httpUrl(endpoint) ? endpoint : r.fail("backupEndpointUrl", endpoint),
      ...readBackupExtras(r, config),
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
  // The s3-compatible mode creates nothing in AWS and signs for its own region.
  if (settings.backup.enabled === true && settings.backup.storage === "aws" && !config["aws:region"]) {
    r.findings.push(error("aws:region", `got undefined; allowed: an AWS region such as sa-east-1 (the backup bucket and job need it while ${configKey("backupEnabled")} is true; set it in Pulumi.${stack}.yaml)`));
  }
  if (r.findings.length > 0) return { findings: r.findings };
  return { settings: all as Settings, findings: [] };
}

export { postgresMajor, SERVICE_NAMES };
export type { ServiceName };
