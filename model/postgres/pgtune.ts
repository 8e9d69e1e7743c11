/**
 * PGTune, ported rule for rule for the one profile this stack uses.
 *
 * Reference: le0pard/pgtune (https://github.com/le0pard/pgtune, MIT), commit
 * 830d3bb36876013e9f56b87faa025b82f4f93e64 (the last commit that changed the formulas; identical
 * at HEAD 7caef27c204d304623eda21f23e7d56c1ad78d36):
 *   src/features/configuration/configurationSlice.js   the selectors (every formula below)
 *   src/common/components/configurationView/index.jsx  formatValue, and which settings are printed
 *
 * Profile: DB version 15, OS Linux, DB type "web", data storage SSD, database size "mid_ram"
 * (PGTune's default: neither the +30 % nor the -10 % work_mem adjustment), total memory given in
 * MB (= the container's memory limit in MiB), CPUs = the container's CPU limit as an integer,
 * connections = max_connections (an input: the plan derives it from its connection budget).
 *
 * This file does not improve on PGTune. Departures (for example capping work_mem so the worst
 * case fits the container) belong to the plan. test/unit/pgtune.test.ts holds this port to
 * values computed by PGTune's own code on a grid that includes every tier's container
 * (test/unit/fixtures/pgtune-reference.json).
 *
 * PGTune's rules, profile as above, all sizes in kB ("RAM" = memoryMiB x 1024):
 *   max_connections              = the input (PGTune's form accepts 20 and up; the formulas run for any)
 *   shared_buffers               = floor(RAM / 4)
 *   effective_cache_size         = floor(RAM x 3 / 4)
 *   maintenance_work_mem         = floor(RAM / 16), at most 8GB
 *   checkpoint_completion_target = 0.9
 *   wal_buffers                  = floor(3 % of shared_buffers), at most 16MB; above 14MB -> 16MB; at least 32kB
 *   default_statistics_target    = 100;  random_page_cost = 1.1;  effective_io_concurrency = 200
 *   work_mem                     = floor((RAM - shared_buffers) / ((max_connections + W) x 3)), at least 4MB,
 *                                  W = max_worker_processes as emitted below, else PostgreSQL's default 8
 *   huge_pages                   = "try" when shared_buffers >= 2GB, else "off"
 *   jit = off;  wal_compression = lz4;  min_wal_size = 1GB;  max_wal_size = 4GB
 *   autovacuum_max_workers       = 4 from 16 CPUs, 5 from 32 CPUs (else not set: default 3)
 *   autovacuum_work_mem          = 2GB when maintenance_work_mem >= 2GB (else not set)
 *   from 4 CPUs only: max_worker_processes = max_parallel_workers = CPUs,
 *                     max_parallel_workers_per_gather = max_parallel_maintenance_workers = min(4, ceil(CPUs / 2))
 * Sizes are printed the way PGTune prints them: GB if the kB value divides evenly, else MB if
 * it does, else kB ("768MB", "2GB", "74898kB").
 */

const KB_PER_MB = 1024;
const KB_PER_GB = 1024 * 1024;

/** PostgreSQL's default max_worker_processes, which PGTune uses for work_mem when it sets no parallel settings. */
const DEFAULT_MAX_WORKER_PROCESSES = 8;

export const PGTUNE_REFERENCE = {
  repository: "https://github.com/le0pard/pgtune",
  commit: "830d3bb36876013e9f56b87faa025b82f4f93e64",
  file: "src/features/configuration/configurationSlice.js",
  profile: { dbVersion: 15, osType: "linux", dbType: "web", hdType: "ssd", dbSize: "mid_ram" },
} as const;

export interface PgtuneInputs {
  /** Total memory PGTune is told about: the container's memory limit, whole MiB. */
  readonly memoryMiB: number;
  /** The container's CPU limit; PGTune reads an integer (parseInt), so 2.5 counts as 2. */
  readonly cpus: number;
  /** max_connections; PGTune divides memory for work_mem by it. */
  readonly maxConnections: number;
}

/** PGTune's formatValue: the largest of GB, MB, kB that shows the kB value without loss. */
export function pgtuneFormatKb(kb: number): string {
  if (kb % KB_PER_GB === 0) return `${Math.floor(kb / KB_PER_GB)}GB`;
  if (kb % KB_PER_MB === 0) return `${Math.floor(kb / KB_PER_MB)}MB`;
  return `${kb}kB`;
}

function walBuffersKb(sharedBuffersKb: number): number {
  let kb = Math.floor((3 * sharedBuffersKb) / 100);
  const max = 16 * KB_PER_MB;
  if (kb > max) kb = max;
  if (kb > 14 * KB_PER_MB && kb < max) kb = max;
  if (kb < 32) kb = 32;
  return kb;
}

/**
 * What PGTune emits for this profile, in PGTune's order, as postgresql.conf values.
 * Throws on inputs PGTune could not have been given (non-integer or non-positive memory or
 * connections): a wrong number here would silently become a wrong setting.
 */
export function pgtuneSettings(input: PgtuneInputs): Record<string, string> {
  const { memoryMiB, maxConnections } = input;
  if (!Number.isInteger(memoryMiB) || memoryMiB <= 0) throw new Error(`pgtuneSettings: memoryMiB must be a positive integer, got ${memoryMiB}`);
  if (!Number.isInteger(maxConnections) || maxConnections <= 0) throw new Error(`pgtuneSettings: maxConnections must be a positive integer, got ${maxConnections}`);
  if (!Number.isFinite(input.cpus) || input.cpus < 0) throw new Error(`pgtuneSettings: cpus must be a non-negative number, got ${input.cpus}`);
  // parseInt of the form's text; 0 (e.g. a 0.5 CPU limit) is "not given" to PGTune.
  const cpus = Math.trunc(input.cpus);

  const totalKb = memoryMiB * KB_PER_MB;
  const sharedBuffersKb = Math.floor(totalKb / 4);
  const effectiveCacheKb = Math.floor((totalKb * 3) / 4);
  const maintenanceKb = Math.min(Math.floor(totalKb / 16), 8 * KB_PER_GB);

  const parallel: [string, number][] = [];
  if (cpus >= 4) {
    const perGather = Math.min(4, Math.ceil(cpus / 2));
    parallel.push(["max_worker_processes", cpus], ["max_parallel_workers_per_gather", perGather], ["max_parallel_workers", cpus], ["max_parallel_maintenance_workers", Math.min(4, Math.ceil(cpus / 2))]);
  }
  const workers = cpus >= 4 ? cpus : DEFAULT_MAX_WORKER_PROCESSES;
  const workMemKb = Math.max(4 * KB_PER_MB, Math.floor((totalKb - sharedBuffersKb) / ((maxConnections + workers) * 3)));

  const settings: Record<string, string> = {
    max_connections: String(maxConnections),
    shared_buffers: pgtuneFormatKb(sharedBuffersKb),
    effective_cache_size: pgtuneFormatKb(effectiveCacheKb),
    maintenance_work_mem: pgtuneFormatKb(maintenanceKb),
    checkpoint_completion_target: "0.9",
    wal_buffers: pgtuneFormatKb(walBuffersKb(sharedBuffersKb)),
    default_statistics_target: "100",
    random_page_cost: "1.1",
    effective_io_concurrency: "200",
    work_mem: pgtuneFormatKb(workMemKb),
    huge_pages: sharedBuffersKb >= 2 * KB_PER_GB ? "try" : "off",
    jit: "off",
    wal_compression: "lz4",
  };
  if (cpus >= 32) settings.autovacuum_max_workers = "5";
  else if (cpus >= 16) settings.autovacuum_max_workers = "4";
  if (maintenanceKb >= 2 * KB_PER_GB) settings.autovacuum_work_mem = pgtuneFormatKb(2 * KB_PER_GB);
  settings.min_wal_size = "1GB";
  settings.max_wal_size = "4GB";
  for (const [name, value] of parallel) settings[name] = String(value);
  return settings;
}
