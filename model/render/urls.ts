/** The database URLs the backend reads (as Swarm secret files). Pure. */
import type { BackendPlan } from "../plan/types";

export interface DatabaseUrlParts {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/**
 * The backend's DATABASE_URL: explicit Prisma pool size and wait, and `pgbouncer=true` when it
 * goes through PgBouncer (no prepared statements in transaction mode).
 */
export function backendDatabaseUrl(parts: DatabaseUrlParts, backend: BackendPlan): string {
  const params = new URLSearchParams({
    connection_limit: String(backend.connectionLimit),
    pool_timeout: String(backend.poolTimeoutSeconds),
  });
  if (backend.databaseHost === "pgbouncer") params.set("pgbouncer", "true");
  return `${directDatabaseUrl(parts)}?${params.toString()}`;
}

/** A plain URL straight to PostgreSQL (Prisma `directUrl`: migrations never cross PgBouncer). */
export function directDatabaseUrl(parts: DatabaseUrlParts): string {
  return `postgresql://${encodeURIComponent(parts.user)}:${encodeURIComponent(parts.password)}@${parts.host}:${parts.port}/${encodeURIComponent(parts.database)}`;
}
