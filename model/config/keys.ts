/**
 * Every `advwell:` config key, once: its Pulumi type, default, description (what Pulumi.yaml
 * declares; a test holds the two equal) and what a valid value is (the text every error about
 * the key quotes). `model/config/settings.ts` validates each key against this table.
 */

export const PROJECT = "advwell";

export type ConfigType = "string" | "integer" | "boolean" | "array";

export interface ConfigKeySpec {
  readonly type: ConfigType;
  readonly default: string | number | boolean | readonly string[];
  readonly description: string;
  /** What a valid value is; every error about the key says it. */
  readonly allowed: string;
  /** A credential: set with `pulumi config set --secret`, never repeated in an error. */
  readonly secret?: true;
  /** A value the validator refuses: the README's config table shows the error it gets. */
  readonly invalid: string;
}

const IMAGE = "an image reference with a pinned tag or digest (Docker's grammar, registry and port allowed), never :latest or untagged";

export const CONFIG_KEYS = {
  tier: { type: "string", default: "starter", invalid: "huge", allowed: "starter, growth, scale, business, enterprise", description: "Capacity tier: starter (1-20 companies), growth (21-50), scale (51-100), business (101-200, PgBouncer), enterprise (201+, PgBouncer and a read replica)." },
  environment: { type: "string", default: "production", invalid: "prod", allowed: "production, staging, development", description: "production, staging or development. Production warns on single replicas and protects the backup bucket." },
  apiDomain: { type: "string", default: "api.advwell.pro", invalid: "API.advwell.pro", allowed: "a lower-case DNS name such as api.advwell.pro", description: "Host name Traefik routes to the backend." },
  appDomain: { type: "string", default: "app.advwell.pro", invalid: "app.advwell.localhost", allowed: "a lower-case DNS name such as app.advwell.pro", description: "Host name Traefik routes to the frontend." },
  dashboardDomain: { type: "string", default: "traefik.advwell.pro", invalid: "app.advwell.pro", allowed: "a lower-case DNS name such as traefik.advwell.pro", description: "Host name of the Traefik dashboard (TLS and basic auth; the password is a stack output secret)." },
  acmeEmail: { type: "string", default: "ops@advwell.pro", invalid: "o\"ps@advwell.pro", allowed: "an e-mail address for Let's Encrypt", description: "E-mail address Let's Encrypt registers certificates under." },
  certificates: { type: "string", default: "letsencrypt", invalid: "self-signed", allowed: "letsencrypt, default", description: "TLS certificates for the routers: letsencrypt (issued by Let's Encrypt through the TLS challenge; every host must be a public DNS name) or default (Traefik's own self-signed certificate, for development hosts such as *.localhost)." },
  acmeServer: { type: "string", default: "https://acme-v02.api.letsencrypt.org/directory", invalid: "http://acme-v02.api.letsencrypt.org/directory", allowed: "an https:// URL of an ACME directory, e.g. Let's Encrypt's https://acme-v02.api.letsencrypt.org/directory (the default) or its staging directory", description: "ACME directory Traefik asks for certificates (Let's Encrypt's production directory by default; its staging directory for a trial run)." },
  acmeCaCertificate: { type: "string", default: "", invalid: "not a certificate", allowed: "empty (the ACME server's HTTPS certificate chains to a public root), or PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) of the CA that signs the ACME server's HTTPS certificate", description: "Root certificate(s) Traefik trusts for the ACME server's HTTPS, for a private ACME server; empty for Let's Encrypt." },
  dockerSocketProxyImage: { type: "string", default: "tecnativa/docker-socket-proxy:0.3.0", invalid: "tecnativa/docker-socket-proxy", allowed: IMAGE, description: "Filtering Docker API proxy (HAProxy) between Traefik and the Docker socket: it passes only the read calls Traefik's Swarm provider makes." },
  backendImage: { type: "string", default: "tomautomations/advwell-backend:v52", invalid: "tomautomations/advwell-backend:latest", allowed: IMAGE, description: "Backend image with a pinned tag or digest (never latest)." },
  frontendImage: { type: "string", default: "tomautomations/advwell-frontend:v67", invalid: "tomautomations/advwell-frontend", allowed: IMAGE, description: "Frontend image with a pinned tag or digest (never latest)." },
  postgresImage: { type: "string", default: "postgres:15.20-bookworm", invalid: "postgres:bookworm", allowed: `${IMAGE}, its tag starting with the PostgreSQL major (e.g. postgres:15.20)`, description: "PostgreSQL image; its major version also picks the backup job's pg_dump. The default is the minor the settings catalog was read from (model/postgres/pg15-settings.json); the plan warns, naming the parameters that differ, when the tag is another minor." },
  pgbouncerImage: { type: "string", default: "edoburu/pgbouncer:1.23.1", invalid: "Edoburu/PgBouncer:1.23", allowed: IMAGE, description: "PgBouncer image, used by the tiers that pool connections." },
  traefikImage: { type: "string", default: "traefik:v3.2.3", invalid: "traefik", allowed: IMAGE, description: "Traefik v3 image." },
  nodes: { type: "array", default: ["name=vps-1,cpus=4,memory=16GiB,role=manager"], invalid: "[\"name=vps-1,cpus=0x10,memory=16GiB,role=manager\"]", allowed: "entries like name=vps-1,cpus=4,memory=16GiB,role=manager (role: manager or worker), at least one manager, unique names", description: "Swarm node inventory, one entry per node: name=<hostname>,cpus=<n>,memory=<size>,role=<manager|worker>. The first node holds the PostgreSQL primary, the second its replica." },
  overrides: { type: "array", default: [], invalid: "[\"backend.replicas=130000\"]", allowed: "entries like backend.replicas=4 (see the description for the paths)", description: "Per-service overrides of tier values, one path=value per entry: <service>.replicas|cpuLimit|memoryLimit|cpuReservation|memoryReservation, backend.nodeHeap, backend.connectionLimit, postgres.maxConnections, pgbouncer.poolSize, postgres.settings.<name>." },
  backendPort: { type: "integer", default: 3000, invalid: "0xBB8", allowed: "an integer from 1 to 65535", description: "Port the backend container listens on (its /health endpoint too)." },
  frontendPort: { type: "integer", default: 80, invalid: "65536", allowed: "an integer from 1 to 65535", description: "Port the frontend container listens on." },
  databaseName: { type: "string", default: "advtom", invalid: "template1", allowed: "a lower-case PostgreSQL identifier other than postgres, template0 and template1", description: "Application database name." },
  databaseUser: { type: "string", default: "advwell", invalid: "postgres", allowed: "a lower-case PostgreSQL identifier that is not postgres, a pg_ role, or a role the stack creates (replicator, advwell_monitor)", description: "Application database role (the superuser is only used for bootstrap and backups)." },
  adoptPostgresVolume: { type: "string", default: "", invalid: "advtom postgres data", allowed: "empty, or the name of an existing Docker volume (letters, digits, _ . -) holding a PostgreSQL data directory at its root, as the official image and the seed's stack keep it", description: "Take over an existing PostgreSQL data volume (e.g. advtom_postgres_data of the seed's `docker stack deploy`) instead of creating advwell-postgres-data: it is imported, protected and kept on delete. Needs adoptPostgresMajor and postgresSuperuserPassword." },
  adoptPostgresMajor: { type: "integer", default: 0, invalid: "14", allowed: "0 (not adopting), or the major version of the adopted data directory (its PG_VERSION file), which must equal postgresImage's", description: "Major version of the adopted data directory (cat $PGDATA/PG_VERSION in the old container). PostgreSQL refuses a data directory of another major, so the plan refuses the mismatch first." },
  postgresSuperuserPassword: { type: "string", default: "", secret: true, invalid: "line\nbreak", allowed: "empty (a generated password), or the existing cluster's superuser password, set with pulumi config set --secret (one line)", description: "The superuser's password. Empty: Pulumi generates one and initdb sets it. When adopting a cluster, its existing superuser password (POSTGRES_PASSWORD in the old .env): an initialised cluster ignores POSTGRES_PASSWORD_FILE. A credential: set it with `pulumi config set --secret`." },
  // The app's own environment (model/config/appEnv.ts): takeover step 0 fills these from the live services (scripts/import-env.ts).
  backendEnv: { type: "array", default: [], invalid: "[\"DATABASE_URL=postgresql://db/advtom\"]", allowed: "entries NAME=value, one per variable: a shell variable name that the stack does not set (not DATABASE_URL, DIRECT_DATABASE_URL, DATABASE_REPLICA_URL, NODE_ENV, PORT, NODE_OPTIONS, a *_FILE or ADVWELL_* name) and that holds no credential (those go in backendSecretEnv)", description: "The backend's own plain environment variables, one NAME=value per entry (mail host, storage bucket, feature flags). Credentials go in backendSecretEnv." },
  backendSecretEnv: { type: "string", default: "", secret: true, invalid: "JWT_SECRET", allowed: "empty, or an env file (NAME=value lines, # comments; values literal) set with pulumi config set --secret advwell:backendSecretEnv < file; names as for backendEnv", description: "The backend's secret environment variables as an env file (NAME=value lines), set with `pulumi config set --secret advwell:backendSecretEnv < backend.env`. Each variable becomes its own Swarm secret, delivered as NAME_FILE and read into NAME by the backend's preload (containers/backend/secrets-env.js); never in the service spec's env." },
  frontendEnv: { type: "array", default: [], invalid: "[\"API_URL=https://api.example.com\"]", allowed: "entries NAME=value, one per variable: a shell variable name that the stack does not set (not API_URL, a *_FILE or ADVWELL_* name) and that holds no credential (those go in frontendSecretEnv)", description: "The frontend's own plain environment variables, one NAME=value per entry." },
  frontendSecretEnv: { type: "string", default: "", secret: true, invalid: "SENTRY_AUTH_TOKEN", allowed: "empty, or an env file (NAME=value lines, # comments; values literal) set with pulumi config set --secret advwell:frontendSecretEnv < file; names as for frontendEnv", description: "The frontend's secret environment variables as an env file (NAME=value lines), set with --secret. Each becomes its own Swarm secret, delivered as NAME_FILE (the image must read *_FILE variables); never in the service spec's env." },
  rateLimitAverage: { type: "integer", default: 100, invalid: "0", allowed: "an integer from 1 to 100000", description: "Traefik per-IP rate limit, average requests per second." },
  rateLimitBurst: { type: "integer", default: 200, invalid: "3e3", allowed: "an integer from 1 to 100000", description: "Traefik per-IP rate limit, burst size." },
  replicaDockerHost: { type: "string", default: "", invalid: "not a url", allowed: "empty, or a Docker endpoint such as ssh://deploy@vps-2.advwell.pro, tcp://10.0.0.2:2376 or unix:///var/run/docker.sock", description: "Docker endpoint of the read replica's node (e.g. ssh://deploy@vps-2.advwell.pro), so Pulumi creates and protects the replica's volume on that node. Tiers with a read replica warn while it is empty." },
  endpointMode: { type: "string", default: "vip", invalid: "ingress", allowed: "vip, dnsrr", description: "How services find each other on the overlay networks: vip (a virtual IP per service, load-balanced by the kernel's IPVS) or dnsrr (the service name resolves to its tasks' addresses; for kernels without IPVS, as on some VPS images)." },
  dataNetworkEncrypted: { type: "boolean", default: true, invalid: "yes", allowed: "true or false", description: "Encrypt the data network (SQL between PostgreSQL and its clients) between nodes with IPsec, the overlay driver's encrypted option. Turn off only where the kernel cannot do ESP with AES-GCM (Docker logs \"Failed Adding fSA ... function not implemented\" and cross-node SQL stops); the plan then warns." },
  backupEnabled: { type: "boolean", default: true, invalid: "yes", allowed: "true or false", description: "Run the scheduled pg_dump-to-S3 service and create the backup bucket." },
  backupSchedule: { type: "string", default: "0 2 * * *", invalid: "@daily", allowed: "a five-field cron expression in UTC, e.g. 0 2 * * *", description: "Cron schedule of the backup, in UTC (the seed intended daily at 02:00)." },
  backupBucketName: { type: "string", default: "", invalid: "My_Bucket", allowed: "empty, or an S3 bucket name", description: "Backup bucket name; empty generates a unique name from advwell-backups-<stack>-." },
  backupPrefix: { type: "string", default: "postgres", invalid: "/postgres/", allowed: "a lower-case S3 key prefix without leading or trailing slash", description: "Key prefix of backups; objects land at <prefix>/<stack>/<timestamp>.dump." },
  backupRetentionDays: { type: "integer", default: 60, invalid: "20", allowed: "an integer from 1 to 3650", description: "Days a backup is kept before the lifecycle rule expires it." },
  backupTransitionDays: { type: "integer", default: 30, invalid: "7", allowed: "an integer from 1 to 3650", description: "Days after which backups move to STANDARD_IA." },
  backupNoncurrentDays: { type: "integer", default: 7, invalid: "0", allowed: "an integer from 1 to 3650", description: "Days a noncurrent (overwritten) object version is kept." },
  backupKmsKeyArn: { type: "string", default: "", invalid: "alias/backups", allowed: "empty, or a KMS key ARN", description: "KMS key ARN for SSE-KMS; empty uses SSE-S3 (AES256)." },
  backupImage: { type: "string", default: "", invalid: "siemens/postgres-backup-s3", allowed: `empty, or ${IMAGE}`, description: "Backup job image with a pinned tag; empty uses siemens/postgres-backup-s3:<major of postgresImage>, so pg_dump matches the server. Set it for a mirror of that image." },
  backupEndpointUrl: { type: "string", default: "", invalid: "s3.example.com", allowed: "empty, or an http(s):// URL such as https://s3.example.com", description: "S3-compatible endpoint for the backup job (MinIO, Backblaze B2, a local rehearsal); empty uses AWS S3. The bucket and writer are still created through the aws provider: point aws:endpoints at the same service." },
  // Point-in-time recovery, client-side encryption, Object Lock and the S3-compatible mode (issue 26, issue 23's "mode without AWS resources", issue 22 item 7): one block.
  backupStorage: { type: "string", default: "aws", invalid: "minio", allowed: "aws (the stack creates the bucket and its writer) or s3-compatible (an existing bucket at advwell:backupEndpointUrl, keys from advwell:backupAccessKeyId/backupSecretAccessKey)", description: "aws: the stack creates the S3 bucket, its guards and an IAM writer. s3-compatible: no AWS resources; an existing bucket (backupBucketName) at backupEndpointUrl (Backblaze B2, Wasabi, Hetzner, MinIO, a local rehearsal) with keys set as secrets." },
  backupAccessKeyId: { type: "string", default: "", invalid: "AKIA EXAMPLE", secret: true, allowed: "empty, or an access key id without spaces or line breaks (set with pulumi config set --secret)", description: "s3-compatible mode: the bucket's access key id. A credential: set it with `pulumi config set --secret`." },
  backupSecretAccessKey: { type: "string", default: "", invalid: "line\nbreak", secret: true, allowed: "empty, or a secret key without line breaks (set with pulumi config set --secret)", description: "s3-compatible mode: the bucket's secret key. A credential: set it with `pulumi config set --secret`." },
  backupRegion: { type: "string", default: "", invalid: "Europe West", allowed: "empty, or a region name of lower-case letters, digits and hyphens (e.g. us-west-004, eu-central)", description: "s3-compatible mode: the region the endpoint signs requests for (Backblaze: us-west-004 and the like); empty uses aws:region, else us-east-1." },
  backupEncryptionKey: { type: "string", default: "", invalid: "short", secret: true, allowed: "empty (the stack generates one), or at least 32 characters without line breaks (set with pulumi config set --secret)", description: "Client-side encryption key of everything written to the bucket (dumps with gpg AES256, pgBackRest with aes-256-cbc). Empty: the stack generates one (stack output backupEncryptionKey): copy it somewhere outside the stack, or losing the stack loses every backup. A credential: set it with `pulumi config set --secret`." },
  backupObjectLock: { type: "string", default: "governance", invalid: "on", allowed: "governance, compliance or off", description: "aws mode: S3 Object Lock default retention on every object version, for max(backupRetentionDays, backupPitrRetentionDays) days, so the writer's keys cannot destroy a backup. governance: an admin with s3:BypassGovernanceRetention can still delete; compliance: nobody can, until retention ends." },
  backupPitrEnabled: { type: "boolean", default: false, invalid: "yes", allowed: "true or false", description: "Continuous WAL archiving and scheduled base backups with pgBackRest (point-in-time recovery). Needs backupPitrImage (PostgreSQL with pgBackRest) and an https endpoint. Turning it on restarts PostgreSQL once (archive_mode)." },
  backupPitrImage: { type: "string", default: "", invalid: "advwell/postgres-pitr", allowed: `empty, or ${IMAGE}`, description: "PostgreSQL image with pgBackRest (containers/pitr/Dockerfile, same PostgreSQL version as postgresImage), pinned; runs PostgreSQL and the base backups while backupPitrEnabled." },
  backupArchiveTimeoutSeconds: { type: "integer", default: 60, invalid: "5", allowed: "an integer from 10 to 3600", description: "archive_timeout: a WAL segment is closed and archived at least this often when there are writes, bounding the data lost with the node (RPO)." },
  backupFullSchedule: { type: "string", default: "30 3 * * *", invalid: "@weekly", allowed: "a five-field cron expression in UTC, e.g. 30 3 * * *", description: "Cron schedule (UTC) of pgBackRest's full base backups; restores replay WAL from the newest one before the target." },
  backupPitrRetentionDays: { type: "integer", default: 14, invalid: "0", allowed: "an integer from 1 to 3650", description: "Days of point-in-time recovery kept: every moment of the last this-many days stays restorable." },
  backupPitrRetentionFull: { type: "integer", default: 2, invalid: "0", allowed: "an integer from 1 to 100", description: "At least this many full base backups are kept, whatever their age." },
  monitoringEnabled: { type: "boolean", default: true, invalid: "on", allowed: "true or false", description: "Run Prometheus, Alertmanager, Grafana, postgres-exporter, node-exporter and cAdvisor with the stack." },
  prometheusRetention: { type: "string", default: "15d", invalid: "15 days", allowed: "a Prometheus duration of at least 2h (the length of one TSDB block), e.g. 36h, 15d, 8w", description: "How long Prometheus keeps samples (a Prometheus duration: 12h, 15d, 8w)." },
  prometheusStorage: { type: "string", default: "10GiB", invalid: "100MiB", allowed: "a size of at least 512MiB, e.g. 10GiB", description: "Size at which Prometheus deletes its oldest blocks, whatever their age (retention size)." },
  grafanaDomain: { type: "string", default: "grafana.advwell.pro", invalid: "traefik.advwell.pro", allowed: "a lower-case DNS name such as grafana.advwell.pro", description: "Host name Traefik routes to Grafana (TLS, Grafana login, no anonymous access)." },
  alertWebhookUrl: { type: "string", default: "", invalid: "http://hooks.slack.com/services/T0/B0/secret-token", secret: true, allowed: "empty, or an https:// Slack (hooks.slack.com), Discord (discord.com/api/webhooks/...) or other webhook URL", description: "Slack, Discord or generic webhook URL for alerts; a credential: set it with `pulumi config set --secret`. Empty: alerts only show in Alertmanager and Grafana." },
  backendMetricsPath: { type: "string", default: "", invalid: "metrics", allowed: "empty, or a URL path such as /metrics", description: "Path of the backend's Prometheus metrics (e.g. /metrics); empty when the backend exposes none." },
  prometheusImage: { type: "string", default: "prom/prometheus:v2.55.1", invalid: "prom/prometheus", allowed: IMAGE, description: "Prometheus image with a pinned tag or digest." },
  grafanaImage: { type: "string", default: "grafana/grafana:11.3.1", invalid: "grafana/grafana:latest", allowed: IMAGE, description: "Grafana image with a pinned tag or digest." },
  alertmanagerImage: { type: "string", default: "prom/alertmanager:v0.27.0", invalid: "prom/alertmanager", allowed: IMAGE, description: "Alertmanager image with a pinned tag or digest." },
  postgresExporterImage: { type: "string", default: "prometheuscommunity/postgres-exporter:v0.16.0", invalid: "prometheuscommunity/postgres-exporter", allowed: IMAGE, description: "postgres-exporter image with a pinned tag or digest." },
  nodeExporterImage: { type: "string", default: "prom/node-exporter:v1.8.2", invalid: "prom/node-exporter:latest", allowed: IMAGE, description: "node-exporter image with a pinned tag or digest (runs on every node)." },
  cadvisorImage: { type: "string", default: "gcr.io/cadvisor/cadvisor:v0.49.1", invalid: "gcr.io/cadvisor/cadvisor", allowed: IMAGE, description: "cAdvisor image with a pinned tag or digest (runs on every node)." },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

/** The keys whose values are text (strings and lists): each has a longest value, below. */
export type TextKey = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K]["type"] extends "string" | "array" ? K : never }[ConfigKey];

const DNS_NAME = 253; // RFC 1035: 255 octets on the wire, 253 characters written
const IMAGE_REFERENCE = 512; // distribution/reference: a name of at most 255, a tag of 128, a digest (sha512: 135)
const URL = 2048; // what every HTTP stack in the path (Alertmanager, the aws CLI, Docker's client) takes without truncating
const WORD = 32; // closed sets: the longest member is far shorter

/**
 * The longest value each text key takes, one rule for all (an error names the key and the
 * limit): nothing unbounded reaches a resource. The figures come from what receives the value;
 * backupPrefix's is the one that mattered: it appears several times in the writer's IAM policy
 * (a 5,000-character prefix made a 15 kB policy; IAM's inline user policies stop at 2,048).
 * `satisfies` makes a new text key without a limit a compile error.
 */
export const MAX_LENGTH = {
  tier: WORD, environment: WORD, certificates: WORD, endpointMode: WORD,
  apiDomain: DNS_NAME, appDomain: DNS_NAME, dashboardDomain: DNS_NAME, grafanaDomain: DNS_NAME,
  acmeEmail: 254, // RFC 5321's path limit
  backendImage: IMAGE_REFERENCE, frontendImage: IMAGE_REFERENCE, postgresImage: IMAGE_REFERENCE, pgbouncerImage: IMAGE_REFERENCE, traefikImage: IMAGE_REFERENCE,
  backupImage: IMAGE_REFERENCE, prometheusImage: IMAGE_REFERENCE, grafanaImage: IMAGE_REFERENCE, alertmanagerImage: IMAGE_REFERENCE,
  postgresExporterImage: IMAGE_REFERENCE, nodeExporterImage: IMAGE_REFERENCE, cadvisorImage: IMAGE_REFERENCE,
  nodes: 16384, overrides: 16384, // JSON text of the list: hundreds of entries
  databaseName: 63, databaseUser: 63, // NAMEDATALEN - 1
  adoptPostgresVolume: 255,
  postgresSuperuserPassword: 1024,
  replicaDockerHost: URL, backupEndpointUrl: URL, alertWebhookUrl: URL,
  backupSchedule: 128,
  backupBucketName: 63, // S3's bucket-name limit
  backupPrefix: 128, // keys stay far under S3's 1,024 bytes; the IAM policy under 2,048 characters
  backupKmsKeyArn: 2048, // AWS's ARN limit
  prometheusRetention: WORD, prometheusStorage: WORD,
  backendMetricsPath: 1024,
  // The PITR / S3-compatible / Object Lock block.
  backupStorage: WORD, backupObjectLock: WORD, backupPitrImage: IMAGE_REFERENCE, backupFullSchedule: 128,
  backupRegion: 63,
  backupAccessKeyId: 128, backupSecretAccessKey: 256, // AWS: 20 and 40; B2, Wasabi, MinIO: a few dozen
  backupEncryptionKey: 1024,
  // The edge's ACME server and the Docker API proxy.
  acmeServer: URL,
  acmeCaCertificate: 65536, // a PEM bundle of a few CA certificates (about 2 KiB each)
  dockerSocketProxyImage: IMAGE_REFERENCE,
  // The app's environment: a JSON list of NAME=value entries, and an env file (a secret).
  backendEnv: 16384, frontendEnv: 16384,
  backendSecretEnv: 65536, frontendSecretEnv: 65536,
} as const satisfies Record<TextKey, number>;

/** What a valid value is, with the key's length limit when it has one: the text errors and the README quote. */
export function allowedText(name: ConfigKey): string {
  const max = (MAX_LENGTH as Partial<Record<ConfigKey, number>>)[name];
  return max === undefined ? CONFIG_KEYS[name].allowed : `${CONFIG_KEYS[name].allowed} (at most ${max} characters)`;
}

/** Whether the key holds a credential (set with --secret, never shown). */
export const isCredentialKey = (name: string): boolean => {
  const bare = name.startsWith(`${PROJECT}:`) ? name.slice(PROJECT.length + 1) : name;
  return Object.prototype.hasOwnProperty.call(CONFIG_KEYS, bare) && "secret" in CONFIG_KEYS[bare as ConfigKey];
};

/** `advwell:<name>`: how findings, the CLI and the engine name a key. */
export const configKey = (name: ConfigKey): string => `${PROJECT}:${name}`;

/** `advwell:overrides[<path>]`: the key a finding about one override entry names. */
export const overrideKey = (path: string): string => `${PROJECT}:overrides[${path}]`;

/** The defaults as the flat `advwell:<key>` map the engine hands a program (arrays as JSON). */
export function configDefaults(): Record<string, string> {
  return Object.fromEntries(
    CONFIG_KEY_NAMES.map((k) => {
      const value = CONFIG_KEYS[k].default;
      return [configKey(k), typeof value === "string" ? value : JSON.stringify(value)];
    }),
  );
}
