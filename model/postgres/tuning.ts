/**
 * PostgreSQL settings from the container's limits and the connection budget.
 *
 * Reference: PGTune, le0pard/pgtune commit 830d3bb (src/features/configuration/configurationSlice.js),
 * for PostgreSQL 15, a web application, SSD storage, Linux, with the container's memory limit and
 * CPU limit as its inputs ("RAM" is never the host's: the cgroup charges the page cache to the
 * container) and the plan's own max_connections. `pgtune.ts` is its rule-for-rule port; a test
 * compares it with values PGTune's own code computed for every tier.
 *
 * The plan departs from it in two places, each deliberate, each listed in `departures` (and shown
 * by the plan command and the README):
 *  1. Below 4 CPUs PGTune sets no parallel settings, so PostgreSQL's defaults apply: 8 parallel
 *     workers, each with its own work_mem, in a 1 or 2 CPU container. The plan caps
 *     max_parallel_workers at the container's CPUs, and turns parallel query off on one CPU.
 *  2. work_mem is capped so that the honest worst case (memory.ts: every connection and parallel
 *     worker at work_mem x hash_mem_multiplier, autovacuum, a manual VACUUM, shared memory as
 *     PostgreSQL sizes it, private memory measured) fits WORST_CASE_CEILING of the container.
 *     PGTune's own settings exceed every tier's container by this count.
 * The rest are the stack's own, not tuning: where it listens, who may connect and how, replication
 * and the seed's logging.
 */
import { formatPgSizeKiB, formatPgSizeMiB, parseSizeKiB } from "../units";
import { largestWorkMemKiB } from "./memory";
import { pgtuneSettings } from "./pgtune";

/** Fraction of the container limit the worst case may use: the rest is page cache and slack. */
export const WORST_CASE_CEILING = 0.95;
/** PostgreSQL's default, stated explicitly: slots kept for superusers when all others are taken. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;
/** PostgreSQL's default, stated because the worst case counts it. */
export const AUTOVACUUM_MAX_WORKERS = 3;
/** PGTune sets parallel settings only from this many CPUs. */
const PGTUNE_PARALLEL_MIN_CPUS = 4;

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

/** Where the plan's value is not PGTune's, and why. */
export interface Departure {
  readonly setting: string;
  /** PGTune's value, or undefined where it sets none (PostgreSQL's default then applies). */
  readonly pgtune?: string;
  readonly plan: string;
  readonly why: string;
}

export interface DerivedSettings {
  readonly settings: Record<string, string>;
  readonly departures: readonly Departure[];
}

/** Every setting, and where it departs from PGTune. Values are exactly what postgresql.conf (or `-c`) accepts. */
export function tunePostgres(input: PostgresInputs): DerivedSettings {
  const cpus = Math.max(1, Math.floor(input.cpuLimit));
  const pgtune = pgtuneSettings({ memoryMiB: input.memoryLimitMiB, cpus, maxConnections: input.maxConnections });
  const settings: Record<string, string> = {
    ...pgtune,
    // The stack's own: the overlay network reaches it, roles authenticate with SCRAM.
    listen_addresses: "*",
    superuser_reserved_connections: String(SUPERUSER_RESERVED_CONNECTIONS),
    autovacuum_max_workers: String(AUTOVACUUM_MAX_WORKERS),
    password_encryption: "scram-sha-256",
    ...SEED_LOGGING,
  };
  const departures: Departure[] = [];
  if (cpus < PGTUNE_PARALLEL_MIN_CPUS) {
    settings.max_parallel_workers = String(cpus);
    departures.push({ setting: "max_parallel_workers", plan: String(cpus), why: `PGTune sets no parallel settings below ${PGTUNE_PARALLEL_MIN_CPUS} CPUs, leaving PostgreSQL's 8: more workers than the container's ${cpus} CPU(s), each holding its own work_mem` });
    if (cpus === 1) {
      settings.max_parallel_workers_per_gather = "0";
      departures.push({ setting: "max_parallel_workers_per_gather", plan: "0", why: "on one CPU a parallel worker only competes with its leader" });
    }
  }
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
  const fitKiB = largestWorkMemKiB(settings, input.memoryLimitMiB * WORST_CASE_CEILING);
  const pgtuneKiB = parseSizeKiB(pgtune.work_mem)!;
  if (fitKiB === undefined || fitKiB < pgtuneKiB) {
    // 64kB is PostgreSQL's minimum; below it the worst case cannot fit at all (the plan says so).
    settings.work_mem = formatPgSizeKiB(Math.max(64, fitKiB ?? 64));
    departures.push({ setting: "work_mem", pgtune: pgtune.work_mem, plan: settings.work_mem, why: `capped so the worst case fits ${WORST_CASE_CEILING * 100}% of the ${input.memoryLimitMiB} MiB container (PGTune counts one work_mem per connection; a hash node takes work_mem x hash_mem_multiplier, and parallel workers, autovacuum and a manual VACUUM come on top)` });
  }
  return { settings, departures };
}

/** The settings alone (a replica of another size derives its own with this). */
export function derivePostgresSettings(input: PostgresInputs): Record<string, string> {
  return tunePostgres(input).settings;
}

/**
 * Size of the tmpfs at /dev/shm: parallel workers exchange tuples through POSIX shared memory, and
 * Docker's 64 MiB default is too small. 128 MiB per gather worker (PostgreSQL's default is 2), never below 64 MiB.
 */
export function shmSizeMiB(settings: Readonly<Record<string, string>>): number {
  return Math.max(64, 128 * Number(settings.max_parallel_workers_per_gather ?? "2"));
}
