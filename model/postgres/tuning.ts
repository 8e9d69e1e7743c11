/**
 * PostgreSQL settings derived from the container's limits and the connection budget.
 *
 * Anchor: PGTune's published rules for a "web application" on SSD storage
 * (https://pgtune.leopard.in.ua, source le0pard/pgtune):
 *   shared_buffers       = RAM / 4
 *   effective_cache_size = RAM * 3 / 4
 *   maintenance_work_mem = RAM / 16, at most 2 GB
 *   wal_buffers          = 3% of shared_buffers, at least 32 kB, at most 16 MB
 *                          (values from 14 MB up are rounded to 16 MB, one WAL segment)
 *   work_mem             = (RAM - shared_buffers) / (max_connections * 3) / max_parallel_workers_per_gather
 *   min/max_wal_size     = 1 GB / 4 GB; checkpoint_completion_target = 0.9
 *   random_page_cost 1.1, effective_io_concurrency 200, default_statistics_target 100
 *   max_worker_processes = max_parallel_workers = CPUs;
 *   max_parallel_workers_per_gather = max_parallel_maintenance_workers = ceil(CPUs / 2), at most 4
 * "RAM" is the container's memory limit, never the host's: the cgroup charges the page cache
 * to the container, so cache beyond the limit does not exist for this server.
 *
 * On top of PGTune, work_mem is capped so that the worst case below fits the container.
 */
import { formatPgSizeKiB, formatPgSizeMiB, parseSizeKiB } from "../units";

/** Private memory of one idle backend process beyond work_mem (catalog caches, stack). */
export const CONNECTION_OVERHEAD_MIB = 2;
/** Fraction of the container limit the worst case may use; the rest is for the postmaster, WAL writer, checkpointer. */
export const WORST_CASE_CEILING = 0.95;
/** PostgreSQL's default, stated explicitly: slots kept for superusers when all others are taken. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;
export const AUTOVACUUM_MAX_WORKERS = 3;
/** The seed's logging, kept: statements slower than 1000 ms, connections and disconnections. */
export const SEED_LOGGING = {
  log_min_duration_statement: "1000",
  log_connections: "on",
  log_disconnections: "on",
} as const;

/** The seed's literal settings, so benchmarks and the README can compare against them. */
export const SEED_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  max_connections: "300",
  shared_buffers: "1GB",
  effective_cache_size: "4GB",
  work_mem: "16MB",
  maintenance_work_mem: "256MB",
  wal_buffers: "16MB",
  ...SEED_LOGGING,
};

export interface PostgresInputs {
  readonly memoryLimitMiB: number;
  readonly cpuLimit: number;
  readonly maxConnections: number;
  /** Streaming replication needs wal_level=replica and WAL senders. */
  readonly replicationSlots: number;
}

const MiB = 1024; // KiB per MiB

function walBuffersKiB(sharedBuffersKiB: number): number {
  const kib = Math.floor((sharedBuffersKiB * 3) / 100);
  if (kib >= 14 * MiB) return 16 * MiB;
  return Math.max(32, kib);
}

/** Derives every setting; values are exactly what postgresql.conf (or `-c`) accepts. */
export function derivePostgresSettings(input: PostgresInputs): Record<string, string> {
  const ramKiB = input.memoryLimitMiB * MiB;
  const cpus = Math.max(1, Math.floor(input.cpuLimit));
  const sharedBuffersKiB = Math.floor(ramKiB / 4 / MiB) * MiB;
  const maintenanceKiB = Math.min(Math.floor(ramKiB / 16 / MiB) * MiB, 2 * 1024 * MiB);
  const walKiB = walBuffersKiB(sharedBuffersKiB);
  const perGather = Math.min(4, Math.ceil(cpus / 2));
  const pgtuneWorkMemKiB = Math.floor((ramKiB - sharedBuffersKiB) / (input.maxConnections * 3) / perGather);
  const fitWorkMemKiB = Math.floor(
    (ramKiB * WORST_CASE_CEILING - sharedBuffersKiB - walKiB - AUTOVACUUM_MAX_WORKERS * maintenanceKiB -
      input.maxConnections * CONNECTION_OVERHEAD_MIB * MiB) /
      input.maxConnections,
  );
  // 64kB is PostgreSQL's minimum for work_mem.
  const workMemKiB = Math.max(64, Math.min(pgtuneWorkMemKiB, fitWorkMemKiB));

  const settings: Record<string, string> = {
    listen_addresses: "*",
    max_connections: String(input.maxConnections),
    superuser_reserved_connections: String(SUPERUSER_RESERVED_CONNECTIONS),
    shared_buffers: formatPgSizeKiB(sharedBuffersKiB),
    effective_cache_size: formatPgSizeKiB(Math.floor((ramKiB * 3) / 4 / MiB) * MiB),
    maintenance_work_mem: formatPgSizeKiB(maintenanceKiB),
    work_mem: formatPgSizeKiB(workMemKiB),
    wal_buffers: formatPgSizeKiB(walKiB),
    min_wal_size: "1GB",
    max_wal_size: "4GB",
    checkpoint_completion_target: "0.9",
    default_statistics_target: "100",
    random_page_cost: "1.1",
    effective_io_concurrency: "200",
    max_worker_processes: String(Math.max(cpus, 2)),
    max_parallel_workers: String(cpus),
    max_parallel_workers_per_gather: String(perGather),
    max_parallel_maintenance_workers: String(perGather),
    autovacuum_max_workers: String(AUTOVACUUM_MAX_WORKERS),
    password_encryption: "scram-sha-256",
    ...SEED_LOGGING,
  };
  if (input.replicationSlots > 0) {
    Object.assign(settings, {
      wal_level: "replica",
      max_wal_senders: String(input.replicationSlots + 2),
      max_replication_slots: String(input.replicationSlots + 2),
      hot_standby: "on",
      wal_keep_size: formatPgSizeMiB(1024),
      // A replica that stays down must not fill the primary's disk with WAL held for its slot:
      // past this the slot is invalidated and the replica re-clones.
      max_slot_wal_keep_size: formatPgSizeMiB(10 * 1024),
    });
  }
  return settings;
}

/** Reads a memory setting back into KiB; PostgreSQL's default unit for these is kB (8kB pages for buffers). */
export function settingKiB(settings: Readonly<Record<string, string>>, name: string, defaultKiB: number): number | undefined {
  const value = settings[name];
  if (value === undefined) return defaultKiB;
  if (/^\d+$/.test(value)) {
    // Unitless: shared_buffers and wal_buffers count 8kB blocks, the *_mem settings count kB.
    return Number(value) * (name === "shared_buffers" || name === "wal_buffers" ? 8 : 1);
  }
  return parseSizeKiB(value);
}

export interface WorstCase {
  readonly totalMiB: number;
  readonly parts: Readonly<Record<string, number>>;
}

/**
 * Worst-case memory of the server: shared memory plus every allowed connection using one
 * work_mem and its own overhead, plus every autovacuum worker using maintenance_work_mem.
 * (PGTune's own sizing assumption; a single query can use several work_mem, which is why the
 * ceiling keeps 5% spare.) Returns undefined when a setting cannot be read.
 */
export function worstCaseMemory(settings: Readonly<Record<string, string>>): WorstCase | undefined {
  const sharedKiB = settingKiB(settings, "shared_buffers", 128 * MiB);
  const walKiB = settingKiB(settings, "wal_buffers", 4 * MiB);
  const workKiB = settingKiB(settings, "work_mem", 4 * MiB);
  const maintenanceKiB = settingKiB(settings, "maintenance_work_mem", 64 * MiB);
  const connections = Number(settings.max_connections ?? "100");
  const workers = Number(settings.autovacuum_max_workers ?? String(AUTOVACUUM_MAX_WORKERS));
  if ([sharedKiB, walKiB, workKiB, maintenanceKiB].some((v) => v === undefined) || !Number.isFinite(connections) || !Number.isFinite(workers)) {
    return undefined;
  }
  const parts = {
    shared_buffers: sharedKiB! / MiB,
    wal_buffers: walKiB! / MiB,
    connections: (connections * (workKiB! + CONNECTION_OVERHEAD_MIB * MiB)) / MiB,
    autovacuum: (workers * maintenanceKiB!) / MiB,
  };
  const totalMiB = Math.ceil(Object.values(parts).reduce((a, b) => a + b, 0));
  return { totalMiB, parts };
}

/**
 * Size of the tmpfs at /dev/shm: parallel workers exchange tuples through POSIX shared memory, and
 * Docker's 64 MiB default is too small. 128 MiB per gather worker, never below 64 MiB.
 */
export function shmSizeMiB(settings: Readonly<Record<string, string>>): number {
  return Math.max(64, 128 * Number(settings.max_parallel_workers_per_gather ?? "2"));
}
