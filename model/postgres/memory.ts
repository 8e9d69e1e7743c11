/**
 * PostgreSQL 15's worst-case memory for a set of settings: what the container must hold when
 * every slot the settings allow is busy at once. Pure arithmetic; the figures it rests on were
 * measured on a real server (see the constants) and test/integration/pg-memory.test.ts checks
 * them again.
 *
 * THE FORMULA (MiB; settings not given count at PostgreSQL 15's defaults):
 *
 *   worst case = shared
 *              + max_connections        x (work_mem x hash_mem_multiplier + private_backend)
 *              + parallel_workers       x (work_mem x hash_mem_multiplier + private_parallel_worker)
 *              + autovacuum_max_workers x (min(autovacuum_work_mem, 1GB) + private_autovacuum_worker)
 *              + manual_maintenance     x maintenance_work_mem
 *              + max_wal_senders        x private_wal_sender
 *              + background             (postmaster, checkpointer, background writer, WAL writer,
 *                                        autovacuum launcher, logical replication launcher)
 *   [+ max_connections x temp_buffers, only with countTempBuffers]
 *
 *   shared           = PostgreSQL's own shared_memory_size, modelled by SHARED_MEMORY_FIT below
 *                      (shared_buffers, wal_buffers, lock tables, per-backend structures).
 *                      Docs 20.4.1 "Memory" (shared_buffers, wal_buffers), 19.4.1 "Shared Memory
 *                      and Semaphores", 20.12 "Lock Management" (lock table size:
 *                      max_locks_per_transaction x (max_connections + max_prepared_transactions)),
 *                      20.15 "Preset Options" (shared_memory_size).
 *   work_mem x hash_mem_multiplier
 *                    one hash node per process: "Hash-based operations are generally more
 *                      sensitive to memory availability ... the memory limit for a hash table is
 *                      computed by multiplying work_mem by hash_mem_multiplier" (docs 20.4.1,
 *                      hash_mem_multiplier, default 2.0 in 15). This is ONE operation per process;
 *                      "a complex query might perform several sort and hash operations at the
 *                      same time, with each operation generally being allowed to use as much
 *                      memory as this value" (docs 20.4.1, work_mem), so this is the worst case
 *                      of one memory-hungry node per process, not a bound on every query.
 *   parallel_workers = min(max_parallel_workers, max_worker_processes): background workers, not
 *                      counted in max_connections, each with its own work_mem (docs 15.4
 *                      "Parallel Safety" / 20.4.6 "Asynchronous Behavior", max_parallel_workers).
 *   autovacuum       autovacuum_work_mem (-1: maintenance_work_mem) per worker; PostgreSQL 15
 *                      stores at most 1GB of dead tuple ids per vacuum (vacuumlazy.c,
 *                      MaxAllocSize), so more is never used (docs 20.4.1 autovacuum_work_mem).
 *   manual_maintenance  one VACUUM / CREATE INDEX / ALTER TABLE ADD FOREIGN KEY at
 *                      maintenance_work_mem (default 1 operation). A parallel CREATE INDEX
 *                      shares that one limit across its workers (docs 20.4.6,
 *                      max_parallel_maintenance_workers).
 *   private_*        the process's own anonymous memory (RssAnon: stack, catalog and relation
 *                      caches, plan cache) beyond work_mem, measured on PostgreSQL 15.20
 *                      (PRIVATE_MEMORY_MIB).
 * Not counted: the page cache (reclaimable, though the cgroup charges it), temp_buffers unless
 * asked (allocated only by sessions that use temporary tables; the app uses none), extensions.
 */
import { bootValue, parseSettingNumber, settingKiB } from "./catalog";

type Settings = Readonly<Record<string, string>>;

const KIB_PER_MIB = 1024;

/** A numeric setting in its own unit: the given value, else PostgreSQL's default. Throws on a value PostgreSQL would refuse. */
function num(settings: Settings, name: string): number {
  const given = settings[name];
  const value = parseSettingNumber(name, given ?? bootValue(name) ?? "");
  if (value === undefined) throw new Error(`${name} = "${given}" is not a value PostgreSQL 15 accepts`);
  return value;
}

/** A memory setting in kB: the given value, else PostgreSQL's default. */
function kib(settings: Settings, name: string): number {
  const given = settings[name];
  const value = settingKiB(name, given ?? bootValue(name) ?? "");
  if (value === undefined) throw new Error(`${name} = "${given}" is not a value PostgreSQL 15 accepts`);
  return value;
}

// ---------- shared memory ----------

export interface SharedMemoryTerms {
  readonly sharedBuffersMiB: number;
  /** After PostgreSQL's rules: -1 = shared_buffers / 32 between 64kB and 16MB; at least 4 blocks. */
  readonly walBuffersMiB: number;
  /** max_connections + autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders. */
  readonly maxBackends: number;
  /** MaxBackends + max_prepared_transactions: the rows of the lock tables and PGPROC array. */
  readonly lockSlots: number;
  readonly maxLocksPerTransaction: number;
  readonly maxPredLocksPerTransaction: number;
  /**
   * The bucket arrays of the big shared hash tables, MiB: dynahash sizes them to the next power of
   * two of their entries, 8 bytes a bucket (dynahash.c hash_estimate_size). Lock tables (LOCK,
   * PROCLOCK = 2x) and predicate-lock tables (target, lock = 2x) get lock.c / predicate.c's 10 %
   * margin; the buffer table has NBuffers + 128 entries. This is the step-shaped part of shared
   * memory that a straight line misses.
   */
  readonly hashBucketsMiB: number;
  /** CLOG and commit-timestamp buffers, which grow with shared_buffers up to a cap (clog.c, commit_ts.c), MiB. */
  readonly slruMiB: number;
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** The inputs of the shared-memory model, read from settings as PostgreSQL reads them. */
export function sharedMemoryTerms(settings: Settings): SharedMemoryTerms {
  const blockKiB = 8;
  const sharedBuffersKiB = kib(settings, "shared_buffers");
  const nBuffers = sharedBuffersKiB / blockKiB;
  let walBlocks = num(settings, "wal_buffers");
  // xlog.c XLOGChooseNumBuffers / check_wal_buffers.
  if (walBlocks === -1) walBlocks = Math.min(Math.max(Math.floor(nBuffers / 32), 8), 2048);
  if (walBlocks < 4) walBlocks = 4;
  const maxBackends = num(settings, "max_connections") + num(settings, "autovacuum_max_workers") + 1 + num(settings, "max_worker_processes") + num(settings, "max_wal_senders");
  const lockSlots = maxBackends + num(settings, "max_prepared_transactions");
  const locks = num(settings, "max_locks_per_transaction") * lockSlots;
  const predLocks = num(settings, "max_pred_locks_per_transaction") * lockSlots;
  const bucketBytes = 8 * (1.1 * (nextPow2(locks) + nextPow2(2 * locks)) + 1.1 * (nextPow2(predLocks) + nextPow2(2 * predLocks)) + nextPow2(nBuffers + 128));
  return {
    sharedBuffersMiB: sharedBuffersKiB / KIB_PER_MIB,
    walBuffersMiB: (walBlocks * blockKiB) / KIB_PER_MIB,
    maxBackends,
    lockSlots,
    maxLocksPerTransaction: num(settings, "max_locks_per_transaction"),
    maxPredLocksPerTransaction: num(settings, "max_pred_locks_per_transaction"),
    hashBucketsMiB: bucketBytes / 1048576,
    slruMiB: ((Math.min(128, Math.max(4, Math.floor(nBuffers / 512))) + Math.min(16, Math.max(4, Math.floor(nBuffers / 1024)))) * blockKiB) / KIB_PER_MIB,
  };
}

/**
 * shared MiB = c0 + c1 x shared_buffers MiB + c2 x wal_buffers MiB + c3 x N
 *            + c4 x N x max_locks_per_transaction + c5 x N x max_pred_locks_per_transaction
 *            + c6 x hash buckets MiB + c7 x SLRU buffers MiB
 * N = max_connections + autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders
 *     + max_prepared_transactions (MaxBackends + prepared transactions: PGPROCs and lock-table rows);
 * hash buckets and SLRU buffers as in SharedMemoryTerms (the step-shaped parts, from the source).
 * Least squares over `postgres -C shared_memory_size` for 168 settings (scripts/lib/fit-shared-memory.ts
 * on PostgreSQL 15.20): shared_buffers 128MB-3GB, wal_buffers auto to 64MB, max_connections
 * 20-1000, worker processes 2-16, WAL senders 0-10, autovacuum workers 3-6, lock tables 64-256
 * per transaction, prepared transactions 0-10. Per unit: 1.020 MiB per MiB of shared_buffers
 * (8kB page + descriptor + buffer-table entry + checkpoint sort slot), 1.002 per MiB of
 * wal_buffers, ~7.8 kB per backend slot, ~362 B per lock entry, ~212 B per predicate-lock entry;
 * the bucket term fits at 0.996, confirming the reading of dynahash.c.
 */
export const SHARED_MEMORY_FIT = {
  c0: 0.68415174,
  c1: 1.0200229,
  c2: 1.0019194,
  c3: 0.0076196184,
  c4: 0.00034474327,
  c5: 0.00020196164,
  c6: 0.99593448,
  c7: 4.0010603,
  /** Largest |model - (reported - 0.5)| over the fit's grid, MiB; the server reports whole MB rounded up. */
  maxErrorMiB: 0.583,
  measuredOn: "PostgreSQL 15.20 (Debian 15.20-0+deb12u1), x86_64, 8kB blocks",
} as const;

/** Shared memory PostgreSQL allocates at start (its shared_memory_size), per the fitted model, MiB. */
export function sharedMemoryMiB(settings: Settings): number {
  const t = sharedMemoryTerms(settings);
  const f = SHARED_MEMORY_FIT;
  return (
    f.c0 + f.c1 * t.sharedBuffersMiB + f.c2 * t.walBuffersMiB + f.c3 * t.lockSlots + f.c4 * t.lockSlots * t.maxLocksPerTransaction +
    f.c5 * t.lockSlots * t.maxPredLocksPerTransaction + f.c6 * t.hashBucketsMiB + f.c7 * t.slruMiB
  );
}

// ---------- private memory ----------

/**
 * Private memory per process beyond work_mem and maintenance_work_mem, MiB: Pss_Anon from
 * /proc/<pid>/smaps_rollup on PostgreSQL 15.20 with PGTune's growth settings
 * (scripts/lib/measure-private-memory.ts), rounded up to 0.5 MiB. Measured:
 *   client backend, idle after catalog, join and prepared queries  2.29 MiB (median of 10), max 2.34
 *   parallel worker, while running a parallel scan                  1.49 MiB
 *   autovacuum worker, peak while vacuuming and analysing a         8.51 MiB (the same in three runs), of
 *   1.5M-row table with 600k dead rows                              which at most 3.43 MiB is its dead-tuple
 *                                                                   array (600k x 6 B, counted under
 *                                                                   autovacuum_work_mem); most of the other
 *                                                                   ~5.1 MiB is ANALYZE's sample of
 *                                                                   300 x default_statistics_target rows,
 *                                                                   which grows with row width
 *   WAL sender, streaming to pg_receivewal                          1.26 MiB
 *   postmaster 0.35, checkpointer 0.41, background writer 0.40, WAL writer 0.41,
 *   autovacuum launcher 0.69, logical replication launcher 0.65     2.91 MiB together
 * (RssAnon, which counts pages shared copy-on-write with the postmaster in full, is ~1.8 MiB
 * higher per process; the cgroup charges those pages once.) An app with a large schema or many
 * prepared statements grows the backends' caches; pass privateMiB to model that.
 */
export const PRIVATE_MEMORY_MIB = {
  backend: 2.5,
  parallelWorker: 2,
  autovacuumWorker: 6,
  walSender: 1.5,
  background: 3,
} as const;

export type PrivateMemory = { readonly [K in keyof typeof PRIVATE_MEMORY_MIB]: number };

export interface WorstCaseOptions {
  /** Per-process private memory, MiB; defaults to PRIVATE_MEMORY_MIB. */
  readonly privateMiB?: Partial<PrivateMemory>;
  /** Manual VACUUM / CREATE INDEX operations at maintenance_work_mem at once (default 1). */
  readonly manualMaintenance?: number;
  /** Count temp_buffers for every connection (default false: the app uses no temporary tables). */
  readonly countTempBuffers?: boolean;
}

export interface WorstCaseParts {
  /** PostgreSQL's shared memory (shared_memory_size), modelled. */
  readonly shared: number;
  /** max_connections x (work_mem x hash_mem_multiplier + private). */
  readonly connections: number;
  /** Parallel workers, not counted in max_connections: each its own work_mem x hash_mem_multiplier + private. */
  readonly parallelWorkers: number;
  /** autovacuum_max_workers x (min(autovacuum_work_mem, 1GB) + private). */
  readonly autovacuum: number;
  /** Manual maintenance operations at maintenance_work_mem. */
  readonly manualMaintenance: number;
  /** max_wal_senders x private. */
  readonly walSenders: number;
  /** Postmaster and the auxiliary processes. */
  readonly background: number;
  /** max_connections x temp_buffers, when asked for. */
  readonly tempBuffers: number;
}

export interface WorstCase {
  readonly totalMiB: number;
  readonly parts: WorstCaseParts;
  /** The counts and sizes the parts were computed from. */
  readonly inputs: {
    readonly maxConnections: number;
    readonly parallelWorkers: number;
    readonly autovacuumWorkers: number;
    readonly walSenders: number;
    readonly workMemKiB: number;
    readonly hashMemMultiplier: number;
    readonly autovacuumWorkMemKiB: number;
    readonly maintenanceWorkMemKiB: number;
  };
}

/** PostgreSQL 15 uses at most 1GB for a vacuum's dead-tuple array (vacuumlazy.c, MaxAllocSize). */
const VACUUM_MEMORY_CAP_KIB = 1024 * 1024;

/**
 * The worst case of the formula at the top of this file, MiB. Settings not given count at
 * PostgreSQL 15's defaults; a value PostgreSQL would refuse throws.
 */
export function worstCaseMemory(settings: Readonly<Record<string, string>>, options: WorstCaseOptions = {}): WorstCase {
  const priv: PrivateMemory = { ...PRIVATE_MEMORY_MIB, ...options.privateMiB };
  const maxConnections = num(settings, "max_connections");
  const parallelWorkers = Math.min(num(settings, "max_parallel_workers"), num(settings, "max_worker_processes"));
  const autovacuumWorkers = num(settings, "autovacuum_max_workers");
  const walSenders = num(settings, "max_wal_senders");
  const workMemKiB = kib(settings, "work_mem");
  const hashMemMultiplier = num(settings, "hash_mem_multiplier");
  const maintenanceWorkMemKiB = kib(settings, "maintenance_work_mem");
  const avSetting = kib(settings, "autovacuum_work_mem");
  const autovacuumWorkMemKiB = Math.min(avSetting === -1 ? maintenanceWorkMemKiB : avSetting, VACUUM_MEMORY_CAP_KIB);
  const queryMiB = (workMemKiB * hashMemMultiplier) / KIB_PER_MIB;
  const parts: WorstCaseParts = {
    shared: sharedMemoryMiB(settings),
    connections: maxConnections * (queryMiB + priv.backend),
    parallelWorkers: parallelWorkers * (queryMiB + priv.parallelWorker),
    autovacuum: autovacuumWorkers * (autovacuumWorkMemKiB / KIB_PER_MIB + priv.autovacuumWorker),
    manualMaintenance: (options.manualMaintenance ?? 1) * (maintenanceWorkMemKiB / KIB_PER_MIB),
    walSenders: walSenders * priv.walSender,
    background: priv.background,
    tempBuffers: options.countTempBuffers ? (maxConnections * kib(settings, "temp_buffers")) / KIB_PER_MIB : 0,
  };
  const totalMiB = Object.values(parts).reduce((a: number, b: number) => a + b, 0);
  return {
    totalMiB,
    parts,
    inputs: { maxConnections, parallelWorkers, autovacuumWorkers, walSenders, workMemKiB, hashMemMultiplier, autovacuumWorkMemKiB, maintenanceWorkMemKiB },
  };
}

/**
 * The largest work_mem, in whole kB, whose worst case stays at or under ceilingMiB with every
 * other setting as given; undefined when not even PostgreSQL's minimum (64kB) fits. The plan
 * states its ceiling (e.g. 95 % of the container's memory limit) and caps work_mem with this.
 */
export function largestWorkMemKiB(settings: Readonly<Record<string, string>>, ceilingMiB: number, options: WorstCaseOptions = {}): number | undefined {
  const at = (kb: number) => worstCaseMemory({ ...settings, work_mem: `${kb}kB` }, options).totalMiB;
  const minimum = 64;
  if (at(minimum) > ceilingMiB) return undefined;
  // The worst case is linear in work_mem: solve, then step down past any rounding.
  const perKiB = at(minimum + 1024) - at(minimum);
  let kb = Math.min(2147483647, Math.floor(minimum + ((ceilingMiB - at(minimum)) / perKiB) * 1024));
  while (kb > minimum && at(kb) > ceilingMiB) kb--;
  return kb;
}
