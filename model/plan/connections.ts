/** Stage 3: every client of PostgreSQL at its peak (a start-first rollout runs extra tasks), and PgBouncer's pools. */
import { PITR_BACKUP_CONNECTIONS } from "../backup/pitr";
import { configKey, overrideKey } from "../config/keys";
import type { Settings } from "../config/settings";
import { error, Finding, warning } from "../findings";
import { SUPERUSER_RESERVED_CONNECTIONS } from "../postgres/tuning";
import { surge } from "./services";
import type { BackendPlan, ConnectionClient, ConnectionPlan, PgBouncerPlan, ServicePlans, Staged } from "./types";

/** Role postgres-exporter logs in as: member of pg_monitor, read-only, at most a few connections. */
export const MONITORING_ROLE = "advwell_monitor";
export const MONITORING_ROLE_CONNECTION_LIMIT = 3;

/**
 * max_connections from the budget: every client at its peak, plus headroom for sessions the plan
 * cannot count (a migration run by hand, a psql while debugging, a restore drill), a quarter of the
 * budget and at least 5, plus the superuser's reserved slots. Every slot must be able to hold
 * work_mem, so slots nobody can open only shrink it (the seed's 300 left 2.6 MB per slot).
 */
export function maxConnectionsFor(budget: number): number {
  return budget + connectionHeadroom(budget) + SUPERUSER_RESERVED_CONNECTIONS;
}

export function connectionHeadroom(budget: number): number {
  return Math.max(5, Math.ceil(budget / 4));
}

export function planConnections(settings: Settings, services: ServicePlans, backend: BackendPlan): Staged<{ connections: ConnectionPlan; pgbouncer?: PgBouncerPlan }> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  const backendService = services.backend!;
  const backendPeak = backendService.replicas + surge(backendService.update);
  const clients: ConnectionClient[] = [];
  let pgbouncer: PgBouncerPlan | undefined;
  if (services.pgbouncer) {
    // Five server connections per Postgres CPU keep every core busy in transaction mode.
    const defaultPoolSize = o.pgbouncerPoolSize ?? 5 * Math.ceil(services.postgres!.cpuLimit);
    const reservePoolSize = Math.ceil(defaultPoolSize / 4);
    pgbouncer = {
      poolMode: "transaction",
      listenPort: services.pgbouncer.port ?? 6432,
      defaultPoolSize,
      reservePoolSize,
      maxDbConnections: defaultPoolSize + reservePoolSize,
      maxClientConn: backendPeak * backend.connectionLimit + 20,
    };
    const pgbPeak = services.pgbouncer.replicas + surge(services.pgbouncer.update);
    clients.push({ name: "pgbouncer", instances: pgbPeak, connectionsEach: pgbouncer.maxDbConnections, total: pgbPeak * pgbouncer.maxDbConnections, why: "server pool + reserve pool, per PgBouncer task" });
  } else {
    clients.push({ name: "backend", instances: backendPeak, connectionsEach: backend.connectionLimit, total: backendPeak * backend.connectionLimit, why: `Prisma connection_limit x (${backendService.replicas} replicas + ${backendService.update.parallelism} started first during an update)` });
  }
  clients.push({ name: "migrations", instances: 1, connectionsEach: 1, total: 1, why: "prisma migrate deploy over the direct URL (advisory lock: one at a time)" });
  const reconcile = services["postgres-reconcile"];
  if (reconcile) {
    const instances = reconcile.replicas + surge(reconcile.update);
    clients.push({ name: "postgres-reconcile", instances, connectionsEach: 1, total: instances, why: "one superuser session per pass (roles, ownership, slots), two while an update starts the new task first" });
  }
  if (services.backup) clients.push({ name: "backup", instances: 1, connectionsEach: 1, total: 1, why: "pg_dump" });
  // The full base backup runs in the same service, never at the same moment as the dump (one run at a time).
  if (services.backup && settings.backup.pitr.enabled) clients.push({ name: "pgbackrest", instances: 1, connectionsEach: PITR_BACKUP_CONNECTIONS, total: PITR_BACKUP_CONNECTIONS, why: "pgBackRest's base backup (pg_backup_start/stop); archive-push opens none" });
  const exporter = services["postgres-exporter"];
  if (exporter) {
    const instances = exporter.replicas + surge(exporter.update);
    clients.push({
      name: "postgres-exporter",
      instances,
      connectionsEach: 1,
      total: Math.min(instances, MONITORING_ROLE_CONNECTION_LIMIT),
      why: `one connection per exporter task; the ${MONITORING_ROLE} role is capped at CONNECTION LIMIT ${MONITORING_ROLE_CONNECTION_LIMIT}`,
    });
  }
  clients.push({ name: "operators", instances: 1, connectionsEach: 2, total: 2, why: "psql sessions and health probes" });
  const budget = clients.reduce((sum, c) => sum + c.total, 0);
  const maxConnections = o.maxConnections ?? maxConnectionsFor(budget);
  const available = maxConnections - SUPERUSER_RESERVED_CONNECTIONS;
  if (budget > available) {
    const key = o.maxConnections
      ? overrideKey("postgres.maxConnections")
      : o.connectionLimit
        ? overrideKey("backend.connectionLimit")
        : o.services.backend?.cpuLimit
          ? overrideKey("backend.cpuLimit")
          : o.services.backend?.replicas
            ? overrideKey("backend.replicas")
            : configKey("tier");
    findings.push(error(key, `the connection budget is ${budget} but max_connections ${maxConnections} minus ${SUPERUSER_RESERVED_CONNECTIONS} superuser slots leaves ${available}; raise postgres.maxConnections or lower backend.connectionLimit`));
  } else if (maxConnections > 8 * (budget + SUPERUSER_RESERVED_CONNECTIONS)) {
    findings.push(warning(o.maxConnections ? overrideKey("postgres.maxConnections") : configKey("tier"), `max_connections ${maxConnections} is ${Math.floor(maxConnections / (budget + SUPERUSER_RESERVED_CONNECTIONS))}x what the stack can open (${budget} + ${SUPERUSER_RESERVED_CONNECTIONS} reserved); every slot must be able to hold work_mem, so idle slots shrink work_mem (set postgres.maxConnections to trade them for memory)`));
  }
  return { value: { connections: { maxConnections, superuserReserved: SUPERUSER_RESERVED_CONNECTIONS, available, budget, headroom: o.maxConnections ? available - budget : connectionHeadroom(budget), clients }, pgbouncer }, findings };
}
