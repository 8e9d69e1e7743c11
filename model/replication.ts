/**
 * Streaming replication between the primary and its read replicas. Pure: names, the
 * replica's settings and the environment of the two shell scripts in containers/postgres/, which
 * are the single source of the bootstrap logic. Both are mounted verbatim; their inputs reach
 * them through the service's env. The integration test runs exactly those files.
 *
 * How it fits together (PostgreSQL 15 docs, "Log-Shipping Standby Servers" and "Hot Standby"):
 * - the primary (wal_level=replica, max_wal_senders, max_replication_slots; plan/postgres.ts) gets a
 *   REPLICATION role and one physical slot per replica task from the postgres-reconcile service
 *   (containers/postgres/reconcile.sh), and a `host replication` line in the pg_hba.conf the plan
 *   renders;
 * - each replica task clones the primary once with `pg_basebackup -X stream -S <slot> -R`, then
 *   runs as a hot standby; later starts reuse the data directory and resume from the slot.
 */
import { overrideKey } from "./config/keys";
import { error, Finding } from "./findings";
import type { BackendPlan, ServicePlan, ServicePlans } from "./plan/types";
import { derivePostgresSettings, shmSizeMiB } from "./postgres/tuning";
import { directDatabaseUrl, DatabaseUrlParts } from "./render/urls";

/** The role the replicas log in as; it has REPLICATION and nothing else. */
export const REPLICATION_USER = "replicator";
/** The primary's Swarm service name, which is its DNS name on the overlay network. */
export const PRIMARY_HOST = "postgres";
/** The replicas' Swarm service name; its DNS name load-balances over the replica tasks. */
export const REPLICA_HOST = "postgres-replica";
export const POSTGRES_PORT = 5432;

/** Swarm expands this in env values and mount sources per task (swarmkit template.ExpandContainerSpec). */
export const SWARM_TASK_SLOT = "{{.Task.Slot}}";

/** Where the volume is mounted and where PGDATA lives: the official image's layout, a subdirectory so initdb/pg_basebackup can own it. */
export const DATA_MOUNT_PATH = "/var/lib/postgresql/data";
export const PGDATA = `${DATA_MOUNT_PATH}/pgdata`;
/** Swarm secret file with the replicator's password, on the primary and on every replica. */
export const REPLICATION_PASSWORD_FILE = "/run/secrets/postgres-replication-password";
/**
 * The libpq password file the replica writes from the secret on every start (0600). It is
 * outside PGDATA and the volume, so a rotated secret takes effect on the next start and the
 * password never lands in the data directory.
 */
export const REPLICATION_PASSFILE = "/var/lib/postgresql/replication.pgpass";

/** How long a replica's first start waits for the primary before it fails (and Swarm restarts it). */
export const PRIMARY_WAIT_SECONDS = 240;

/**
 * Settings a hot standby must set to at least the primary's value, or it stops replaying WAL
 * ("Hot Standby", Administrator's Overview: max_connections, max_prepared_transactions,
 * max_locks_per_transaction, max_wal_senders, max_worker_processes).
 */
export const HOT_STANDBY_MINIMUMS = [
  "max_connections",
  "max_prepared_transactions",
  "max_locks_per_transaction",
  "max_wal_senders",
  "max_worker_processes",
] as const;

export type HotStandbyMinimum = (typeof HOT_STANDBY_MINIMUMS)[number];

/** PostgreSQL's defaults for the settings above, for comparing a set value with an unset one. */
const HOT_STANDBY_DEFAULTS: Record<HotStandbyMinimum, number> = {
  max_connections: 100,
  max_prepared_transactions: 0,
  max_locks_per_transaction: 64,
  max_wal_senders: 10,
  max_worker_processes: 8,
};

/** Settings derivePostgresSettings sizes from the container's memory and CPUs. */
const CONTAINER_SIZED = [
  "shared_buffers",
  "effective_cache_size",
  "maintenance_work_mem",
  "work_mem",
  "wal_buffers",
  "max_worker_processes",
  "max_parallel_workers",
  "max_parallel_workers_per_gather",
  "max_parallel_maintenance_workers",
  "huge_pages",
] as const;

export interface ReplicationPlan {
  /** The replica service's plan slice (replicas, resources, placement on the `replica` node). */
  readonly service: ServicePlan;
  readonly user: string;
  readonly primaryHost: string;
  readonly primaryPort: number;
  readonly replicaHost: string;
  /** One physical slot per replica task: `replica_<Task.Slot>`. */
  readonly slots: readonly string[];
  /** The slot name as the service's env carries it; Swarm fills in the task's slot number. */
  readonly slotTemplate: string;
  /** Local volume names, one per task slot, and the templated mount source that picks one. */
  readonly volumeNames: readonly string[];
  readonly volumeTemplate: string;
  /** Lines the primary's pg_hba.conf needs for the replicas. */
  readonly hbaLines: readonly string[];
  /** The replica's `postgres -c` settings. */
  readonly settings: Readonly<Record<string, string>>;
  /** /dev/shm for the replica's parallel queries; the primary's rule (plan.ts) on the replica's settings. */
  readonly shmSizeMiB: number;
}

export function replicationSlotName(taskSlot: number | string): string {
  return `replica_${taskSlot}`;
}

export function replicaVolumeName(taskSlot: number | string): string {
  return `advwell-${REPLICA_HOST}-data-${taskSlot}`;
}

/**
 * `samenet` admits only addresses on a subnet the primary's container is attached to (the
 * stack's overlay network), with SCRAM: the image's own `host all all all` line does not cover
 * replication connections, which pg_hba matches only through the `replication` keyword.
 */
export function replicationHbaLine(user = REPLICATION_USER): string {
  return `host replication ${user} samenet scram-sha-256`;
}

const number = (settings: Readonly<Record<string, string>>, name: HotStandbyMinimum) =>
  settings[name] === undefined ? HOT_STANDBY_DEFAULTS[name] : Number(settings[name]);

/** The hot-standby settings a replica sets below the primary; empty when it can replay. */
export function hotStandbyShortfalls(primary: Readonly<Record<string, string>>, replica: Readonly<Record<string, string>>): HotStandbyMinimum[] {
  return HOT_STANDBY_MINIMUMS.filter((name) => !(number(replica, name) >= number(primary, name)));
}

/**
 * The replica's settings: the primary's, so a replica of the same size behaves the same
 * (including operator overrides). When the replica's container differs, the memory and CPU
 * sized settings are derived for its own container, and the hot-standby minimums are then
 * raised back to the primary's values.
 *
 * hot_standby_feedback is on: the backend reads from the replica, and without feedback VACUUM
 * on the primary removes rows those reads still see, which cancels them
 * ("canceling statement due to conflict with recovery"). The price is some bloat on the primary
 * while a long read runs.
 */
export function replicaSettings(
  primarySettings: Readonly<Record<string, string>>,
  primaryContainer: { readonly memoryLimitMiB: number; readonly cpuLimit: number },
  replicaContainer: { readonly memoryLimitMiB: number; readonly cpuLimit: number },
): Record<string, string> {
  const settings: Record<string, string> = { ...primarySettings };
  const sameContainer = primaryContainer.memoryLimitMiB === replicaContainer.memoryLimitMiB && primaryContainer.cpuLimit === replicaContainer.cpuLimit;
  if (!sameContainer) {
    const own = derivePostgresSettings({
      memoryLimitMiB: replicaContainer.memoryLimitMiB,
      cpuLimit: replicaContainer.cpuLimit,
      maxConnections: number(primarySettings, "max_connections"),
      replicationSlots: 0,
    });
    for (const name of CONTAINER_SIZED) {
      if (own[name] === undefined) delete settings[name];
      else settings[name] = own[name];
    }
  }
  for (const name of hotStandbyShortfalls(primarySettings, settings)) settings[name] = String(number(primarySettings, name));
  // The primary's pg_hba.conf is a config mounted on the primary only; a replica keeps the copy
  // pg_basebackup makes in its PGDATA.
  delete settings.hba_file;
  settings.hot_standby = "on";
  settings.hot_standby_feedback = "on";
  return settings;
}

/** The replication slice of the plan, or undefined on tiers without a read replica. */
export function planReplication(services: ServicePlans, primarySettings: Readonly<Record<string, string>>): ReplicationPlan | undefined {
  const service = services["postgres-replica"];
  const primary = services.postgres;
  if (!service || !primary) return undefined;
  const taskSlots = Array.from({ length: service.replicas }, (_, i) => i + 1);
  const settings = replicaSettings(primarySettings, primary, service);
  return {
    service,
    user: REPLICATION_USER,
    primaryHost: PRIMARY_HOST,
    primaryPort: POSTGRES_PORT,
    replicaHost: REPLICA_HOST,
    slots: taskSlots.map(replicationSlotName),
    slotTemplate: replicationSlotName(SWARM_TASK_SLOT),
    volumeNames: taskSlots.map(replicaVolumeName),
    volumeTemplate: replicaVolumeName(SWARM_TASK_SLOT),
    hbaLines: [replicationHbaLine(REPLICATION_USER)],
    settings,
    shmSizeMiB: shmSizeMiB(settings),
  };
}

/**
 * Problems the primary's settings would cause the replicas: each task needs a WAL sender and a
 * slot, and wal_level must carry enough WAL for a standby. (A `postgres.settings.*` override can
 * break what derivePostgresSettings sets.)
 */
export function replicationFindings(replication: ReplicationPlan | undefined, primary: Readonly<Record<string, string>>): Finding[] {
  if (!replication) return [];
  const findings: Finding[] = [];
  const key = (name: string) => overrideKey(`postgres.settings.${name}`);
  if (primary.wal_level !== "replica" && primary.wal_level !== "logical") {
    findings.push(error(key("wal_level"), `got "${primary.wal_level ?? "replica (default)"}"; a streaming replica needs wal_level replica or logical`));
  }
  const tasks = replication.slots.length;
  for (const name of ["max_wal_senders", "max_replication_slots"] as const) {
    const value = Number(primary[name] ?? "10");
    if (value < tasks) findings.push(error(key(name), `got ${value}; ${tasks} replica task(s) each hold one, so it must be at least ${tasks}`));
  }
  return findings;
}

/** The replica entrypoint's environment; REPLICATION_SLOT carries the Swarm task-slot template. */
export function replicaEntrypointEnv(replication: ReplicationPlan): Record<string, string> {
  return {
    PGDATA,
    PRIMARY_HOST: replication.primaryHost,
    PRIMARY_PORT: String(replication.primaryPort),
    PRIMARY_WAIT_SECONDS: String(PRIMARY_WAIT_SECONDS),
    REPLICATION_USER: replication.user,
    REPLICATION_SLOT: replication.slotTemplate,
    REPLICATION_PASSWORD_FILE,
    REPLICATION_PASSFILE,
  };
}

/**
 * The backend's DATABASE_REPLICA_URL: straight to the replica service (PgBouncer pools the
 * primary only), with the same Prisma pool size and wait as its primary URL.
 */
export function replicaDatabaseUrl(parts: Omit<DatabaseUrlParts, "host" | "port">, backend: BackendPlan): string {
  const params = new URLSearchParams({
    connection_limit: String(backend.connectionLimit),
    pool_timeout: String(backend.poolTimeoutSeconds),
  });
  return `${directDatabaseUrl({ ...parts, host: REPLICA_HOST, port: POSTGRES_PORT })}?${params.toString()}`;
}
