/**
 * Streaming replication between the primary and its read replicas. Pure: names, the
 * replica's settings and the inputs of the two shell scripts in scripts/postgres/, which are the
 * single source of the bootstrap logic. The replica's Swarm config is its file verbatim (inputs
 * in the service env); the primary's is its file with the inputs baked in as defaults
 * (renderPrimaryInitScript). The integration test runs exactly those texts.
 *
 * How it fits together (PostgreSQL 15 docs, "Log-Shipping Standby Servers" and "Hot Standby"):
 * - the primary (wal_level=replica, max_wal_senders, max_replication_slots; plan.ts) gets a
 *   REPLICATION role, one physical slot per replica task and a `host replication` pg_hba line
 *   from scripts/postgres/primary-replication-init.sh;
 * - each replica task clones the primary once with `pg_basebackup -X stream -S <slot> -R`, then
 *   runs as a hot standby; later starts reuse the data directory and resume from the slot.
 */
import { directDatabaseUrl, DatabaseUrlParts } from "./render";
import { error, Finding } from "./findings";
import { derivePostgresSettings, shmSizeMiB } from "./postgres";
import type { BackendPlan, Plan, ServicePlan } from "./plan";

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
/** The replica's entrypoint, mounted from a Swarm config. */
export const REPLICA_ENTRYPOINT_PATH = "/usr/local/bin/advwell-replica-entrypoint.sh";
/** The primary's init script; the official image runs executable *.sh files here on first start only. */
export const PRIMARY_INIT_PATH = "/docker-entrypoint-initdb.d/50-advwell-replication.sh";
/** UID/GID of `postgres` in the official Debian-based image: secrets are mounted 0400 for it. */
export const POSTGRES_UID = "999";

/** The two scripts, relative to the project root; components read them, tests run them. */
export const SCRIPT_FILES = {
  replicaEntrypoint: "scripts/postgres/replica-entrypoint.sh",
  primaryInit: "scripts/postgres/primary-replication-init.sh",
} as const;

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
    for (const name of CONTAINER_SIZED) settings[name] = own[name];
  }
  for (const name of hotStandbyShortfalls(primarySettings, settings)) settings[name] = String(number(primarySettings, name));
  settings.hot_standby = "on";
  settings.hot_standby_feedback = "on";
  return settings;
}

/** The replication slice of the plan, or undefined on tiers without a read replica. */
export function planReplication(plan: Plan): ReplicationPlan | undefined {
  const service = plan.services["postgres-replica"];
  const primary = plan.services.postgres;
  if (!service || !primary) return undefined;
  const taskSlots = Array.from({ length: service.replicas }, (_, i) => i + 1);
  const settings = replicaSettings(plan.postgres.settings, primary, service);
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
export function replicationFindings(plan: Plan): Finding[] {
  const replication = planReplication(plan);
  if (!replication) return [];
  const findings: Finding[] = [];
  const primary = plan.postgres.settings;
  const key = (name: string) => `advwell:overrides[postgres.settings.${name}]`;
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

/** The primary init script's environment (non-secret: the password is a file). */
export function primaryReplicationEnv(replication: ReplicationPlan): Record<string, string> {
  return {
    REPLICATION_USER: replication.user,
    REPLICATION_PASSWORD_FILE,
    REPLICATION_SLOTS: replication.slots.join(" "),
    REPLICATION_HBA_LINES: replication.hbaLines.join("\n"),
  };
}

/**
 * Bakes values into a shell script as defaults: after the shebang, each NAME is set unless the
 * environment already sets it. The primary's init script carries its inputs this way, so the
 * primary service needs no extra env and an operator can run the mounted file by hand
 * (`docker exec`) with nothing to remember; tests still override each value through the env.
 */
export function withScriptDefaults(script: string, defaults: Readonly<Record<string, string>>): string {
  const lines = script.split("\n");
  const shebang = lines[0].startsWith("#!") ? lines.shift()! : "#!/usr/bin/env bash";
  const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
  const assignments = Object.keys(defaults)
    .sort()
    .map((name) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`withScriptDefaults: "${name}" is not a shell variable name`);
      return `if [ -z "\${${name}+set}" ]; then ${name}=${quote(defaults[name])}; fi`;
    });
  return [shebang, "# Defaults rendered from the AdvWell plan (model/replication.ts); the environment overrides each.", ...assignments, ...lines].join("\n");
}

/** The primary's init script as mounted: the file in scripts/postgres with the plan's values as defaults. */
export function renderPrimaryInitScript(replication: ReplicationPlan, scriptText: string): string {
  return withScriptDefaults(scriptText, primaryReplicationEnv(replication));
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
