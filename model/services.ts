/**
 * The one table of services. Every service the stack can run is a row: its resources per tier,
 * whether it runs, how many tasks, how it updates, how it is checked, where it runs, how long it
 * may take to stop, its port and the config key of its image. `planServices` (model/plan/services.ts)
 * plans every row the same way; node fit, the connection budget, the alert rules and the
 * components all read the result.
 *
 * Adding a service (a Redis, say) is a row here, an image key in model/config/keys.ts (and
 * Pulumi.yaml), and a small component that maps the row's ServicePlan onto a docker.Service.
 */
import type { ConfigKey } from "./config/keys";
import type { NetworkName } from "./networks";
import { BACKUP, PGBOUNCER, Resources, SEED_BACKEND, SEED_FRONTEND, TierSpec, TRAEFIK } from "./tiers";

export const SERVICE_NAMES = [
  "postgres",
  "backend",
  "frontend",
  "traefik",
  "docker-socket-proxy",
  "pgbouncer",
  "postgres-replica",
  "postgres-reconcile",
  "backup",
  "prometheus",
  "grafana",
  "alertmanager",
  "postgres-exporter",
  "node-exporter",
  "cadvisor",
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

export interface HealthPlan {
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

export interface RestartPlan {
  readonly condition: "on-failure" | "any";
  readonly delaySeconds: number;
  /** 0 means unlimited. */
  readonly maxAttempts: number;
  readonly windowSeconds: number;
}

/** What a row may look at to decide whether it runs and how many tasks it has. */
export interface ServiceContext {
  readonly tier: TierSpec;
  readonly backupEnabled: boolean;
  readonly monitoringEnabled: boolean;
}

/**
 * - `replicated`: the tier's replica count, overridable (`<service>.replicas`).
 * - `singleton`: exactly one task; `reason` says why (shown when an override asks for more).
 * - `global`: one task on every node (Swarm `mode: global`).
 */
export type ServiceMode =
  | { readonly kind: "replicated"; readonly replicas: (tier: TierSpec) => number }
  | { readonly kind: "singleton"; readonly reason: string }
  | { readonly kind: "global" };

/**
 * Where tasks run, as node labels the plan asks operators to set:
 * - `primary`/`replica`: the node labelled advwell.postgres=primary|replica (holds the data volume);
 * - `managers`: manager nodes (Traefik reads the Swarm API and binds the host's ports there);
 * - `data-node`: the first manager, where the provider creates the service's data volume;
 * - `spread`: any node, spread by the advwell.node label;
 * - `every-node`: global services, no constraint.
 */
export type PlacementKind = "primary" | "replica" | "managers" | "data-node" | "spread" | "every-node";

/** The user an image's process reads its secret files as; they are mounted 0400, owned by it. */
export interface SecretReader {
  readonly uid: number;
  readonly gid: number;
  /** Which user of which image, and where that was read. */
  readonly user: string;
}

/** Images whose process starts as root (or stays root) and reads its secrets so. */
const ROOT: SecretReader = { uid: 0, gid: 0, user: "root" };
/** The official postgres image (Debian): `useradd -r -g postgres --uid=999`; its entrypoint reads *_FILE as root, then again after gosu postgres. */
const POSTGRES_USER: SecretReader = { uid: 999, gid: 999, user: "postgres (official postgres image, uid/gid 999)" };

export interface ServiceRow {
  /** Shown apart in plan output: the application's services, or the monitoring that watches them. */
  readonly group: "application" | "monitoring";
  /** Limits and reservations per task, for a tier. */
  readonly resources: (tier: TierSpec) => Resources;
  readonly mode: ServiceMode;
  /** Whether the stack runs the service at all. */
  readonly enabled: (context: ServiceContext) => boolean;
  /**
   * `stop-first` for services that must never run two tasks at once: two postmasters on one data
   * directory corrupt it, a second Traefik cannot bind the host's ports, Prometheus, Grafana and
   * Alertmanager lock their data directories, and a global exporter would only double-count.
   */
  readonly order: "start-first" | "stop-first";
  readonly health: HealthPlan;
  readonly restart: RestartPlan;
  readonly placement: PlacementKind;
  /**
   * Seconds between the stop signal and a kill. Never left unset: the docker provider sends an
   * unset value as 0, and Swarm then kills right after the signal.
   */
  readonly stopGraceSeconds: number;
  /** The port the service listens on inside the overlay network (its software's default). */
  readonly port?: number;
  /** ...or the config key that sets it, for the application's own images. */
  readonly portKey?: "backendPort" | "frontendPort";
  /** The config key that names its image. */
  readonly imageKey: ConfigKey;
  /**
   * The overlay networks it joins for its own sake (model/networks.ts), the one Traefik reaches it
   * on first; model/plan/networks.ts adds `monitoring` to whatever Prometheus scrapes or Traefik routes there.
   */
  readonly networks: readonly NetworkName[];
  /** Who reads its Swarm secret files (absent: it mounts none). */
  readonly secretReader?: SecretReader;
}

const ALWAYS = () => true;
const MONITORING = (c: ServiceContext) => c.monitoringEnabled;
const fixed = (resources: Resources) => () => resources;

/** Seed: on-failure, 3 attempts, 5 s delay for Postgres; the window makes it "3 per 2 minutes", not "3 ever". */
const DATABASE_RESTART: RestartPlan = { condition: "on-failure", delaySeconds: 5, maxAttempts: 3, windowSeconds: 120 };
const ALWAYS_RESTART: RestartPlan = { condition: "any", delaySeconds: 5, maxAttempts: 0, windowSeconds: 0 };

/** Monitoring checks every 30 s; the seed checks the application every 10 s. */
const monitoringHealth = (startPeriodSeconds: number): HealthPlan => ({ intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds });

/**
 * Monitoring resources are sized from the software's usual footprint at this scale (about 20
 * scrape targets, some 30k series); reservations near their idle use, so the node-fit check
 * counts what they hold. Prometheus: ~3 KiB per head series plus query buffers. cAdvisor: ~50-150
 * MiB with a few dozen containers. The exporters and Alertmanager idle under 30 MiB.
 */
export const SERVICE_TABLE: { readonly [N in ServiceName]: ServiceRow } = {
  postgres: {
    group: "application",
    resources: (tier) => tier.postgres,
    mode: { kind: "singleton", reason: "a second postmaster on the same data volume corrupts it; scale reads with postgres-replica" },
    enabled: ALWAYS,
    order: "stop-first",
    // Swarm publishes a task (DNS, VIP) only once it is healthy, and Docker runs the first check one
    // interval after start (the provider has no start_interval for services): a 1 s interval keeps a
    // planned restart's outage under 5 s (the day-2 drill measured 5.1 s with 2 s: stop, start, and
    // the new task waited 2.0 s for its first check). The probe reads postmaster.pid (no
    // connection, so no log line), and 10 misses in a row (10 s) are needed to call it unhealthy,
    // so a slow moment under load does not flap it.
    health: { intervalSeconds: 1, timeoutSeconds: 5, retries: 10, startPeriodSeconds: 60 },
    restart: DATABASE_RESTART,
    placement: "primary",
    // A fast shutdown writes a checkpoint; a kill before it ends forces crash recovery.
    stopGraceSeconds: 120,
    port: 5432,
    imageKey: "postgresImage",
    networks: ["data"],
    secretReader: POSTGRES_USER,
  },
  backend: {
    group: "application",
    resources: fixed(SEED_BACKEND),
    mode: { kind: "replicated", replicas: (tier) => tier.backendReplicas },
    enabled: ALWAYS,
    order: "start-first",
    // Seed: health checks every 10 s. Swarm routes to a task (DNS, VIP) only once its first check
    // has passed, and Docker runs that check one interval after start (no start_interval on this
    // engine or in the provider): at 10 s a new backend stayed unreachable 10 s after it was up,
    // 12-15 s of the takeover's window. Every 2 s, with 15 misses (30 s, as before) to be unhealthy,
    // a slow moment does not flap it. The start period gives Prisma time to boot.
    health: { intervalSeconds: 2, timeoutSeconds: 5, retries: 15, startPeriodSeconds: 30 },
    restart: ALWAYS_RESTART,
    placement: "spread",
    stopGraceSeconds: 30,
    portKey: "backendPort",
    imageKey: "backendImage",
    networks: ["edge", "data"],
    secretReader: { uid: 1000, gid: 1000, user: "node (the official node image's user, uid/gid 1000; the backend image is built elsewhere: if it runs as root, root reads the file too)" },
  },
  frontend: {
    group: "application",
    resources: fixed(SEED_FRONTEND),
    mode: { kind: "replicated", replicas: (tier) => tier.frontendReplicas },
    enabled: ALWAYS,
    order: "start-first",
    health: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
    restart: ALWAYS_RESTART,
    placement: "spread",
    stopGraceSeconds: 30,
    portKey: "frontendPort",
    imageKey: "frontendImage",
    networks: ["edge"],
  },
  traefik: {
    group: "application",
    resources: fixed(TRAEFIK),
    mode: { kind: "singleton", reason: "it binds the host's ports 80 and 443 in host mode" },
    enabled: ALWAYS,
    order: "stop-first",
    health: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
    restart: ALWAYS_RESTART,
    placement: "managers",
    // Traefik's own graceTimeOut for in-flight requests is 10 s.
    stopGraceSeconds: 30,
    imageKey: "traefikImage",
    // edge first: Traefik's --providers.swarm.network (components/traefik.ts takes the first).
    networks: ["edge", "docker-api"],
    secretReader: ROOT,
  },
  // Traefik's only way to the Docker API (issue 22 item 8): a read-only bind of the socket does not
  // limit the API (POST /containers/create still works through it), so HAProxy in front of it
  // passes only the GETs the Swarm provider makes (traefik pkg/provider/docker/pswarm.go
  // listServices/listTasks: /version, /services, /networks, /tasks) and answers 403 to the rest.
  // On a manager: the Swarm API answers only there, and any manager's answer is the same.
  "docker-socket-proxy": {
    group: "application",
    resources: fixed({ cpuLimit: 0.1, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 16 }),
    mode: { kind: "singleton", reason: "Traefik reaches it by name, and every manager answers the Swarm API the same" },
    enabled: ALWAYS,
    // Start-first: Traefik keeps a path to the API while the proxy is replaced (it has no host port).
    order: "start-first",
    health: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 },
    restart: ALWAYS_RESTART,
    placement: "managers",
    stopGraceSeconds: 10,
    port: 2375,
    imageKey: "dockerSocketProxyImage",
    networks: ["docker-api"],
  },
  pgbouncer: {
    group: "application",
    resources: fixed(PGBOUNCER),
    mode: { kind: "singleton", reason: "its pool limits are per process, and the plan sizes PostgreSQL's connections for one" },
    enabled: (c) => c.tier.pgbouncer,
    order: "start-first",
    health: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
    restart: ALWAYS_RESTART,
    placement: "spread",
    stopGraceSeconds: 30,
    port: 6432,
    imageKey: "pgbouncerImage",
    networks: ["data"],
    secretReader: { uid: 70, gid: 70, user: "postgres (edoburu/pgbouncer, Alpine's postgres user, uid/gid 70)" },
  },
  "postgres-replica": {
    group: "application",
    resources: (tier) => tier.postgres,
    mode: { kind: "replicated", replicas: (tier) => tier.readReplicas },
    enabled: (c) => c.tier.readReplicas > 0,
    order: "stop-first",
    // A replica's first start clones the primary with pg_basebackup before it answers.
    health: { intervalSeconds: 5, timeoutSeconds: 5, retries: 5, startPeriodSeconds: 300 },
    restart: DATABASE_RESTART,
    placement: "replica",
    stopGraceSeconds: 120,
    port: 5432,
    imageKey: "postgresImage",
    networks: ["data"],
    secretReader: POSTGRES_USER,
  },
  "postgres-reconcile": {
    group: "application",
    // psql and bash, idle between passes.
    resources: fixed({ cpuLimit: 0.1, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 16 }),
    mode: { kind: "singleton", reason: "one reconciler converges the roles; a second would only repeat its idempotent statements" },
    enabled: ALWAYS,
    order: "start-first",
    // Healthy once a pass succeeded; the start period covers a first PostgreSQL start. The check
    // reads a marker file (reconcile.sh health), so every second costs nothing, and `pulumi up`
    // (and the takeover's window) waits for its first healthy check: 1 s after the pass, not 5.
    health: { intervalSeconds: 1, timeoutSeconds: 5, retries: 15, startPeriodSeconds: 120 },
    restart: ALWAYS_RESTART,
    placement: "spread",
    stopGraceSeconds: 10,
    imageKey: "postgresImage",
    networks: ["data"],
    secretReader: ROOT,
  },
  backup: {
    group: "application",
    resources: fixed(BACKUP),
    mode: { kind: "singleton", reason: "two schedulers would take every backup twice" },
    enabled: (c) => c.backupEnabled,
    order: "stop-first",
    health: { intervalSeconds: 60, timeoutSeconds: 10, retries: 3, startPeriodSeconds: 30 },
    restart: ALWAYS_RESTART,
    // Beside the primary: the dump stays on the node, and the job writes its last-success metric
    // into the textfile volume the stack declares on that node.
    placement: "primary",
    // A stop during a run lets the dump finish (containers/backup/backup.sh).
    stopGraceSeconds: 600,
    imageKey: "backupImage",
    networks: ["data"],
    // pitr.sh runs pgBackRest as the data directory's owner (uid/gid 999) and it reads its conf
    // secret; the dump job runs as root, which reads any file.
    secretReader: { uid: 999, gid: 999, user: "the data directory's owner (uid/gid 999), which pitr.sh runs pgBackRest as; the dump job is root" },
  },
  prometheus: {
    group: "monitoring",
    resources: fixed({ cpuLimit: 1, memoryLimitMiB: 1024, cpuReservation: 0.1, memoryReservationMiB: 256 }),
    mode: { kind: "singleton", reason: "it owns its data volume" },
    enabled: MONITORING,
    order: "stop-first",
    // Prometheus may replay a large WAL before it is ready.
    health: monitoringHealth(120),
    restart: ALWAYS_RESTART,
    placement: "data-node",
    // It flushes its head block on shutdown.
    stopGraceSeconds: 120,
    port: 9090,
    imageKey: "prometheusImage",
    networks: ["monitoring"],
  },
  grafana: {
    group: "monitoring",
    resources: fixed({ cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.05, memoryReservationMiB: 96 }),
    mode: { kind: "singleton", reason: "it owns its data volume" },
    enabled: MONITORING,
    order: "stop-first",
    health: monitoringHealth(60),
    restart: ALWAYS_RESTART,
    placement: "data-node",
    stopGraceSeconds: 30,
    port: 3000,
    imageKey: "grafanaImage",
    networks: ["monitoring"],
    secretReader: { uid: 472, gid: 0, user: "grafana (grafana/grafana: GF_UID 472, GF_GID 0 in its Dockerfile)" },
  },
  alertmanager: {
    group: "monitoring",
    resources: fixed({ cpuLimit: 0.2, memoryLimitMiB: 128, cpuReservation: 0.01, memoryReservationMiB: 32 }),
    mode: { kind: "singleton", reason: "it owns its data volume (and its HA gossip is switched off)" },
    enabled: MONITORING,
    order: "stop-first",
    health: monitoringHealth(20),
    restart: ALWAYS_RESTART,
    placement: "data-node",
    stopGraceSeconds: 30,
    port: 9093,
    imageKey: "alertmanagerImage",
    networks: ["monitoring"],
    secretReader: { uid: 65534, gid: 65534, user: "nobody (prom/alertmanager: USER nobody)" },
  },
  "postgres-exporter": {
    group: "monitoring",
    resources: fixed({ cpuLimit: 0.2, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 24 }),
    mode: { kind: "singleton", reason: "a second exporter would only double the scrape" },
    enabled: MONITORING,
    order: "start-first",
    health: monitoringHealth(10),
    restart: ALWAYS_RESTART,
    placement: "spread",
    stopGraceSeconds: 10,
    port: 9187,
    imageKey: "postgresExporterImage",
    networks: ["monitoring", "data"],
    secretReader: { uid: 65534, gid: 65534, user: "nobody (postgres-exporter: USER nobody)" },
  },
  "node-exporter": {
    group: "monitoring",
    resources: fixed({ cpuLimit: 0.2, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 24 }),
    mode: { kind: "global" },
    enabled: MONITORING,
    order: "stop-first",
    health: monitoringHealth(10),
    restart: ALWAYS_RESTART,
    placement: "every-node",
    stopGraceSeconds: 10,
    port: 9100,
    imageKey: "nodeExporterImage",
    networks: ["monitoring"],
  },
  cadvisor: {
    group: "monitoring",
    resources: fixed({ cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.05, memoryReservationMiB: 96 }),
    mode: { kind: "global" },
    enabled: MONITORING,
    order: "stop-first",
    health: monitoringHealth(30),
    restart: ALWAYS_RESTART,
    placement: "every-node",
    stopGraceSeconds: 10,
    port: 8080,
    imageKey: "cadvisorImage",
    networks: ["monitoring"],
  },
};
