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
  backendImage: { type: "string", default: "tomautomations/advwell-backend:v52", invalid: "tomautomations/advwell-backend:latest", allowed: IMAGE, description: "Backend image with a pinned tag or digest (never latest)." },
  frontendImage: { type: "string", default: "tomautomations/advwell-frontend:v67", invalid: "tomautomations/advwell-frontend", allowed: IMAGE, description: "Frontend image with a pinned tag or digest (never latest)." },
  postgresImage: { type: "string", default: "postgres:15.10-bookworm", invalid: "postgres:bookworm", allowed: `${IMAGE}, its tag starting with the PostgreSQL major (e.g. postgres:15.10)`, description: "PostgreSQL image; its major version also picks the backup job's pg_dump." },
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
