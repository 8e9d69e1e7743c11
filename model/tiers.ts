/**
 * The capacity tiers, one per row of the seed's "Scaling Recommendations" table.
 *
 * Only what the seed gives (or a tier needs and the seed leaves open) is stated here; every
 * PostgreSQL setting, pool size, heap and placement is derived from these numbers by the plan.
 * The seed's table overlaps at 100 ("51-100" and "100-200"); here 100 belongs to `scale`.
 */

export interface Resources {
  /** CPU limit, in cores. */
  readonly cpuLimit: number;
  /** Memory limit, MiB. */
  readonly memoryLimitMiB: number;
  /** CPU reservation, in cores; Swarm refuses to place a task where this does not fit. */
  readonly cpuReservation: number;
  /** Memory reservation, MiB; Swarm refuses to place a task where this does not fit. */
  readonly memoryReservationMiB: number;
}

export interface TierSpec {
  /** Companies served, as the seed's table states them. */
  readonly companies: { readonly min: number; readonly max: number | null };
  /** The seed's "PostgreSQL Notes" column, kept verbatim so the plan can show it. */
  readonly seedNote: string;
  readonly backendReplicas: number;
  readonly frontendReplicas: number;
  /**
   * max_connections as the seed gives it (100 before the change, 300 now, 500 from 120+). Shown
   * beside the plan's: the plan derives max_connections from its connection budget instead, and
   * the seed's figure stays reachable with `postgres.maxConnections`.
   */
  readonly seedMaxConnections: number;
  /** The Postgres container; the PostgreSQL settings are derived from it. */
  readonly postgres: Resources;
  /** PgBouncer in transaction mode between backend and PostgreSQL (seed: "Consider PgBouncer"). */
  readonly pgbouncer: boolean;
  /** Streaming read replicas (seed: "Add read replicas"). */
  readonly readReplicas: number;
}

/** Per-replica resources the seed deployed ("Resource Limits and Reservations"). */
export const SEED_BACKEND: Resources = { cpuLimit: 1, memoryLimitMiB: 1024, cpuReservation: 0.5, memoryReservationMiB: 512 };
export const SEED_FRONTEND: Resources = { cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.25, memoryReservationMiB: 128 };
export const SEED_POSTGRES: Resources = { cpuLimit: 2, memoryLimitMiB: 3072, cpuReservation: 1, memoryReservationMiB: 2048 };
/** Not in the seed (Traefik ran unlimited); sized for a TLS edge proxy at this traffic. */
export const TRAEFIK: Resources = { cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.1, memoryReservationMiB: 64 };
/** PgBouncer is a single-threaded event loop; one core is its ceiling. */
export const PGBOUNCER: Resources = { cpuLimit: 0.5, memoryLimitMiB: 128, cpuReservation: 0.1, memoryReservationMiB: 32 };
/** pg_dump of a small database; idle between runs, so the reservation is small. */
export const BACKUP: Resources = { cpuLimit: 0.5, memoryLimitMiB: 512, cpuReservation: 0.05, memoryReservationMiB: 64 };

export const TIERS = {
  starter: {
    companies: { min: 1, max: 20 },
    seedNote: "Current config OK",
    backendReplicas: 2,
    frontendReplicas: 1,
    seedMaxConnections: 100,
    postgres: { cpuLimit: 1, memoryLimitMiB: 2048, cpuReservation: 0.5, memoryReservationMiB: 1024 },
    pgbouncer: false,
    readReplicas: 0,
  },
  growth: {
    companies: { min: 21, max: 50 },
    seedNote: "CURRENT STATE",
    backendReplicas: 3,
    frontendReplicas: 2,
    seedMaxConnections: 300,
    postgres: SEED_POSTGRES,
    pgbouncer: false,
    readReplicas: 0,
  },
  scale: {
    companies: { min: 51, max: 100 },
    seedNote: "Monitor connections",
    backendReplicas: 5,
    frontendReplicas: 3,
    seedMaxConnections: 300,
    postgres: { cpuLimit: 2, memoryLimitMiB: 4096, cpuReservation: 1, memoryReservationMiB: 3072 },
    pgbouncer: false,
    readReplicas: 0,
  },
  business: {
    companies: { min: 101, max: 200 },
    seedNote: "Consider PgBouncer",
    backendReplicas: 7,
    frontendReplicas: 4,
    seedMaxConnections: 500,
    postgres: { cpuLimit: 3, memoryLimitMiB: 6144, cpuReservation: 1.5, memoryReservationMiB: 4096 },
    pgbouncer: true,
    readReplicas: 0,
  },
  enterprise: {
    companies: { min: 201, max: null },
    seedNote: "Add read replicas",
    backendReplicas: 10,
    frontendReplicas: 5,
    seedMaxConnections: 500,
    postgres: { cpuLimit: 4, memoryLimitMiB: 8192, cpuReservation: 2, memoryReservationMiB: 6144 },
    pgbouncer: true,
    readReplicas: 1,
  },
} as const satisfies Record<string, TierSpec>;

export type TierName = keyof typeof TIERS;

/** Tier names from smallest to largest. */
export const TIER_NAMES = Object.keys(TIERS) as TierName[];

export function isTierName(name: string): name is TierName {
  return Object.prototype.hasOwnProperty.call(TIERS, name);
}

export function companiesLabel(spec: TierSpec): string {
  return spec.companies.max === null ? `${spec.companies.min}+` : `${spec.companies.min}-${spec.companies.max}`;
}
